/** Who a request comes from: X-Forwarded-For believed only from trusted proxies, walked from the right. */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { clientAddress, isLocalRequest, normalizeAddress, parseTrustedProxies } from '../../../nodes/lib/client-address';
import { settingsFor } from '../../../cli/runtime/roles';

const request = (peer: string, headers: Record<string, string> = {}) =>
  ({ socket: { remoteAddress: peer }, headers }) as unknown as IncomingMessage;

describe('client address', () => {
  const loopback = parseTrustedProxies(undefined);

  it('trusts loopback proxies by default and takes the client they name', () => {
    assert.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }), loopback), '198.51.100.7');
    assert.equal(clientAddress(request('::ffff:127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }), loopback), '198.51.100.7');
    assert.equal(clientAddress(request('::1', { 'x-forwarded-for': '2001:db8::5' }), loopback), '2001:db8::5');
    assert.equal(clientAddress(request('127.0.0.1'), loopback), '127.0.0.1', 'no header: the proxy itself');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    assert.equal(clientAddress(request('203.0.113.5', { 'x-forwarded-for': '198.51.100.7' }), loopback), '203.0.113.5');
    assert.equal(clientAddress(request('::ffff:203.0.113.5'), loopback), '203.0.113.5');
  });

  it('walks the chain from the right, skipping trusted hops; entries left of the client are never believed', () => {
    const two = parseTrustedProxies('loopback,10.0.0.0/8');
    // client forged "1.1.1.1"; nginx on 10.0.0.2 appended the client; the local proxy appended 10.0.0.2
    const req = request('127.0.0.1', { 'x-forwarded-for': '1.1.1.1, 198.51.100.7, 10.0.0.2' });
    assert.equal(clientAddress(req, two), '198.51.100.7');
    assert.equal(clientAddress(req, loopback), '10.0.0.2', '10.0.0.2 is not trusted here: it is the client');
    assert.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': 'garbage, 10.0.0.3' }), two), '10.0.0.3');
    assert.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7:5555' }), loopback), '198.51.100.7');
  });

  it('"none" believes nobody', () => {
    assert.equal(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }), parseTrustedProxies('none')), '127.0.0.1');
  });

  it('refuses entries that are not addresses or CIDR blocks, naming them', () => {
    assert.throws(() => parseTrustedProxies('10.0.0.1,proxy.example'), /"proxy.example" is not an IP address/);
    assert.throws(() => parseTrustedProxies('10.0.0.0/33'), /impossible prefix/);
    assert.match(settingsFor({ PICAM_TRUSTED_PROXIES: 'nginx' }).problems.join(), /PICAM_TRUSTED_PROXIES: "nginx"/);
    assert.deepEqual(settingsFor({}).trustedProxies.entries, ['loopback']);
  });

  it('normalizes the forms addresses come in', () => {
    assert.equal(normalizeAddress('::ffff:10.1.2.3'), '10.1.2.3');
    assert.equal(normalizeAddress('[2001:db8::1]:443'), '2001:db8::1');
    assert.equal(normalizeAddress(' 10.1.2.3:80 '), '10.1.2.3');
  });

  it('a local request is loopback and carries no proxy header', () => {
    assert.equal(isLocalRequest(request('127.0.0.1')), true);
    assert.equal(isLocalRequest(request('::1')), true);
    assert.equal(isLocalRequest(request('10.0.0.2')), false);
    for (const h of ['forwarded', 'x-forwarded-for', 'x-real-ip'])
      assert.equal(isLocalRequest(request('127.0.0.1', { [h]: '1.2.3.4' })), false, h);
  });
});

describe('internal listener setting', () => {
  it('the cloud role has one, on 1881 unless set, never the public port; other roles none', () => {
    assert.equal(settingsFor({ PICAM_ROLE: 'cloud' }).internalPort, 1881);
    assert.equal(settingsFor({ PICAM_ROLE: 'cloud', PICAM_INTERNAL_PORT: '0' }).internalPort, 0);
    assert.match(settingsFor({ PICAM_ROLE: 'cloud', PICAM_INTERNAL_PORT: '1880' }).problems.join(), /PICAM_INTERNAL_PORT must differ/);
    assert.equal(settingsFor({ PICAM_ROLE: 'demo' }).internalPort, undefined);
  });
});
