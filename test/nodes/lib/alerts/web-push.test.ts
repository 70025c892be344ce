/**
 * Web Push's cryptography against a browser's side written apart from it
 * (test/support/web-push-receiver.ts): the message decrypts with the subscription's keys
 * only, and the VAPID JWT verifies with the key it names, for the push service's origin.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encryptPayload, generateVapidKeys, vapidAuthorization, webPushRequest } from '../../../../nodes/lib/alerts/web-push';
import { BrowserSubscription, verifyVapid } from '../../../support/web-push-receiver';

describe('web-push', () => {
  it('encrypts a payload that the subscribing browser decrypts, and another browser cannot', () => {
    const phone = new BrowserSubscription('https://push.example.org/a');
    const other = new BrowserSubscription('https://push.example.org/b');
    const text = Buffer.from(JSON.stringify({ title: '🏃 Motion', image: 'https://cams.example.org/api/media/thumbnail/e1' }));
    const body = encryptPayload(text, phone);
    assert.deepEqual(phone.decrypt(body), text);
    assert.throws(() => other.decrypt(body));
    assert.equal(body.readUInt32BE(16), 4096, 'the record size of RFC 8188');
    assert.notDeepEqual(encryptPayload(text, phone), body, 'a fresh salt and key for each message');
  });

  it('signs a VAPID JWT for the endpoint origin with the kept key, valid for 12 hours', () => {
    const keys = generateVapidKeys();
    const now = Date.UTC(2026, 11, 6, 20, 0, 0);
    const claims = verifyVapid(vapidAuthorization('https://fcm.example.com:8443/wp/abc?x=1', 'mailto:me@example.org', keys, now));
    assert.equal(claims.aud, 'https://fcm.example.com:8443');
    assert.equal(claims.sub, 'mailto:me@example.org');
    assert.equal(claims.exp, now / 1000 + 12 * 3600);
    assert.equal(claims.publicKey, keys.publicKey);
    assert.equal(Buffer.from(keys.publicKey, 'base64url').length, 65);
  });

  it("builds a request the push service takes: aes128gcm, TTL, Urgency, the browser's endpoint", () => {
    const b = new BrowserSubscription('https://push.example.org/x');
    const req = webPushRequest(b, Buffer.from('{}'), generateVapidKeys(), 'mailto:me@example.org', 'high');
    assert.equal(req.url, b.endpoint);
    assert.equal(req.headers!['content-encoding'], 'aes128gcm');
    assert.equal(req.headers!.urgency, 'high');
    assert.equal(req.headers!.ttl, '86400');
    assert.deepEqual(b.decrypt(req.body as Buffer), Buffer.from('{}'));
  });
});
