/**
 * Who this runtime is on the broker. Its MQTT client id is unique per runtime (a
 * random id kept in the user directory, so a persistent session survives a
 * restart) and starts with a prefix devices may not use: with a fixed id, any
 * device login could connect as the runtime and knock it off.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Client ids starting with this belong to PiCam Guardian runtimes; brokers refuse them to devices. */
export const RUNTIME_CLIENT_ID_PREFIX = 'picam-guardian-';

const ID_FILE = 'runtime-id';
const ID_PATTERN = /^[a-f0-9]{16}$/;

/**
 * The runtime's stable random id, created on first use in `userDir`. A file that
 * is missing or holds anything else is replaced (a new id means a new session).
 */
export function runtimeId(userDir: string): string {
  const file = join(userDir, ID_FILE);
  if (existsSync(file)) {
    const id = readFileSync(file, 'utf8').trim();
    if (ID_PATTERN.test(id)) return id;
  }
  const id = randomBytes(8).toString('hex');
  mkdirSync(userDir, { recursive: true });
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

/**
 * The client id for one of the runtime's MQTT connections (`purpose`: ingest,
 * commands…).
 */
export function runtimeClientId(userDir: string, purpose: string): string {
  return `${RUNTIME_CLIENT_ID_PREFIX}${runtimeId(userDir)}-${purpose}`;
}

/** True when a client id claims to be a runtime's (devices must be refused such ids). */
export const isRuntimeClientId = (clientId: string): boolean => clientId.startsWith(RUNTIME_CLIENT_ID_PREFIX);
