/** The API's HTTP Basic login: bcrypt-checked, remembered briefly, and slowed down for guessers. */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, it } from 'node:test';
import bcrypt from 'bcryptjs';
import express from 'express';
import { basicAuth } from '../../../cli/runtime/http-auth';
import { LoginLimiter } from '../../../nodes/lib/login-limiter';

let server: Server;
let base = '';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const get = (authorization?: string) => fetch(`${base}/api/x`, { headers: authorization ? { authorization } : {} });

before(async () => {
  const app = express();
  const limiter = new LoginLimiter({ maxFailures: 3, windowMs: 60_000, blockMs: 60_000 });
  app.use('/api', basicAuth('viewer', bcrypt.hashSync('right-password', 4), { realm: 'Test', limiter }), (_req, res) => {
    res.json({ ok: true });
  });
  server = createServer(app);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => new Promise<void>((ok) => server.close(() => ok())));

it('lets the right login in and challenges a request without one, without counting it as a failure', async () => {
  assert.equal((await get(basic('viewer', 'right-password'))).status, 200);
  for (let i = 0; i < 5; i++) {
    const res = await get();
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Basic realm="Test"');
  }
});

it('refuses a client that keeps guessing with 429 and Retry-After; a login it already proved still works', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get(basic('viewer', `guess-${i}`))).status, 401);
  const blocked = await get(basic('viewer', 'another-guess'));
  assert.equal(blocked.status, 429, 'the next guess never reaches the password check');
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  assert.match(((await blocked.json()) as { error: string }).error, /too many failed logins/);
  assert.equal((await get(basic('viewer', 'right-password'))).status, 200, 'verified minutes ago, remembered');
});
