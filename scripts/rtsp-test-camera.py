#!/usr/bin/env python3
"""A real RTSP camera for the tests: GStreamer's RTSP server serving a test
pattern with Digest authentication on a main and a sub stream, as an IP camera
does (main: larger, sub: 320x180).

usage: rtsp-camera.py PORT USER PASSWORD [--pattern moving|still] [--codec h264|h265] [--bframes] [--main-size WxH]

Prints "ready" on stdout once it listens. Ends on SIGTERM/SIGINT.
"""
import argparse
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtsp", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtsp, GstRtspServer  # noqa: E402


def launch(width, height, pattern, codec, bframes):
    # "ball" moves (motion detection sees it); "smpte75" stands still ("smpte" does not: its
    # bottom-right corner is random noise, which motion detection rightly sees).
    src = "ball motion=sweep" if pattern == "moving" else "smpte75"
    caps = f"video/x-raw,width={width},height={height},framerate=10/1"
    if codec == "h265":
        enc = "x265enc tune=zerolatency speed-preset=ultrafast key-int-max=10 ! rtph265pay name=pay0 pt=96"
    else:
        b = "bframes=2" if bframes else "bframes=0"
        enc = (
            f"x264enc {'' if bframes else 'tune=zerolatency'} speed-preset=ultrafast {b} key-int-max=10 "
            "! video/x-h264,profile=main ! rtph264pay name=pay0 pt=96 config-interval=1"
        )
    return f"( videotestsrc is-live=true pattern={src} ! {caps} ! videoconvert ! {enc} )"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port")
    p.add_argument("user")
    p.add_argument("password")
    p.add_argument("--pattern", default="moving", choices=["moving", "still"])
    p.add_argument("--codec", default="h264", choices=["h264", "h265"])
    p.add_argument("--bframes", action="store_true")
    # the recording bench records 720p (bench/recording.ts)
    p.add_argument("--main-size", default="640x360")
    a = p.parse_args()

    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service(a.port)

    auth = GstRtspServer.RTSPAuth()
    auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "viewer")
    auth.add_digest(a.user, a.password, token)
    server.set_auth(auth)

    mounts = server.get_mount_points()
    mw, mh = (int(x) for x in a.main_size.split("x"))
    for path, (w, h) in {"/main": (mw, mh), "/sub": (320, 180)}.items():
        factory = GstRtspServer.RTSPMediaFactory()
        factory.set_launch(launch(w, h, a.pattern, a.codec, a.bframes))
        factory.set_shared(True)
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role("viewer", "media.factory.access", True)
        perms.add_permission_for_role("viewer", "media.factory.construct", True)
        factory.set_permissions(perms)
        mounts.add_factory(path, factory)

    if server.attach(None) == 0:
        print(f"cannot listen on port {a.port}", file=sys.stderr)
        sys.exit(1)
    loop = GLib.MainLoop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, sig, loop.quit)
    print("ready", flush=True)
    loop.run()


if __name__ == "__main__":
    main()
