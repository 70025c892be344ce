/**
 * The viewer page of bench/live.ts: a WHEP client (non-trickle, video only)
 * that notes, for every frame Chromium presents, its RTP timestamp and when
 * it was presented (epoch ms: performance.timeOrigin + the frame's time), so
 * the bench can match frames with when the camera sent them.
 */
export const VIEWER_PAGE = `<!doctype html><html><body><script>
window.viewers = {};
window.watch = async (streamId, id) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true;
  document.body.appendChild(video);
  const frames = [];
  window.viewers[id] = { pc, frames };
  const onFrame = (_now, md) => {
    if (frames.length < 20000) frames.push([md.rtpTimestamp, performance.timeOrigin + md.presentationTime]);
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);
  pc.ontrack = (e) => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch('/whep/' + encodeURIComponent(streamId), { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ': ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
};
window.frames = (id) => window.viewers[id].frames.splice(0);
window.decoded = async (id) => {
  let n = 0;
  (await window.viewers[id].pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded || 0; });
  return n;
};
</script></body></html>`;
