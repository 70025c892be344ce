/**
 * Password logins: the one `user:hash` list parser and the one bcrypt check,
 * used by every login the runtime offers (dashboard users, MediaMTX devices,
 * viewers and monitor, the editor, HTTP Basic auth).
 */
import bcrypt from 'bcryptjs';

/** bcrypt work factor: about 0.2 s on a Raspberry Pi 4 per login check, far more per guess. */
export const HASH_COST = 12;
export const MIN_PASSWORD_LENGTH = 8;
/** bcrypt uses the first 72 bytes only: a longer password would be silently cut. */
export const MAX_PASSWORD_BYTES = 72;

/** Why a password is refused (hash-password, the Users page, the first-run page), or undefined when it is acceptable. */
export function passwordProblem(password: string): string | undefined {
  if (password === '') return 'the password is empty';
  if ([...password].length < MIN_PASSWORD_LENGTH) return `the password is shorter than ${MIN_PASSWORD_LENGTH} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES)
    return `the password is longer than ${MAX_PASSWORD_BYTES} bytes, and bcrypt would ignore the rest`;
  return undefined;
}

/** The bcrypt hash a new password is kept as (async: ~0.2 s that must not block the runtime). */
export const hashPassword = (password: string): Promise<string> => bcrypt.hash(password, HASH_COST);

export interface Login {
  user: string;
  passwordHash: string;
  /** the third field of `user:hash:role`, when the list allows one (`roles`) */
  role?: string;
}

/**
 * A bcrypt hash bcryptjs can verify: `$2a$`, `$2b$` or `$2y$`, a two-digit cost, 53 characters
 * of salt and hash. bcryptjs refuses `$2x$` (the old crypt_blowfish bug marker) with "Invalid
 * salt revision" and answers false for the 59-character `$2$`, so a list accepting either
 * would start with a login nobody can use.
 */
export const BCRYPT_HASH = /^\$2[aby]\$(\d{2})\$[./A-Za-z0-9]{53}$/;

export const isBcryptHash = (s: string): boolean => BCRYPT_HASH.test(s);

export interface LoginListOptions {
  /** what a user name may contain */
  userPattern: RegExp;
  /** user names already taken by another list (a name appears once across them); filled in */
  seen?: Set<string>;
  /** the roles an entry may name as `user:hash:role` (a bcrypt hash holds no colon); unset: no third field */
  roles?: readonly string[];
}

/**
 * Parses `user:hash,user:hash` from the variable `name`. Throws an error naming the
 * variable and the entry; the hash is never echoed (someone may have pasted a password).
 */
export function parseLoginList(name: string, raw: string | undefined, { userPattern, seen = new Set(), roles }: LoginListOptions): Login[] {
  return (raw ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry, i) => {
      const where = `${name} entry ${i + 1}`;
      const colon = entry.indexOf(':');
      if (colon < 0) throw new Error(`${where}: expected USER:BCRYPT_HASH (make a hash with picam-guardian hash-password)`);
      const user = entry.slice(0, colon);
      let passwordHash = entry.slice(colon + 1);
      let role: string | undefined;
      const roleColon = roles ? passwordHash.lastIndexOf(':') : -1;
      if (roleColon >= 0) {
        role = passwordHash.slice(roleColon + 1);
        passwordHash = passwordHash.slice(0, roleColon);
        if (!roles!.includes(role)) throw new Error(`${where} ("${user}"): role "${role}" must be one of ${roles!.join(', ')}`);
      }
      if (!userPattern.test(user)) throw new Error(`${where}: user name "${user}" must match ${userPattern}`);
      if (!isBcryptHash(passwordHash))
        throw new Error(`${where} ("${user}"): the password is not a bcrypt hash ($2a$, $2b$ or $2y$, cost, 53 characters)`);
      if (seen.has(user)) throw new Error(`${where}: user "${user}" is listed twice`);
      seen.add(user);
      return role === undefined ? { user, passwordHash } : { user, passwordHash, role };
    });
}

/** One dummy hash per bcrypt cost, so an unknown user costs what a known one does. */
const dummyHashes = new Map<number, string>();
function dummyHash(cost: number): string {
  let hash = dummyHashes.get(cost);
  if (!hash) dummyHashes.set(cost, (hash = bcrypt.hashSync('picam-guardian-no-such-user', cost)));
  return hash;
}

/**
 * Checks `password` against `hash`. For an unknown user (`hash` undefined) it still runs one
 * comparison, at the cost of `likeHash` (another user's hash), so timing does not tell which
 * user names exist; the answer is then false.
 */
export async function checkPassword(password: string, hash: string | undefined, likeHash?: string): Promise<boolean> {
  if (hash !== undefined && isBcryptHash(hash)) return bcrypt.compare(password, hash);
  const cost = Number(BCRYPT_HASH.exec(likeHash ?? '')?.[1] ?? 10);
  await bcrypt.compare(password, dummyHash(cost));
  return false;
}
