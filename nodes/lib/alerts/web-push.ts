/**
 * Web Push without a library, on node:crypto: a message encrypted for one browser
 * subscription (RFC 8291, content coding aes128gcm of RFC 8188) and the VAPID authorization
 * that says who sends it (RFC 8292, an ES256 JWT).
 */
import type { HttpRequest } from './http-channel';
import { createCipheriv, createECDH, createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

export interface PushSubscription {
  endpoint: string;
  /** the browser's P-256 public key, uncompressed, base64url */
  p256dh: string;
  /** the browser's 16-byte auth secret, base64url */
  auth: string;
}

/** The VAPID key pair, base64url: the public key uncompressed (65 bytes), the private key's d (32 bytes). */
export interface VapidKeys {
  publicKey: string;
  privateKey: string;
}

export function generateVapidKeys(): VapidKeys {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return { publicKey: raw.toString('base64url'), privateKey: privateKey.export({ format: 'jwk' }).d! };
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 5869 HKDF with one output block (every length here is at most 32). */
function hkdf(salt: Buffer, ikm: Buffer, info: Buffer, length: number): Buffer {
  return hmac(hmac(salt, ikm), Buffer.concat([info, Buffer.from([1])])).subarray(0, length);
}

/** The body of a push message: RFC 8188 header (salt, record size, our key) and one record. */
export function encryptPayload(payload: Buffer, sub: PushSubscription): Buffer {
  const uaPublic = Buffer.from(sub.p256dh, 'base64url');
  const authSecret = Buffer.from(sub.auth, 'base64url');
  const ecdh = createECDH('prime256v1');
  const asPublic = ecdh.generateKeys();
  const shared = ecdh.computeSecret(uaPublic);
  // RFC 8291 §3.4: the input keying material binds both public keys and the auth secret.
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
  const ikm = hkdf(authSecret, shared, keyInfo, 32);
  const salt = randomBytes(16);
  const cek = hkdf(salt, ikm, Buffer.from('Content-Encoding: aes128gcm\0'), 16);
  const nonce = hkdf(salt, ikm, Buffer.from('Content-Encoding: nonce\0'), 12);
  const cipher = createCipheriv('aes-128-gcm', cek, nonce);
  // One record, the last: the payload followed by the delimiter 0x02 (RFC 8188 §2).
  const sealed = Buffer.concat([cipher.update(Buffer.concat([payload, Buffer.from([2])])), cipher.final(), cipher.getAuthTag()]);
  const header = Buffer.alloc(21);
  salt.copy(header, 0);
  header.writeUInt32BE(4096, 16);
  header.writeUInt8(asPublic.length, 20);
  return Buffer.concat([header, asPublic, sealed]);
}

/** The Authorization header for `endpoint`: `vapid t=<JWT>, k=<public key>` (RFC 8292 §3). */
export function vapidAuthorization(endpoint: string, subject: string, keys: VapidKeys, nowMs = Date.now()): string {
  const pub = Buffer.from(keys.publicKey, 'base64url');
  const key = createPrivateKey({
    format: 'jwk',
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: keys.privateKey,
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33).toString('base64url'),
    },
  });
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  // 12 hours: within the 24 hours a push service accepts.
  const claims = { aud: new URL(endpoint).origin, exp: Math.floor(nowMs / 1000) + 12 * 3600, sub: subject };
  const unsigned = `${part({ typ: 'JWT', alg: 'ES256' })}.${part(claims)}`;
  const signature = sign('sha256', Buffer.from(unsigned), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `vapid t=${unsigned}.${signature}, k=${keys.publicKey}`;
}

export type Urgency = 'very-low' | 'low' | 'normal' | 'high';

/** One push message to one browser (RFC 8030 §5): encrypted, signed, kept by the push service for a day at most. */
export function webPushRequest(sub: PushSubscription, payload: Buffer, keys: VapidKeys, subject: string, urgency: Urgency): HttpRequest {
  return {
    method: 'POST',
    url: sub.endpoint,
    headers: {
      authorization: vapidAuthorization(sub.endpoint, subject, keys),
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      ttl: String(24 * 3600),
      urgency,
    },
    body: encryptPayload(payload, sub),
  };
}
