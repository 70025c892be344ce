/**
 * The presign answer's base URL (public-base.ts) for requests over a real HTTP
 * connection: a trusted proxy's X-Forwarded-Proto/-Host, else the configured
 * public URL, else the connection, and never a Host that is not a host.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { parseTrustedProxies } from '../../../nodes/lib/client-address';
import { isHostHeader, publicBaseOf, type PublicBaseSettings } from '../../../nodes/hivecam-gateway/public-base';

const servers: Server[] = [];
after(() => servers.forEach((s) => s.close()));

/** A server answering its publicBaseOf for each request, and a client that sets any Host. */
async function gateway(settings: PublicBaseSettings) {
  const server = createServer((req, res) => res.end(publicBaseOf(req, settings)));
  servers.push(server);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  const ask = (headers: Record<string, string | string[]>) =>
    new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/fileservice/presignedUploadUrl', headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    });
  return { port, ask };
}

const PROXIED = { host: '127.0.0.1:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'cams.example.org' };

describe('the presign base URL', () => {
  it('follows X-Forwarded-Proto and -Host from a trusted proxy, over the configured URL', async () => {
    const { ask } = await gateway({ trustedProxies: parseTrustedProxies('loopback'), configured: 'https://192.168.1.10:80' });
    assert.equal(await ask(PROXIED), 'https://cams.example.org');
    assert.equal(await ask({ ...PROXIED, 'x-forwarded-host': 'cams.example.org:8443' }), 'https://cams.example.org:8443');
    // Only the scheme forwarded: the Host the proxy passed on.
    assert.equal(await ask({ host: 'cams.example.org', 'x-forwarded-proto': 'HTTPS' }), 'https://cams.example.org');
    // Nothing forwarded: the configured URL.
    assert.equal(await ask({ host: '127.0.0.1:8080' }), 'https://192.168.1.10:80');
  });

  it('ignores the forwarded headers from a peer that is no trusted proxy', async () => {
    const configured = await gateway({ trustedProxies: parseTrustedProxies('none'), configured: 'https://192.168.1.10:80' });
    assert.equal(await configured.ask(PROXIED), 'https://192.168.1.10:80');
    const plain = await gateway({ trustedProxies: parseTrustedProxies('10.0.0.2'), configured: '' });
    assert.equal(await plain.ask(PROXIED), 'http://127.0.0.1:8080', 'the socket scheme and the Host dialled');
  });

  it('never uses a forwarded host or Host that is not a host[:port], nor a list of them', async () => {
    const { ask, port } = await gateway({ trustedProxies: parseTrustedProxies('loopback'), configured: '' });
    const socket = `http://127.0.0.1:${port}`;
    for (const bad of ['evil.example/x?', 'user@evil.example', 'a b', 'evil.example:99999', '-bad-.example', '[zz::1]', 'a..b', '']) {
      // Not half believed: neither the forwarded scheme nor the host.
      assert.equal(
        await ask({ host: '127.0.0.1:8080', 'x-forwarded-proto': 'https', 'x-forwarded-host': bad }),
        'http://127.0.0.1:8080',
        bad,
      );
      assert.equal(await ask({ host: bad }), socket, `Host ${JSON.stringify(bad)}`);
    }
    // A chain of proxies that appended: not one host; the Host then.
    assert.equal(await ask({ host: 'cams.example.org', 'x-forwarded-host': 'evil.example, cams.example.org' }), 'http://cams.example.org');
    // A scheme that is neither http nor https is ignored.
    assert.equal(await ask({ host: 'cams.example.org', 'x-forwarded-proto': 'javascript' }), 'http://cams.example.org');
  });

  it('knows a host header when it sees one', () => {
    for (const good of [
      'cams.example.org',
      'cams.example.org:443',
      '192.168.1.10',
      '192.168.1.10:80',
      '[::1]:80',
      '[fe80::1]',
      'localhost',
    ])
      assert.equal(isHostHeader(good), true, good);
    for (const bad of ['http://x', 'x/y', 'x:0', 'x:', ':80', '[::1', '::1', 'a_b.example', `${'a'.repeat(64)}.example`])
      assert.equal(isHostHeader(bad), false, bad);
  });
});
