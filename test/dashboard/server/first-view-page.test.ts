/**
 * The dashboard page with its first view's answers (issue 18): asked of the runtime's own server
 * in memory with the visit's cookie and client address, written into the page so that nothing
 * in an answer can end its script element, and left out (the page asks for itself) when nobody
 * is logged in or an answer cannot be read. (Against a real runtime and its camera limit:
 * access-control.test.ts; in the browser: cameras.test.ts.)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { makeCertificates } from '../../../cli/commands/certs';
import { answersElement, firstViewPage } from '../../../dashboard/server/first-view-page';
import { askOwnServer } from '../../../dashboard/server/own-requests';
import { FIRST_VIEW_REQUESTS, type FirstViewAnswers } from '../../../nodes/lib/contract/first-view';
import { API_PATHS } from '../../../nodes/lib/contract/api-paths';

const SLOT = '<!-- first-view answers: here -->';
const PAGE = `<!doctype html><html><head><title>t</title></head><body><main></main>${SLOT}</body></html>`;
/** The page a visit gets without answers: as built, less the answers' place. */
const AS_BUILT = PAGE.replace(SLOT, '');

/** The JSON the page holds, read the way a browser's parser delimits the script element. */
function answersOf(html: string): FirstViewAnswers | undefined {
  const open = '<script type="application/json" id="first-view-answers">';
  const at = html.indexOf(open);
  if (at < 0) return undefined;
  const text = html.slice(at + open.length, html.indexOf('</script', at));
  return JSON.parse(text) as FirstViewAnswers;
}

describe('answersElement', () => {
  it("keeps an answer's text inside its script element, whatever the text holds", () => {
    const hostile = 'cam </script><script>alert(1)</script><!-- <SCRIPT';
    const answers: FirstViewAnswers = { [API_PATHS.cameras]: { status: 200, body: { cameras: [{ camera_name: hostile }] } } };
    const html = PAGE.replace(SLOT, answersElement(answers));
    assert.equal(html.match(/<\/script/gi)?.length, 1, 'only the element itself ends a script');
    assert.ok(!/<!--/.test(html), 'no comment opened');
    assert.deepEqual(answersOf(html), answers, 'the same answers read back');
  });

  it('is nothing when there are no answers', () => {
    assert.equal(answersElement({}), '');
  });
});

