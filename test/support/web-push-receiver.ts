/**
 * A browser's side of Web Push, for tests: a subscription (a P-256 key pair and an auth
 * secret, as a browser makes them) and the decryption of a push message for it (RFC 8291 over
 * RFC 8188 aes128gcm), written here from the RFCs with node:crypto's own HKDF, apart from the
 * code under test. Also checks the VAPID authorization (RFC 8292): an ES256 JWT for the
 * endpoint's origin, signed by the key it names.
 */
import { createDecipheriv, createECDH, createPublicKey, hkdfSync, randomBytes, verify, type ECDH } from 'node:crypto';

export class BrowserSubscription {
  private readonly ecdh: ECDH = createECDH('prime256v1');
  readonly p256dh: string;
  readonly auth = randomBytes(16).toString('base64url');

  constructor(readonly endpoint: string) {
    this.p256dh = this.ecdh.generateKeys().toString('base64url');
  }

  /** The plaintext of a push message body; throws when it was not encrypted for this subscription. */
  decrypt(body: Buffer): Buffer {
    const salt = body.subarray(0, 16);
    const idlen = body.readUInt8(20);
    const asPublic = body.subarray(21, 21 + idlen);
    const sealed = body.subarray(21 + idlen);
    const uaPublic = Buffer.from(this.p256dh, 'base64url');
    const shared = this.ecdh.computeSecret(asPublic);
    const info = Buffer.concat([Buffer.from('WebPush: info\0'), uaPublic, asPublic]);
    const ikm = Buffer.from(hkdfSync('sha256', shared, Buffer.from(this.auth, 'base64url'), info, 32));
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const padded = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    // The last record ends with the delimiter 0x02, then zero padding (RFC 8188 §2).
    const end = padded.lastIndexOf(2);
    if (end < 0 || padded.subarray(end + 1).some((b) => b !== 0)) throw new Error('no last-record delimiter');
    return padded.subarray(0, end);
  }
}

/** The claims of a valid VAPID Authorization header; throws when its signature does not verify. */
export function verifyVapid(header: string): { aud: string; exp: number; sub: string; publicKey: string } {
  const m = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header);
  if (!m) throw new Error(`not a VAPID header: ${header}`);
  const [, head, claims, signature, k] = m as unknown as [string, string, string, string, string];
  const pub = Buffer.from(k, 'base64url');
  const key = createPublicKey({
    format: 'jwk',
    key: { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33).toString('base64url'), y: pub.subarray(33).toString('base64url') },
  });
  const ok = verify('sha256', Buffer.from(`${head}.${claims}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!ok) throw new Error('VAPID signature does not verify');
  return { ...JSON.parse(Buffer.from(claims, 'base64url').toString('utf8')), publicKey: k };
}
