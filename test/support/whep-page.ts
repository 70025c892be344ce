/**
 * A browser page that watches one live-bridge stream over WHEP, served by a tiny HTTP server
 * in the test: `GET /` is the page, `POST /whep` (an SDP offer) calls the stream's addViewer.
 * The page's `watch(id)` opens one viewer (recvonly video, non-trickle) decoding into a
 * <video>; `framesDecoded(id)` reads its inbound-rtp stats.
 */
import { createServer, type Server } from 'node:http';
import type { Page } from 'playwright-core';
import type { LiveStream } from '../../nodes/lib/live/bridge-types';

export const WHEP_PAGE = `<!doctype html><html><body><script>
window.watch = async (id) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver('video', { direction: 'recvonly' });
  const video = document.createElement('video');
  video.muted = true; video.autoplay = true; video.playsInline = true; video.id = id;
  document.body.appendChild(video);
  pc.ontrack = (e) => { video.srcObject = e.streams[0] || new MediaStream([e.track]); };
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && r(); setTimeout(r, 2000); });
  const res = await fetch('/whep', { method: 'POST', headers: { 'content-type': 'application/sdp' }, body: pc.localDescription.sdp });
  if (res.status !== 201) throw new Error('WHEP ' + res.status + ': ' + await res.text());
  await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  window.pcs = window.pcs || {}; window.pcs[id] = pc;
};
window.framesDecoded = async (id) => {
  const stats = await window.pcs[id].getStats();
  let n = 0; stats.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video') n = s.framesDecoded || 0; });
  return n;
};
</script></body></html>`;

/** Serves WHEP_PAGE and WHEP for `stream` on 127.0.0.1; the viewer ids it handed out go to `viewerIds`. */
export async function serveWhepPage(stream: () => LiveStream, viewerIds: string[] = []): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method === 'GET') return void res.writeHead(200, { 'content-type': 'text/html' }).end(WHEP_PAGE);
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      stream()
        .addViewer(body)
        .then(
          (answer) => {
            viewerIds.push(answer.viewerId);
            res.writeHead(201, { 'content-type': 'application/sdp', location: `/whep/${answer.viewerId}` }).end(answer.sdp);
          },
          (err: Error) => res.writeHead(400, { 'content-type': 'text/plain' }).end(err.message),
        );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { server, url: `http://127.0.0.1:${port}/` };
}

/** The page's viewer `id`: start it, and read how many frames it decoded. */
export const whepViewer = (page: Page) => ({
  watch: (id: string) => page.evaluate((i) => (window as unknown as { watch(i: string): Promise<void> }).watch(i), id),
  framesDecoded: (id: string) =>
    page.evaluate((i) => (window as unknown as { framesDecoded(i: string): Promise<number> }).framesDecoded(i), id),
});
