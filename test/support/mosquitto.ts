/** A real Mosquitto (the broker seed 001 deploys) with a password file, for end-to-end tests. */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((p) => existsSync(p));

/** CI installs Mosquitto (scripts/install-test-deps.sh); elsewhere a test says why it skipped. */
export const skipWithoutMosquitto =
  !MOSQUITTO && !process.env.CI ? 'Mosquitto is not installed (scripts/install-test-deps.sh installs it as root)' : false;

/**
 * Mosquitto with one user (or several) in a password file in `dir`: a single password
 * listener on `port`, or the configuration `config` writes for the password file's path.
 */
export function startMosquitto(
  dir: string,
  port: number,
  login: { username: string; password: string } | Array<{ username: string; password: string }>,
  config?: (passwordFile: string) => string,
): ChildProcess {
  assert.ok(MOSQUITTO, 'Mosquitto must be installed in CI');
  const passwords = join(dir, 'passwords');
  writeFileSync(passwords, '');
  for (const l of Array.isArray(login) ? login : [login]) {
    const made = spawnSync('mosquitto_passwd', ['-b', passwords, l.username, l.password]);
    assert.equal(made.status, 0, made.stderr?.toString());
  }
  const conf = join(dir, 'mosquitto.conf');
  const single = [`listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwords}`, 'persistence false', ''];
  writeFileSync(conf, config ? config(passwords) : single.join('\n'));
  // Started as root, Mosquitto drops to the "mosquitto" user, which must read these.
  chmodSync(dir, 0o755);
  chmodSync(passwords, 0o644);
  return spawn(MOSQUITTO, ['-c', conf], { stdio: 'ignore' });
}

/**
 * The shipped cloud/mosquitto/mosquitto.conf's global settings (queue limits…) with
 * one password listener on `port` instead of its TLS and WebSocket listeners, for
 * startMosquitto's `config`.
 */
export function shippedMosquittoConfig(port: number): (passwordFile: string) => string {
  const shipped = readFileSync(join(__dirname, '..', '..', 'cloud', 'mosquitto', 'mosquitto.conf'), 'utf8');
  const globals = shipped
    .slice(0, shipped.search(/^listener /m))
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#') && !l.startsWith('per_listener_settings'));
  return (passwords) =>
    [...globals, `listener ${port} 127.0.0.1`, 'allow_anonymous false', `password_file ${passwords}`, 'persistence false', ''].join('\n');
}

/**
 * The shipped mosquitto.conf switched to per-camera certificates exactly as its comment (and
 * cloud/install.sh for PICAM_CERT_MODE=per-camera) says: the shared mode's acl_file commented
 * out, the `#per-camera ` lines switched on.
 */
export function perCameraMosquittoConf(shipped: string): string {
  return shipped.replace(/^acl_file \/etc\/mosquitto\/picam\/acl-cameras$/m, '#$&').replace(/^#per-camera /gm, '');
}
