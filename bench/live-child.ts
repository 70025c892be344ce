/**
 * The live bridge alone in its own process, so bench/live.ts measures the
 * server's CPU and nothing else (the simulated cameras and Chromium run
 * elsewhere). A tiny HTTP front: the viewer page, `POST /open` (a stream for
 * a camera), `POST /whep/{stream}` (a viewer), `GET /stats`, `GET /cpu`.
 * Prints `listening <port>` when ready.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { LiveStream } from '../nodes/lib/live/bridge-types';
import { LiveBridge } from '../nodes/lib/live/rtp-bridge';
import { VBC01_AUDIO_SSRC, VBC01_VIDEO_SSRC } from '../nodes/lib/vbc01';
import { VIEWER_PAGE } from './live-page';

const [portMin, portMax] = (process.argv[2] ?? '41000-41100').split('-').map(Number) as [number, number];
const bridge = new LiveBridge({ portMin, portMax, bindAddress: '127.0.0.1' });
const streams = new Map<string, LiveStream>();

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
  });
}

const server = createServer((req, res) => {
  const json = (code: number, value: unknown) => res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const run = async () => {
    if (req.method === 'GET' && req.url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(VIEWER_PAGE);
    if (req.method === 'GET' && req.url === '/stats') return json(200, bridge.streams());
    if (req.method === 'GET' && req.url === '/cpu') {
      const u = process.cpuUsage();
      return json(200, { cpuMs: (u.user + u.system) / 1000, rss: process.memoryUsage().rss });
    }
    if (req.method === 'POST' && req.url === '/open') {
      const { cameraId } = JSON.parse(await body(req)) as { cameraId: string };
      const stream = await bridge.open({
        cameraId,
        videoSsrc: VBC01_VIDEO_SSRC,
        audioSsrc: VBC01_AUDIO_SSRC,
        rembStartBps: 5_000_000,
        rembFloorBps: 500_000,
        stallAfterMs: 5000,
        sendRtcp: true,
      });
      streams.set(stream.id, stream);
      return json(200, { id: stream.id, ports: stream.ports });
    }
    const whep = /^\/whep\/([^/]+)$/.exec(req.url ?? '');
    if (req.method === 'POST' && whep) {
      const stream = streams.get(decodeURIComponent(whep[1]!));
      if (!stream) return json(404, { error: 'no such stream' });
      const answer = await stream.addViewer(await body(req));
      return void res.writeHead(201, { 'content-type': 'application/sdp' }).end(answer.sdp);
    }
    json(404, { error: 'not found' });
  };
  run().catch((err: Error) => json(400, { error: err.message }));
});

server.listen(0, '127.0.0.1', () => console.log(`listening ${(server.address() as { port: number }).port}`));
process.on('SIGTERM', () => {
  void bridge.close().then(() => process.exit(0));
});