describe('askOwnServer and the page', () => {
  let server: Server;
  let base = '';
  let staticDir = '';
  const warnings: string[] = [];
  /** what each answer says: the cookie and client address it came with, or a canned status */
  let sessionStatus = 200;
  let streamsBody = '{"streams":[]}';
  /** while set, the streams route waits for it before it answers */
  let streamsHeld: Promise<void> | undefined;
  before(async () => {
    staticDir = mkdtempSync(join(tmpdir(), 'picam-first-view-'));
    writeFileSync(join(staticDir, 'index.html'), PAGE);
    const app = express();
    const echo = (req: express.Request, res: express.Response) =>
      res.json({ path: req.originalUrl, cookie: req.headers.cookie ?? null, client: req.socket.remoteAddress });
    app.get(API_PATHS.session, (req, res) => (sessionStatus === 200 ? echo(req, res) : res.status(sessionStatus).json({ error: 'no' })));
    // 'never': a route that does not answer.
    app.get(API_PATHS.streams, async (_req, res) => {
      await streamsHeld;
      if (streamsBody !== 'never') res.type('json').send(streamsBody);
    });
    app.get('/api/*', echo);
    app.get('/big', (_req, res) => res.send('x'.repeat(5 * 2 ** 20)));
    app.get('/never', () => undefined);
    app.use(
      '/dashboard',
      firstViewPage({ server: (server = createServer(app)), staticDir, answerTimeoutMs: 300, warn: (m) => warnings.push(m) }),
    );
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise((ok) => server.close(ok)));

  it('asks with the given headers as if from the given client, and closes both ends after', async () => {
    const closed: boolean[] = [];
    const onConnection = (s: Socket) => s.once('close', () => closed.push(true));
    server.on('connection', onConnection);
    try {
      const like = { remoteAddress: '203.0.113.7', remotePort: 4711 } as Socket;
      const answer = await askOwnServer(server, `${API_PATHS.events}?limit=1`, { cookie: 'picam_session=abc' }, like, 5000);
      assert.equal(answer.status, 200);
      assert.deepEqual(JSON.parse(answer.body), {
        path: `${API_PATHS.events}?limit=1`,
        cookie: 'picam_session=abc',
        client: '203.0.113.7',
      });
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(closed, [true], 'the in-memory connection is closed');
    } finally {
      server.off('connection', onConnection);
    }
  });

  it('asks an HTTPS server too, as a request that came over TLS', async () => {
    const { files } = await makeCertificates({ dir: join(staticDir, 'certs'), brokerHosts: ['127.0.0.1'], bits: 2048 });
    const app = express();
    app.get('/x', (req, res) => res.json({ protocol: req.protocol, client: req.socket.remoteAddress }));
    const tls = createHttpsServer({ key: readFileSync(files.brokerKey), cert: readFileSync(files.brokerCert) }, app);
    const like = { remoteAddress: '198.51.100.2', encrypted: true } as unknown as Socket;
    const answer = await askOwnServer(tls, '/x', {}, like, 5000);
    assert.deepEqual([answer.status, JSON.parse(answer.body)], [200, { protocol: 'https', client: '198.51.100.2' }]);
  });

  it('refuses an answer too big for a page, with the reason', async () => {
    await assert.rejects(askOwnServer(server, '/big', {}, {} as Socket, 5000), /answered more than 4194304 bytes/);
  });

  it('gives up on an answer that does not come, with the reason, and sends the page without answers', async () => {
    await assert.rejects(askOwnServer(server, '/never', {}, {} as Socket, 100), /\/never did not answer within 100 ms/);
    streamsBody = 'never';
    warnings.length = 0;
    const res = await fetch(`${base}/dashboard/`);
    assert.equal(await res.text(), AS_BUILT);
    assert.match(warnings.join('\n'), /did not answer within 300 ms/);
    streamsBody = '{"streams":[]}';
  });

  it("writes a logged-in visit's four answers, asked with its cookie and address", async () => {
    sessionStatus = 200;
    const res = await fetch(`${base}/dashboard/`, { headers: { cookie: 'picam_session=abc' } });
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.equal(res.headers.get('vary'), 'Cookie');
    const answers = answersOf(await res.text())!;
    assert.deepEqual(Object.keys(answers).sort(), [...FIRST_VIEW_REQUESTS].sort());
    const camerasPage = FIRST_VIEW_REQUESTS[1]!;
    assert.deepEqual(answers[camerasPage], { status: 200, body: { path: camerasPage, cookie: 'picam_session=abc', client: '127.0.0.1' } });
  });

  it('sends the page up to the answers at once, and the answers and the rest when they are in', async () => {
    let release = () => {};
    streamsHeld = new Promise((ok) => (release = ok));
    try {
      const timeout = new Promise<never>((_, fail) => setTimeout(() => fail(new Error('nothing came before the answers')), 5000));
      const res = await Promise.race([fetch(`${base}/dashboard/`, { headers: { cookie: 'picam_session=abc' } }), timeout]);
      const reader = res.body!.getReader();
      const first = new TextDecoder().decode((await Promise.race([reader.read(), timeout])).value);
      assert.equal(first, PAGE.slice(0, PAGE.indexOf(SLOT)), 'everything before the answers, while one is still being asked');
      release();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
      assert.ok(rest.endsWith('</body></html>'), 'then the rest of the page');
      assert.deepEqual(Object.keys(answersOf(first + rest)!).sort(), [...FIRST_VIEW_REQUESTS].sort());
    } finally {
      streamsHeld = undefined;
      release();
    }
  });

  it('finishes quietly for a visit that leaves before its answers are in, and serves the next one', async () => {
    let release = () => {};
    streamsHeld = new Promise((ok) => (release = ok));
    warnings.length = 0;
    try {
      const leaving = new AbortController();
      const res = await fetch(`${base}/dashboard/`, { headers: { cookie: 'picam_session=abc' }, signal: leaving.signal });
      await res.body!.getReader().read();
      leaving.abort();
      release();
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      streamsHeld = undefined;
      release();
    }
    const next = await fetch(`${base}/dashboard/`, { headers: { cookie: 'picam_session=abc' } });
    assert.deepEqual(Object.keys(answersOf(await next.text())!).sort(), [...FIRST_VIEW_REQUESTS].sort());
    assert.deepEqual(warnings, []);
  });

  it('writes nothing for a visit the session route refuses, nor when an answer is not JSON (and says why)', async () => {
    sessionStatus = 401;
    assert.equal(await (await fetch(`${base}/dashboard/index.html`)).text(), AS_BUILT);
    sessionStatus = 200;
    streamsBody = '<html>a proxy error page</html>';
    warnings.length = 0;
    const res = await fetch(`${base}/dashboard/`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), AS_BUILT, 'the page as built: it asks for itself');
    assert.match(warnings.join('\n'), /the page is sent without its first view's answers: .*JSON/);
    streamsBody = '{"streams":[]}';
  });
});
