/**
 * Which driver starts a camera's stream: the RTSP copy for a camera named in rtspSources,
 * else the VBC01 signalling over MQTT. The choice is by configuration only, never by what a
 * browser asks for.
 */
import type { BackoffOptions } from '../lib/backoff';
import { RtspDriver } from './rtsp-driver';
import type { LiveConfig } from './settings';
import type { DriverFactory } from './stream-driver';
import { Vbc01Driver } from './vbc01-driver';
import type { StreamCommandMessage } from './vbc01-signalling';

/** A copy that ended after video came is restarted after 1 s, 2 s, ... at most 30 s. */
export const RTSP_COPY_BACKOFF: BackoffOptions = { baseMs: 1000, maxMs: 30_000 };

export interface DriverDeps {
  /** a VBC01's stream/play, keepalive and stop, for command-sender */
  publish(msg: StreamCommandMessage): void;
  log(line: string): void;
}

export function driverFactory(config: LiveConfig, deps: DriverDeps): DriverFactory {
  return (cameraId, streamId) => {
    const spec = config.rtspSources.get(cameraId);
    if (spec) return new RtspDriver({ spec, backoff: RTSP_COPY_BACKOFF, log: (line) => deps.log(`camera ${cameraId}: ${line}`) });
    return new Vbc01Driver(cameraId, streamId, {
      prefix: config.prefix,
      cameraAddress: config.cameraAddress,
      keepaliveMs: config.timings.keepaliveMs,
      publish: deps.publish,
    });
  };
}
