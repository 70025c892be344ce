/**
 * Short secrets (camera logins) sealed at rest with AES-256-GCM under a key
 * derived from the runtime's credential secret (`RED.settings.credentialSecret`,
 * set from PICAM_CREDENTIAL_SECRET), so a copy of the database file alone does
 * not give them away. Stored text: `sb1:` + base64(iv | tag | ciphertext).
 * Text without the prefix was written before sealing existed and is read as is.
 */
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

const PREFIX = 'sb1:';
// A fixed context label as the salt: the same secret gives another key to any other use of it.
const CONTEXT = 'picam-guardian/secret-box/v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that cannot be opened (no secret, another secret, damaged text); never carries the secret or the value. */
export class SecretBoxError extends Error {}

export const isSealed = (stored: string): boolean => stored.startsWith(PREFIX);

/** The credential secret as Node-RED settings hold it: a non-empty string, or nothing (false / unset). */
export function credentialSecret(settings: { credentialSecret?: unknown }): string | undefined {
  const s = settings.credentialSecret;
  return typeof s === 'string' && s.length > 0 ? s : undefined;
}

export class SecretBox {
  private key: Buffer | undefined;

  /** `secret` undefined: the runtime has none; sealing refuses, plain (old) text still opens. */
  constructor(private readonly secret: string | undefined) {}

  get canSeal(): boolean {
    return this.secret !== undefined;
  }

  /** The text to store; an empty value stays empty (nothing to hide). */
  seal(plain: string): string {
    if (plain === '') return '';
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.derived(), iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The stored text opened; text without the prefix is returned as it is (written before sealing). */
  open(stored: string): string {
    if (!isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64');
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('the sealed login is damaged');
    const key = this.derived();
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'the sealed login does not open: the credential secret is not the one it was stored with, or the text is damaged',
      );
    }
  }

  private derived(): Buffer {
    if (this.secret === undefined)
      throw new SecretBoxError('the runtime has no credential secret (set PICAM_CREDENTIAL_SECRET / credentialSecret)');
    // scrypt: the secret may be a passphrase; derived once per box (tens of milliseconds).
    this.key ??= scryptSync(this.secret, CONTEXT, 32);
    return this.key;
  }
}
