/** Stream tokens: what lets a logged-in dashboard user's browser watch through MediaMTX. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { decide, type AuthRequest } from '../../../../cli/runtime/mediamtx-auth';
import { issueStreamToken, STREAM_TOKEN_TTL_MS, verifyStreamToken } from '../../../../nodes/lib/access/stream-tokens';

const SECRET = 'credential-secret';

it('names the user it was issued to until it expires', () => {
  const token = issueStreamToken(SECRET, 'alice', 1000);
  assert.equal(verifyStreamToken(SECRET, token, 1000 + STREAM_TOKEN_TTL_MS - 1), 'alice');
  assert.equal(verifyStreamToken(SECRET, token, 1000 + STREAM_TOKEN_TTL_MS), undefined, 'expired');
});

it('refuses a token signed with another secret, altered, or not a token at all', () => {
  const token = issueStreamToken(SECRET, 'alice', 1000);
  assert.equal(verifyStreamToken('another-secret', token, 1000), undefined);
  const [exp, user, sig] = token.split('.');
  assert.equal(verifyStreamToken(SECRET, `${Number(exp) + 1}.${user}.${sig}`, 1000), undefined, 'a longer life');
  assert.equal(verifyStreamToken(SECRET, `${exp}.${Buffer.from('admin').toString('base64url')}.${sig}`, 1000), undefined, 'another user');
  for (const junk of ['', 'abc', `${exp}.${user}`, `${token}.x`]) assert.equal(verifyStreamToken(SECRET, junk, 1000), undefined, junk);
});

it('lets MediaMTX admit a token holder to read, and nothing else', async () => {
  const config = { devices: [], viewers: [], streamToken: (t: string) => verifyStreamToken(SECRET, t) };
  const ask = (action: string, token: string): AuthRequest => ({
    user: '',
    password: '',
    token,
    ip: '127.0.0.1',
    action,
    path: 'front-door',
    protocol: 'webrtc',
    id: '',
    query: '',
  });
  const token = issueStreamToken(SECRET, 'alice');
  assert.deepEqual(await decide(config, ask('read', token)), { allow: true, reason: 'dashboard user alice may read' });
  assert.equal((await decide(config, ask('publish', token))).allow, false);
  assert.equal((await decide(config, ask('api', token))).allow, false);
  assert.deepEqual(await decide(config, ask('read', 'forged')), { allow: false, reason: 'invalid or expired stream token' });
});
