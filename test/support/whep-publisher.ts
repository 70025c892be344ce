/**
 * A WebRTC publisher for tests that stand in for MediaMTX's WHEP endpoint: run in a
 * Chromium page (`page.evaluate(answerWithCanvas, offer)`), it answers a browser's
 * recvonly offer with a moving canvas, so the page under test has real video to decode.
 */
export async function answerWithCanvas(offer: string): Promise<string> {
  const canvas = document.createElement('canvas');
  canvas.width = 320;
  canvas.height = 240;
  const ctx = canvas.getContext('2d')!;
  let frame = 0;
  setInterval(() => {
    ctx.fillStyle = `hsl(${(frame += 7) % 360} 70% 50%)`;
    ctx.fillRect(0, 0, 320, 240);
  }, 40);
  const track = canvas.captureStream(25).getVideoTracks()[0]!;
  const pc = new RTCPeerConnection();
  (window as unknown as { peers: RTCPeerConnection[] }).peers = [pc];
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  for (const t of pc.getTransceivers()) {
    if (t.receiver.track.kind === 'video') {
      await t.sender.replaceTrack(track);
      t.direction = 'sendonly';
    } else t.direction = 'inactive';
  }
  await pc.setLocalDescription(await pc.createAnswer());
  await new Promise<void>((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
    setTimeout(done, 3000);
  });
  return pc.localDescription!.sdp;
}
