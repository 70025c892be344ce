/**
 * The Pi and cloud installs (pi/, cloud/): shell scripts checked by shellcheck,
 * systemd units by `systemd-analyze verify`, both install scripts run into a
 * throwaway root (--root) twice, firewall and proxy configs by their own
 * tools, the shipped Mosquitto config started the way the install lays it out,
 * and backup.sh / restore.sh on a real SQLite database in WAL mode.
 *
 * A test that needs a tool this machine lacks skips and says which package
 * brings it; in CI (CI set) a missing tool is a failure.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sqlite3 from 'sqlite3';
import { makeCertificates } from '../../cli/commands/certs';
import { LIVE_ICE_PORTS } from '../../cli/runtime/roles';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const REPO = join(__dirname, '..', '..');
const PI_INSTALL = join(REPO, 'pi', 'install.sh');
const CLOUD_INSTALL = join(REPO, 'cloud', 'install.sh');
const BACKUP = join(REPO, 'cloud', 'backup.sh');
const RESTORE = join(REPO, 'cloud', 'restore.sh');

/** The command's path, or undefined. */
function which(cmd: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
  return ['/usr/sbin', '/sbin'].map((d) => join(d, cmd)).find((p) => existsSync(p));
}

/** false when the tool is there; else the reason to skip (outside CI, where it must be there). */
function needs(cmd: string, debianPackage: string): string | false {
  if (which(cmd)) return false;
  return process.env.CI ? false : `${cmd} is not installed (Debian package ${debianPackage})`;
}

function sh(cmd: string, args: string[], opts: { input?: string; cwd?: string } = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { encoding: 'utf8', input: opts.input, cwd: opts.cwd, env: { ...process.env, LC_ALL: 'C' } });
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.equal(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const mode = (p: string) => statSync(p).mode & 0o777;

/** Every file and link under dir with its mode, size, mtime and content hash: a second run must leave it equal. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (e.isSymbolicLink()) out.set(rel, `link ${readlinkSync(p)}`);
      else if (e.isDirectory()) {
        out.set(rel, `dir ${st.mode & 0o7777}`);
        walk(p);
      } else out.set(rel, `${st.mode & 0o7777} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir);
  return out;
}

function filesUnder(dir: string, pattern: RegExp): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory() && e.name !== 'node_modules') walk(p);
      else if (e.isFile() && pattern.test(e.name)) found.push(p);
    }
  };
  walk(dir);
  return found.sort();
}

const SHELL_SCRIPTS = ['pi', 'cloud', 'scripts'].flatMap((d) => filesUnder(join(REPO, d), /\.sh$/));
const UNITS = [join(REPO, 'pi', 'picam-guardian.service'), ...filesUnder(join(REPO, 'cloud', 'systemd'), /\.(service|timer)$/)];

describe('shell scripts pass shellcheck', { skip: needs('shellcheck', 'shellcheck') }, () => {
  it('finds the install, backup and firewall scripts', () => {
    const names = SHELL_SCRIPTS.map((f) => relative(REPO, f));
    for (const f of ['pi/install.sh', 'cloud/install.sh', 'cloud/backup.sh', 'cloud/restore.sh', 'cloud/firewall/ufw.sh'])
      assert.ok(names.includes(f), f);
  });
  for (const script of SHELL_SCRIPTS) {
    it(relative(REPO, script), () => {
      ok(sh('shellcheck', ['--external-sources', '--severity=style', script]), `shellcheck ${script}`);
    });
  }

  it('the two install scripts source one copy of their helpers', () => {
    for (const file of [PI_INSTALL, CLOUD_INSTALL]) {
      assert.match(readFileSync(file, 'utf8'), /^\. "\$SOURCE_DIR\/scripts\/install-common\.sh"$/m, file);
    }
  });
});

describe('systemd units pass systemd-analyze verify', { skip: needs('systemd-analyze', 'systemd') }, () => {
  // verify insists that ExecStart's program exists and is executable; the real
  // ones (/opt/picam-guardian/bin/..., /usr/local/bin/mediamtx) are not on this
  // machine, so each unit is checked as a copy whose ExecStart names a stub.
  const dir = tempDir('picam-units-');
  const stub = join(dir, 'stub-program');
  before(() => {
    writeFileSync(stub, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    for (const unit of UNITS) {
      const text = readFileSync(unit, 'utf8').replace(/^ExecStart=\S+/m, `ExecStart=${stub}`);
      writeFileSync(join(dir, basename(unit)), text);
    }
  });

  for (const unit of UNITS) {
    it(relative(REPO, unit), () => {
      const r = sh('systemd-analyze', ['verify', '--man=no', join(dir, basename(unit))]);
      // Unknown keys and bad values are only warnings to systemd (exit 0): any output fails here.
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', r.stderr);
    });
  }

  it('a unit with a typo is caught (the check really checks)', () => {
    const bad = join(dir, 'typo.service');
    writeFileSync(bad, `[Service]\nExecStart=${stub}\nProtectSytem=strict\n`);
    assert.match(sh('systemd-analyze', ['verify', '--man=no', bad]).stderr, /Unknown key/);
  });
});

describe('the services are hardened', () => {
  const unit = (f: string) => readFileSync(join(REPO, f), 'utf8');
  const lines = (text: string, key: string) => [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);

  it('pi: own user, restart on failure, read-only system, only the devices the Pi flow uses', () => {
    const pi = unit('pi/picam-guardian.service');
    for (const [k, v] of Object.entries({
      User: 'picam',
      Restart: 'on-failure',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      DevicePolicy: 'closed',
      StateDirectory: 'picam-guardian',
      EnvironmentFile: '/etc/picam-guardian/pi.env',
      ExecStart: '/opt/picam-guardian/bin/picam-guardian start --role pi',
    }))
      assert.deepEqual(lines(pi, k), [v], k);
    assert.ok(lines(pi, 'RestartSec').length === 1);
    assert.deepEqual(lines(pi, 'SupplementaryGroups'), ['video i2c input']);
    assert.deepEqual(lines(pi, 'DeviceAllow').sort(), [
      '/dev/i2c-1 rw',
      'char-dma_heap rw',
      'char-fb rw',
      'char-input r',
      'char-media rw',
      'char-video4linux rw',
    ]);
    assert.deepEqual(lines(pi, 'MemoryDenyWriteExecute'), [], "Node's JIT needs W+X pages");
  });

  it('cloud: own user, no devices at all, read-only system', () => {
    const cloud = unit('cloud/systemd/picam-guardian-cloud.service');
    for (const [k, v] of Object.entries({
      User: 'picam',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      PrivateDevices: 'yes',
      Restart: 'on-failure',
    }))
      assert.deepEqual(lines(cloud, k), [v], k);
    assert.deepEqual(lines(cloud, 'ExecStart'), ['/opt/picam-guardian/bin/picam-guardian start --role cloud']);
    const mtx = unit('cloud/systemd/mediamtx.service');
    assert.deepEqual(lines(mtx, 'ExecStart'), ['/usr/local/bin/mediamtx /etc/mediamtx/mediamtx.yml']);
    assert.deepEqual(lines(mtx, 'DynamicUser'), ['yes']);
  });
});

/** Variables cli/runtime/roles.ts (and the MediaMTX auth and dashboard settings it validates) reads from the environment. */
function variablesRead(): Set<string> {
  const src = ['cli/runtime/roles.ts', 'cli/runtime/mediamtx-auth.ts', 'dashboard/server/dashboard-config.ts']
    .map((f) => readFileSync(join(REPO, f), 'utf8'))
    .join('\n');
  const names = new Set<string>();
  for (const m of src.matchAll(/env\.([A-Z][A-Z0-9_]+)|(?:required|port|list)\('([A-Z][A-Z0-9_]+)'/g)) names.add((m[1] ?? m[2])!);
  return names;
}
const PI_ONLY = [
  'PICAM_DEVICE_ID',
  'PICAM_DEVICE_NAME',
  'PICAM_SENSEHAT_BACKEND',
  'PICAM_SENSEHAT_LED',
  'PICAM_ENVIRONMENT_SECONDS',
  // the IP camera a Pi hosts (the cloud adds its cameras through the API instead)
  'PICAM_IPCAM_ID',
  'PICAM_IPCAM_SUB_URL',
  'PICAM_IPCAM_MAIN_URL',
  'PICAM_IPCAM_USER',
  'PICAM_IPCAM_PASSWORD',
  // where the Pi sends the clips it recorded while its uplink was down, and its API token there
  'PICAM_CLOUD_URL',
  'PICAM_CLOUD_API_TOKEN',
];
const PI_ONLY_PREFIXES = ['PICAM_CAMERA_', 'PICAM_RTSP_', 'PICAM_PREVIEW_', 'PICAM_OUTBOX_', 'PICAM_PI_'];
const CLOUD_ONLY = [
  'PICAM_DEVICE_TOPIC',
  'PICAM_DEVICE_TYPES',
  'PICAM_MQTT_BROKER',
  'PICAM_DB_FILE',
  'PICAM_MQTT_WS_PORT',
  'PICAM_MQTT_TLS_PORT',
  'PICAM_MQTT_BIND',
  'PICAM_DEBOUNCE_SECONDS',
  'PICAM_CLOCK_PAST_HOURS',
  'PICAM_CLOCK_FUTURE_SECONDS',
  'PICAM_TIME_ZONE',
  'PICAM_SENSOR_LIMITS',
  'PICAM_ALERT_WEBHOOK_URL',
  'PICAM_HA_DISCOVERY',
  'PICAM_HA_DISCOVERY_PREFIX',
  'PICAM_MQTT_API',
  'PICAM_MQTT_API_PREFIX',
  'PICAM_MQTT_API_USERNAME',
  'PICAM_MQTT_API_PASSWORD',
  'PICAM_ALERT_ZONES',
  'PICAM_ALERT_LABELS',
  'PICAM_API_USER',
  'PICAM_API_PASSWORD_HASH',
  'PICAM_API_TOKENS',
  'PICAM_WEBRTC_URL',
  'PICAM_TRUSTED_PROXIES',
  'PICAM_INTERNAL_PORT',
  'PICAM_REBOOT_TTL_SECONDS',
  'PICAM_SETTINGS_TTL_SECONDS',
  'PICAM_MODE_TTL_SECONDS',
  'PICAM_PUBLIC_URL', // the dashboard's address in alert links (issue 19)
  'PICAM_CERT_MODE', // shared or per-camera certificates for VBC01 cameras (issue 23)
];
const CLOUD_ONLY_PREFIXES = [
  'TELEGRAM_',
  'MEDIAMTX_',
  'PICAM_MEDIAMTX_',
  'PICAM_GATEWAY_',
  'PICAM_UPLOAD_',
  'PICAM_CERT_DIR',
  'PICAM_CAMERAS',
  'PICAM_DASHBOARD_',
  'PICAM_LIVE_',
  // the recorder runs in the cloud runtime (issue 19; Pi-side recording is not built yet)
  'PICAM_RECORD_',
];

describe('env templates', () => {
  const template = (f: string) => readFileSync(join(REPO, f), 'utf8');
  const mentioned = (text: string) => new Set([...text.matchAll(/^#?([A-Z][A-Z0-9_]+)=/gm)].map((m) => m[1]!));

  it('the roles read variables (sanity check of the scan)', () => {
    const read = variablesRead();
    for (const v of ['PICAM_ADMIN_PASSWORD_HASH', 'PICAM_CREDENTIAL_SECRET', 'MQTT_USERNAME', 'PICAM_MQTT_HOST', 'PICAM_MEDIAMTX_DEVICES'])
      assert.ok(read.has(v), v);
  });

  it('pi.env.example names every variable the pi role reads', () => {
    const names = mentioned(template('pi/pi.env.example'));
    const wanted = [...variablesRead()].filter((v) => !CLOUD_ONLY.includes(v) && !CLOUD_ONLY_PREFIXES.some((p) => v.startsWith(p)));
    assert.deepEqual(
      wanted.filter((v) => !names.has(v)),
      [],
    );
  });

  it('cloud.env.example names every variable the cloud role reads', () => {
    const names = mentioned(template('cloud/cloud.env.example'));
    const wanted = [...variablesRead()].filter((v) => !PI_ONLY.includes(v) && !PI_ONLY_PREFIXES.some((p) => v.startsWith(p)));
    assert.deepEqual(
      wanted.filter((v) => !names.has(v)),
      [],
    );
  });

  it('hold no secret values', () => {
    for (const f of ['pi/pi.env.example', 'cloud/cloud.env.example']) {
      for (const m of template(f).matchAll(/^([A-Z][A-Z0-9_]*(?:PASSWORD|SECRET|HASH|TOKEN)[A-Z0-9_]*)=(.*)$/gm))
        assert.equal(m[2], '', `${f}: ${m[1]} must be empty in the template`);
      assert.doesNotMatch(template(f), /^[^#].*\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}/m, `${f} holds a bcrypt hash`);
    }
  });
});

/** Runs an install script; returns its output. */
function install(script: string, args: string[]): string {
  return ok(sh('bash', [script, ...args]), `${basename(script)} ${args.join(' ')}`);
}

describe('pi/install.sh into a throwaway root', () => {
  const root = join(tempDir('picam-pi-root-'), 'root');
  const CONFIG_TXT = '# Raspberry Pi OS\ndtparam=audio=on\n[cm4]\notg_mode=1\n';
  let first: string;

  before(() => {
    mkdirSync(join(root, 'boot', 'firmware'), { recursive: true });
    writeFileSync(join(root, 'boot', 'firmware', 'config.txt'), CONFIG_TXT);
    first = install(PI_INSTALL, ['--root', root]);
  });

  it('writes the env file from the template, 0640, with a fresh credential secret', () => {
    const env = join(root, 'etc', 'picam-guardian', 'pi.env');
    assert.equal(mode(env), 0o640);
    assert.equal(mode(join(root, 'etc', 'picam-guardian')), 0o750);
    const text = readFileSync(env, 'utf8');
    const secret = /^PICAM_CREDENTIAL_SECRET=([0-9a-f]{64})$/m.exec(text);
    assert.ok(secret, 'a 64-hex-digit secret');
    assert.equal(text.replace(secret[1]!, ''), readFileSync(join(REPO, 'pi', 'pi.env.example'), 'utf8'));
    assert.match(first, /skipped +chown root:picam \/etc\/picam-guardian\/pi\.env \(--root\)/);
  });

  it('installs and enables the unit, and creates the data directory', () => {
    const unit = join(root, 'etc', 'systemd', 'system', 'picam-guardian.service');
    assert.equal(readFileSync(unit, 'utf8'), readFileSync(join(REPO, 'pi', 'picam-guardian.service'), 'utf8'));
    assert.equal(mode(unit), 0o644);
    assert.equal(mode(join(root, 'var', 'lib', 'picam-guardian')), 0o750);
    if (which('systemctl'))
      assert.equal(
        readlinkSync(join(root, 'etc', 'systemd', 'system', 'multi-user.target.wants', 'picam-guardian.service')),
        '/etc/systemd/system/picam-guardian.service',
      );
  });

  it('prints instead of running what changes the system', () => {
    for (const cmd of [
      'useradd --system --user-group',
      'usermod --append --groups video picam',
      'usermod --append --groups i2c picam',
      'usermod --append --groups input picam',
      'npm install --global --prefix /opt/picam-guardian --omit=dev',
      'systemctl daemon-reload',
    ])
      assert.ok(first.includes(`skipped  ${cmd}`), `${cmd} in:\n${first}`);
    assert.doesNotMatch(first, /skipped +systemctl (re)?start/, 'not started before the env file is filled in');
  });

  it('enables the camera and I²C in config.txt under [all], after a backup', () => {
    const text = readFileSync(join(root, 'boot', 'firmware', 'config.txt'), 'utf8');
    assert.ok(text.startsWith(CONFIG_TXT));
    assert.match(text.slice(CONFIG_TXT.length), /^\n# Added by PiCam Guardian.*\n\[all\]\ndtparam=i2c_arm=on\ncamera_auto_detect=1\n$/);
    const backups = readdirSync(join(root, 'boot', 'firmware')).filter((f) => f.endsWith('.bak'));
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(join(root, 'boot', 'firmware', backups[0]!), 'utf8'), CONFIG_TXT);
    assert.equal(readFileSync(join(root, 'etc', 'modules-load.d', 'picam-guardian-i2c.conf'), 'utf8'), 'i2c-dev\n');
  });

  it('tells what is left to do, with the hash command', () => {
    assert.match(first, /Fill in PICAM_ADMIN_PASSWORD_HASH PICAM_MQTT_HOST MQTT_USERNAME MQTT_PASSWORD/);
    assert.match(first, /\/opt\/picam-guardian\/bin\/picam-guardian hash-password/);
    assert.match(first, /reboot/);
    assert.match(first, /picam-guardian deploy pi --url/);
  });

  it('a second run changes nothing, and an edited env file is kept', () => {
    const env = join(root, 'etc', 'picam-guardian', 'pi.env');
    writeFileSync(env, readFileSync(env, 'utf8').replace(/^MQTT_USERNAME=$/m, 'MQTT_USERNAME=picam-1'));
    const before = snapshot(root);
    const second = install(PI_INSTALL, ['--root', root]);
    assert.deepEqual(snapshot(root), before);
    assert.match(second, /Done: nothing to change\./);
    assert.match(second, /kept +\/etc\/picam-guardian\/pi\.env/);
    assert.match(readFileSync(env, 'utf8'), /^MQTT_USERNAME=picam-1$/m);
    assert.doesNotMatch(second, /Fill in .*MQTT_USERNAME/);
  });

  it('puts back a loosened env file mode', () => {
    const env = join(root, 'etc', 'picam-guardian', 'pi.env');
    chmodSync(env, 0o644);
    install(PI_INSTALL, ['--root', root]);
    assert.equal(mode(env), 0o640);
  });

  it('leaves a camera chosen by hand alone', () => {
    const other = join(tempDir('picam-pi-root-'), 'root');
    const manual = 'camera_auto_detect=0\ndtoverlay=imx219\ndtparam=i2c_arm=on\n';
    mkdirSync(join(other, 'boot', 'firmware'), { recursive: true });
    writeFileSync(join(other, 'boot', 'firmware', 'config.txt'), manual);
    const out = install(PI_INSTALL, ['--root', other, '--no-apt', '--no-package']);
    assert.equal(readFileSync(join(other, 'boot', 'firmware', 'config.txt'), 'utf8'), manual);
    assert.match(out, /camera configured by hand/);
    assert.deepEqual(
      readdirSync(join(other, 'boot', 'firmware')).filter((f) => f.endsWith('.bak')),
      [],
    );
  });

  it('uses another --prefix in the unit', () => {
    const other = join(tempDir('picam-pi-root-'), 'root');
    install(PI_INSTALL, ['--root', other, '--prefix', '/srv/picam', '--no-apt']);
    const unit = readFileSync(join(other, 'etc', 'systemd', 'system', 'picam-guardian.service'), 'utf8');
    assert.match(unit, /^ExecStart=\/srv\/picam\/bin\/picam-guardian start --role pi$/m);
    assert.doesNotMatch(unit, /\/opt\/picam-guardian/);
  });

  it('--dry-run writes nothing, not even the root', () => {
    const other = join(tempDir('picam-pi-root-'), 'root');
    const out = install(PI_INSTALL, ['--root', other, '--dry-run']);
    assert.equal(existsSync(other), false);
    assert.match(out, /would +write \/etc\/picam-guardian\/pi\.env \(mode 0640, root:picam\)/);
    assert.match(out, /would +write \/etc\/systemd\/system\/picam-guardian\.service/);
    assert.match(out, /Dry run: nothing was changed\./);
  });

  it('refuses unknown options', () => {
    const r = sh('bash', [PI_INSTALL, '--rot', root]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option --rot/);
  });
});

describe('cloud/install.sh into a throwaway root', () => {
  const root = join(tempDir('picam-cloud-root-'), 'root');
  const fakeMediamtx = join(tempDir('picam-mediamtx-'), 'mediamtx');
  const args = ['--root', root, '--mediamtx-binary', fakeMediamtx, '--firewall', 'nftables'];
  let first: string;

  before(() => {
    writeFileSync(fakeMediamtx, '#!/bin/sh\necho v1.20.0\n', { mode: 0o755 });
    first = install(CLOUD_INSTALL, args);
  });

  const at = (...p: string[]) => join(root, ...p);

  it('writes the env file from the template, 0640, with a fresh credential secret', () => {
    const env = at('etc', 'picam-guardian', 'cloud.env');
    assert.equal(mode(env), 0o640);
    const text = readFileSync(env, 'utf8');
    const secret = /^PICAM_CREDENTIAL_SECRET=([0-9a-f]{64})$/m.exec(text);
    assert.ok(secret);
    assert.equal(text.replace(secret[1]!, ''), readFileSync(join(REPO, 'cloud', 'cloud.env.example'), 'utf8'));
  });

  it('installs the runtime, MediaMTX and backup units and enables them', () => {
    for (const u of ['picam-guardian-cloud.service', 'mediamtx.service', 'picam-guardian-backup.service', 'picam-guardian-backup.timer']) {
      assert.equal(readFileSync(at('etc', 'systemd', 'system', u), 'utf8'), readFileSync(join(REPO, 'cloud', 'systemd', u), 'utf8'), u);
      assert.equal(mode(at('etc', 'systemd', 'system', u)), 0o644);
    }
    if (which('systemctl')) {
      // Links as systemctl makes them, to the unit's path on the installed system.
      for (const [target, u] of [
        ['multi-user.target.wants', 'picam-guardian-cloud.service'],
        ['multi-user.target.wants', 'mediamtx.service'],
        ['timers.target.wants', 'picam-guardian-backup.timer'],
      ])
        assert.equal(readlinkSync(at('etc', 'systemd', 'system', target!, u!)), `/etc/systemd/system/${u}`);
    }
    assert.equal(mode(at('usr', 'local', 'sbin', 'picam-guardian-backup')), 0o755);
    assert.equal(readFileSync(at('usr', 'local', 'sbin', 'picam-guardian-restore'), 'utf8'), readFileSync(RESTORE, 'utf8'));
  });

  it('lays out Mosquitto: the ACL, conf.d without the lines Debian already sets, an empty password file', () => {
    assert.equal(
      readFileSync(at('etc', 'mosquitto', 'picam', 'acl'), 'utf8'),
      readFileSync(join(REPO, 'cloud', 'mosquitto', 'acl'), 'utf8'),
    );
    assert.equal(
      readFileSync(at('etc', 'mosquitto', 'picam', 'acl-cameras'), 'utf8'),
      readFileSync(join(REPO, 'cloud', 'mosquitto', 'acl-cameras'), 'utf8'),
    );
    const conf = readFileSync(at('etc', 'mosquitto', 'conf.d', 'picam-guardian.conf'), 'utf8');
    assert.doesNotMatch(conf, /^persistence/m);
    assert.match(conf, /^listener 8883$/m);
    assert.equal(readFileSync(at('etc', 'mosquitto', 'picam', 'passwords'), 'utf8'), '');
    assert.equal(mode(at('etc', 'mosquitto', 'picam', 'passwords')), 0o640);
    // A fleet: one descriptor per device, beyond systemd's soft limit of 1,024.
    const limits = at('etc', 'systemd', 'system', 'mosquitto.service.d', 'picam-guardian.conf');
    assert.match(readFileSync(limits, 'utf8'), /^\[Service\]\nLimitNOFILE=65536$/m);
    assert.equal(mode(limits), 0o644);
    assert.match(first, /missing +broker certificates/);
    assert.match(first, /waiting +Mosquitto restarts once the certificates are there/);
  });

  it('installs MediaMTX from the given binary with the shipped config', () => {
    assert.equal(mode(at('usr', 'local', 'bin', 'mediamtx')), 0o755);
    assert.equal(readFileSync(at('etc', 'mediamtx', 'mediamtx.yml'), 'utf8'), readFileSync(join(REPO, 'cloud', 'mediamtx.yml'), 'utf8'));
    assert.match(readFileSync(at('etc', 'mediamtx', 'mediamtx.env'), 'utf8'), /^#MTX_WEBRTCADDITIONALHOSTS=/m);
  });

  it('installs the nftables rules and includes them from /etc/nftables.conf', () => {
    assert.equal(
      readFileSync(at('etc', 'picam-guardian', 'nftables.conf'), 'utf8'),
      readFileSync(join(REPO, 'cloud', 'firewall', 'nftables.conf'), 'utf8'),
    );
    assert.match(readFileSync(at('etc', 'nftables.conf'), 'utf8'), /^include "\/etc\/picam-guardian\/nftables\.conf"$/m);
    assert.match(first, /skipped +nft -c -f \/etc\/nftables\.conf/);
  });

  it('tells what is left to do, with the hash command', () => {
    // The dashboard's first admin comes from the first-run page, not from the file (issue 23).
    assert.match(first, /fill in PICAM_ADMIN_PASSWORD_HASH MQTT_PASSWORD in/);
    assert.match(first, /the dashboard's first admin: open \/dashboard\/ from this machine/);
    assert.match(first, /\/opt\/picam-guardian\/bin\/picam-guardian hash-password/);
    assert.match(first, /picam-guardian certs --dir \/var\/lib\/picam-guardian\/certs/);
  });

  it('a second run changes nothing, and keeps edited env and password files', () => {
    writeFileSync(at('etc', 'mosquitto', 'picam', 'passwords'), 'picam-cloud:$7$101$abc\n');
    const env = at('etc', 'picam-guardian', 'cloud.env');
    writeFileSync(env, readFileSync(env, 'utf8').replace(/^MQTT_PASSWORD=$/m, 'MQTT_PASSWORD=edited'));
    const before = snapshot(root);
    const second = install(CLOUD_INSTALL, args);
    assert.deepEqual(snapshot(root), before);
    assert.match(second, /Done: nothing to change\./);
  });

  it('gives Mosquitto its copies of the broker certificates once they exist, then is idempotent again', async () => {
    await makeCertificates({ dir: at('var', 'lib', 'picam-guardian', 'certs'), brokerHosts: ['localhost'], bits: 2048 });
    const out = install(CLOUD_INSTALL, args);
    for (const f of ['ca.crt', 'broker.crt', 'broker.key'])
      assert.equal(
        readFileSync(at('etc', 'mosquitto', 'picam', 'certs', f), 'utf8'),
        readFileSync(at('var', 'lib', 'picam-guardian', 'certs', f), 'utf8'),
      );
    assert.equal(mode(at('etc', 'mosquitto', 'picam', 'certs', 'broker.key')), 0o640);
    assert.equal(existsSync(at('etc', 'mosquitto', 'picam', 'certs', 'ca.key')), false, 'the CA key stays with the runtime');
    assert.match(out, /skipped +systemctl restart mosquitto/);
    const before = snapshot(root);
    install(CLOUD_INSTALL, args);
    assert.deepEqual(snapshot(root), before);
  });
});

describe('the installed Mosquitto layout starts next to Debian’s mosquitto.conf', { skip: needs('mosquitto', 'mosquitto') }, () => {
  const dir = tempDir('picam-mosquitto-layout-');
  const root = join(dir, 'root');
  let broker: ChildProcess | undefined;
  let log = '';
  after(() => broker?.kill('SIGTERM'));

  it('loads the conf.d file, the ACL and the certificates and listens', async () => {
    install(CLOUD_INSTALL, ['--root', root, '--no-apt', '--no-package']);
    await makeCertificates({ dir: join(root, 'var', 'lib', 'picam-guardian', 'certs'), brokerHosts: ['127.0.0.1'], bits: 2048 });
    install(CLOUD_INSTALL, ['--root', root, '--no-apt', '--no-package']);
    const ports = { local: await freePort(), tls: await freePort(), ws: await freePort() };
    // The installed file, with this test's root and ports.
    const confD = join(root, 'etc', 'mosquitto', 'conf.d');
    const installed = join(confD, 'picam-guardian.conf');
    writeFileSync(
      installed,
      readFileSync(installed, 'utf8')
        .replaceAll('/etc/mosquitto/picam', join(root, 'etc', 'mosquitto', 'picam'))
        .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${ports.local} 127.0.0.1`)
        .replace(/^listener 8883$/m, `listener ${ports.tls} 127.0.0.1`)
        .replace(/^listener 9001$/m, `listener ${ports.ws} 127.0.0.1`),
    );
    mkdirSync(join(dir, 'persist'));
    // Debian's /etc/mosquitto/mosquitto.conf as the package ships it (its
    // persistence lines are why the install leaves ours out), running as root
    // here so the test's private directories need no opening up.
    const main = join(dir, 'mosquitto.conf');
    writeFileSync(
      main,
      [
        'user root',
        'persistence true',
        `persistence_location ${join(dir, 'persist')}/`,
        'log_dest stderr',
        `include_dir ${confD}`,
        '',
      ].join('\n'),
    );
    const bin = which('mosquitto')!;
    broker = spawn(bin, ['-c', main], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const listening = (port: number) =>
      new Promise<true | undefined>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(undefined));
      });
    await waitFor(`Mosquitto on ${ports.tls} (log: ${log})`, () =>
      broker!.exitCode === null ? listening(ports.tls) : Promise.reject(new Error(log)),
    );
    // Each listener on its own: under load they do not all open in the same instant.
    for (const port of [ports.local, ports.ws])
      await waitFor(`Mosquitto on ${port} (log: ${log})`, () =>
        broker!.exitCode === null ? listening(port) : Promise.reject(new Error(log)),
      );
    assert.doesNotMatch(log, /Error/);
  });
});

describe('cloud/install.sh with PICAM_CERT_MODE=per-camera', { skip: needs('mosquitto', 'mosquitto') }, () => {
  const dir = tempDir('picam-mosquitto-per-camera-');
  const root = join(dir, 'root');
  let broker: ChildProcess | undefined;
  let log = '';
  after(() => broker?.kill('SIGTERM'));
  const at = (...p: string[]) => join(root, ...p);

  it('switches the camera listener, installs the CRL and its sync units, and the installed Mosquitto starts with them', async () => {
    install(CLOUD_INSTALL, ['--root', root, '--no-apt', '--no-package']);
    const envFile = at('etc', 'picam-guardian', 'cloud.env');
    writeFileSync(envFile, readFileSync(envFile, 'utf8').replace(/^#PICAM_CERT_MODE=shared$/m, 'PICAM_CERT_MODE=per-camera'));
    await makeCertificates({ dir: at('var', 'lib', 'picam-guardian', 'certs'), brokerHosts: ['127.0.0.1'], bits: 2048 });
    const out = install(CLOUD_INSTALL, ['--root', root, '--no-apt', '--no-package']);
    assert.match(out, /mode +camera certificates: per-camera/);
    const installed = at('etc', 'mosquitto', 'conf.d', 'picam-guardian.conf');
    const conf = readFileSync(installed, 'utf8');
    for (const line of [
      'use_identity_as_username true',
      'use_username_as_clientid true',
      'crlfile /etc/mosquitto/picam/certs/cameras.crl',
      'acl_file /etc/mosquitto/picam/acl-cameras-per-camera',
      '#acl_file /etc/mosquitto/picam/acl-cameras',
    ])
      assert.match(conf, new RegExp(`^${line}$`, 'm'), line);
    assert.equal(mode(at('etc', 'mosquitto', 'picam', 'certs', 'cameras.crl')), 0o644);
    assert.equal(
      readFileSync(at('etc', 'mosquitto', 'picam', 'acl-cameras-per-camera'), 'utf8'),
      readFileSync(join(REPO, 'cloud', 'mosquitto', 'acl-cameras-per-camera'), 'utf8'),
    );
    for (const u of ['picam-guardian-crl.path', 'picam-guardian-crl.service'])
      assert.equal(readFileSync(at('etc', 'systemd', 'system', u), 'utf8'), readFileSync(join(REPO, 'cloud', 'systemd', u), 'utf8'), u);

    const ports = { local: await freePort(), tls: await freePort(), ws: await freePort() };
    writeFileSync(
      installed,
      conf
        .replaceAll('/etc/mosquitto/picam', at('etc', 'mosquitto', 'picam'))
        .replace(/^listener 1883 127\.0\.0\.1$/m, `listener ${ports.local} 127.0.0.1`)
        .replace(/^listener 8883$/m, `listener ${ports.tls} 127.0.0.1`)
        .replace(/^listener 9001$/m, `listener ${ports.ws} 127.0.0.1`),
    );
    const main = join(dir, 'mosquitto.conf');
    writeFileSync(main, ['user root', 'log_dest stderr', `include_dir ${at('etc', 'mosquitto', 'conf.d')}`, ''].join('\n'));
    broker = spawn(which('mosquitto')!, ['-c', main], { stdio: ['ignore', 'ignore', 'pipe'] });
    broker.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    const listening = (port: number) =>
      new Promise<true | undefined>((resolve) => {
        const s = connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(undefined));
      });
    await waitFor(`Mosquitto on ${ports.tls} (log: ${log})`, () =>
      broker!.exitCode === null ? listening(ports.tls) : Promise.reject(new Error(log)),
    );
    assert.doesNotMatch(log, /Error/);
  });
});

describe('firewall rules', () => {
  const nft = readFileSync(join(REPO, 'cloud', 'firewall', 'nftables.conf'), 'utf8');
  const ufwOut = () => ok(sh('bash', [join(REPO, 'cloud', 'firewall', 'ufw.sh'), '--dry-run']), 'ufw.sh --dry-run');

  it('nftables and ufw open the same ports, and never 1883, 9997 or 9998', () => {
    const nftPorts = new Set<string>();
    for (const m of nft.matchAll(/^define (\w+) = (.*)$/gm))
      for (const p of m[2]!.match(/\d+(?:-\d+)?/g) ?? []) nftPorts.add(`${p}/${/UDP/.test(m[1]!) ? 'udp' : 'tcp'}`);
    // A range is 5000-5050 in nftables and 5000:5050 in ufw.
    const ufwRules = [...ufwOut().matchAll(/^ufw (?:allow|limit) (\d+(?::\d+)?\/(?:tcp|udp))/gm)];
    const ufwPorts = new Set(ufwRules.map((m) => m[1]!.replace(':', '-')));
    assert.deepEqual([...ufwPorts].sort(), [...nftPorts].sort());
    for (const p of [
      '22/tcp',
      '443/tcp',
      '8883/tcp',
      '9001/tcp',
      '8554/tcp',
      '8889/tcp',
      '8189/udp',
      '80/tcp',
      '8080/tcp',
      '5000-5050/udp',
      '5100-5199/udp',
    ])
      assert.ok(nftPorts.has(p), p);
    for (const p of ['1883/tcp', '1880/tcp', '9997/tcp', '9998/tcp']) assert.ok(!nftPorts.has(p), p);
    // The live view's browser ports are the cloud role's default.
    assert.match(nft, new RegExp(`^define LIVE_VIEWER_UDP_PORTS = \\{ ${LIVE_ICE_PORTS} \\}$`, 'm'));
    assert.match(ufwOut(), /^ufw default deny incoming$/m);
  });

  it('nft accepts the ruleset', { skip: needs('nft', 'nftables') }, (t) => {
    const r = sh(which('nft')!, ['-c', '-f', join(REPO, 'cloud', 'firewall', 'nftables.conf')]);
    if (r.status !== 0 && /Operation not permitted|Permission denied/.test(r.stderr)) {
      // nft -c still asks the kernel (netlink): a container without CAP_NET_ADMIN cannot.
      t.skip(`nft -c needs CAP_NET_ADMIN here: ${r.stderr.trim()}`);
      return;
    }
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('reverse proxy configs', () => {
  it('nginx -t accepts cloud/nginx/picam-guardian.conf', { skip: needs('nginx', 'nginx') }, () => {
    const dir = tempDir('picam-nginx-');
    // The site file as installed, with a throwaway certificate for the Let's Encrypt paths.
    ok(
      sh('openssl', [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=cams.example.org',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ]),
      'openssl',
    );
    const site = readFileSync(join(REPO, 'cloud', 'nginx', 'picam-guardian.conf'), 'utf8')
      .replace('/etc/letsencrypt/live/cams.example.org/fullchain.pem', join(dir, 'cert.pem'))
      .replace('/etc/letsencrypt/live/cams.example.org/privkey.pem', join(dir, 'key.pem'));
    writeFileSync(join(dir, 'site.conf'), site);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `pid ${dir}/nginx.pid;\nerror_log stderr;\nevents {}\nhttp {\n  access_log off;\n  include ${dir}/site.conf;\n}\n`,
    );
    const r = sh(which('nginx')!, ['-t', '-c', join(dir, 'nginx.conf'), '-p', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(site, /location \/api\/ws/);
    assert.match(site, /location \/admin\/comms/);
    // Case-insensitive: a plain `location /mediamtx/` let /MEDIAMTX/auth through to the runtime.
    assert.match(site, /location ~\* \^\/\+mediamtx\(\/\|\$\) \{\s*return 404;/);
    // Port 80 is the VBC01 gateway's (HTTPS on 80 in the cloud role): nginx listens on no port 80.
    const listens = [...site.replace(/#.*$/gm, '').matchAll(/^\s*listen\s+([^;\s]+)/gm)].map((m) => m[1]!);
    assert.ok(listens.length > 0);
    assert.deepEqual(
      listens.filter((l) => /(^|:)80$/.test(l)),
      [],
      'no listen on 80',
    );
  });

  it('caddy validates cloud/caddy/Caddyfile', { skip: needs('caddy', 'caddy') }, () => {
    const dir = tempDir('picam-caddy-');
    copyFileSync(join(REPO, 'cloud', 'caddy', 'Caddyfile'), join(dir, 'Caddyfile'));
    const r = sh(which('caddy')!, ['validate', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { cwd: dir });
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /not formatted/);
    // Port 80 is the VBC01 gateway's: no site, redirect or HTTP-01 challenge of Caddy's binds it.
    const adapted = sh(which('caddy')!, ['adapt', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { cwd: dir });
    assert.equal(adapted.status, 0, adapted.stderr);
    const json = JSON.parse(adapted.stdout) as {
      apps: {
        http: { servers: Record<string, { listen: string[]; automatic_https?: { disable_redirects?: boolean } }> };
        tls: { automation: { policies: Array<{ issuers: Array<{ challenges?: { http?: { disabled?: boolean } } }> }> } };
      };
    };
    for (const [name, server] of Object.entries(json.apps.http.servers)) {
      assert.deepEqual(
        server.listen.filter((l) => /:80$/.test(l)),
        [],
        `${name} listens on 80`,
      );
      assert.equal(server.automatic_https?.disable_redirects, true, `${name}: no port-80 redirect listener`);
    }
    for (const policy of json.apps.tls.automation.policies)
      for (const issuer of policy.issuers) assert.equal(issuer.challenges?.http?.disabled, true, 'no HTTP-01 challenge on port 80');
  });
});

/** Opens a database with the project's SQLite driver. */
function open(file: string): Promise<sqlite3.Database> {
  return new Promise((resolve, reject) => {
    const db = new sqlite3.Database(file, (err) => (err ? reject(err) : resolve(db)));
  });
}
const exec = (db: sqlite3.Database, sql: string) =>
  new Promise<void>((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
const all = <T>(db: sqlite3.Database, sql: string) =>
  new Promise<T[]>((resolve, reject) => db.all(sql, (err, rows) => (err ? reject(err) : resolve(rows as T[]))));
const close = (db: sqlite3.Database) => new Promise<void>((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));

describe('backup.sh and restore.sh', { skip: needs('sqlite3', 'sqlite3') }, () => {
  const dir = tempDir('picam-backup-');
  const source = join(dir, 'source');
  const data = join(source, 'var', 'lib', 'picam-guardian');
  const backups = join(source, 'var', 'backups', 'picam-guardian');
  let live: sqlite3.Database;
  let archive: string;

  before(async () => {
    mkdirSync(join(data, 'certs'), { recursive: true });
    mkdirSync(join(source, 'etc', 'picam-guardian'), { recursive: true });
    writeFileSync(join(data, 'flows.json'), '[{"id":"n1","type":"tab"}]\n');
    writeFileSync(join(data, 'flows_cred.json'), '{"$":"encrypted"}\n', { mode: 0o600 });
    writeFileSync(join(data, 'certs', 'ca.key'), 'KEY\n', { mode: 0o600 });
    mkdirSync(join(data, 'uploads', 'CAM0001'), { recursive: true });
    writeFileSync(join(data, 'uploads', 'CAM0001', 'event.mp4'), 'big recording');
    writeFileSync(join(source, 'etc', 'picam-guardian', 'cloud.env'), 'PICAM_CREDENTIAL_SECRET=abc\n', { mode: 0o640 });
    mkdirSync(join(source, 'etc', 'mosquitto', 'picam'), { recursive: true });
    writeFileSync(join(source, 'etc', 'mosquitto', 'picam', 'passwords'), 'pi-1:$7$x\n');
    // The runtime's database as it runs: WAL mode, a connection open, the
    // newest rows still in the -wal file (no checkpoint yet).
    live = await open(join(data, 'picam-guardian.db'));
    await exec(
      live,
      "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0; CREATE TABLE activity_events (id INTEGER PRIMARY KEY, camera_id TEXT); INSERT INTO activity_events (camera_id) VALUES ('CAM0001'), ('CAM0002');",
    );
    await exec(live, "INSERT INTO activity_events (camera_id) VALUES ('picam-1');");
    assert.ok(statSync(join(data, 'picam-guardian.db-wal')).size > 0, 'rows wait in the WAL');
    const out = ok(sh('bash', [BACKUP, '--root', source]), 'backup.sh');
    archive = out.trim().split('\n').pop()!;
  });
  after(() => close(live));

  it('makes one dated 0600 archive with the database copied through SQLite, not its -wal', () => {
    assert.match(basename(archive), /^picam-guardian-backup-\d{8}T\d{6}Z\.tar\.gz$/);
    assert.equal(archive.startsWith(backups), true);
    assert.equal(mode(archive), 0o600);
    const members = ok(sh('tar', ['-tzf', archive]), 'tar -t')
      .trim()
      .split('\n');
    const top = members[0]!.split('/')[0]!;
    for (const f of [
      'MANIFEST',
      'SHA256SUMS',
      'files/var/lib/picam-guardian/picam-guardian.db',
      'files/var/lib/picam-guardian/flows.json',
      'files/var/lib/picam-guardian/flows_cred.json',
      'files/var/lib/picam-guardian/certs/ca.key',
      'files/etc/picam-guardian/cloud.env',
      'files/etc/mosquitto/picam/passwords',
    ])
      assert.ok(members.includes(`${top}/${f}`), f);
    assert.deepEqual(
      members.filter((m) => /-(wal|shm)$/.test(m)),
      [],
    );
    assert.deepEqual(
      members.filter((m) => m.includes('/uploads')),
      [],
      'camera media only with --with-uploads',
    );
    assert.deepEqual(readdirSync(backups), [basename(archive)], 'no staging left behind');
  });

  it('restores into an empty root: the rows (the WAL ones too), flows, certificates and env', async () => {
    const target = join(dir, 'restored');
    const out = ok(sh('bash', [RESTORE, '--root', target, archive]), 'restore.sh');
    assert.match(out, /verified .*database with 1 tables/);
    const db = await open(join(target, 'var', 'lib', 'picam-guardian', 'picam-guardian.db'));
    const rows = await all<{ camera_id: string }>(db, 'SELECT camera_id FROM activity_events ORDER BY id');
    await close(db);
    assert.deepEqual(
      rows.map((r) => r.camera_id),
      ['CAM0001', 'CAM0002', 'picam-1'],
    );
    for (const f of [
      'var/lib/picam-guardian/flows.json',
      'var/lib/picam-guardian/certs/ca.key',
      'etc/picam-guardian/cloud.env',
      'etc/mosquitto/picam/passwords',
    ])
      assert.equal(readFileSync(join(target, f), 'utf8'), readFileSync(join(source, f), 'utf8'), f);
    assert.equal(mode(join(target, 'var/lib/picam-guardian/certs/ca.key')), 0o600);
    assert.equal(mode(join(target, 'etc/picam-guardian/cloud.env')), 0o640);
  });

  it('refuses to overwrite without --force, changing nothing; with --force keeps the replaced database', async () => {
    const target = join(dir, 'existing');
    const db = join(target, 'var', 'lib', 'picam-guardian', 'picam-guardian.db');
    mkdirSync(join(target, 'var', 'lib', 'picam-guardian'), { recursive: true });
    ok(sh('sqlite3', [db, "CREATE TABLE newer (x); INSERT INTO newer VALUES ('keep me');"]), 'sqlite3');
    writeFileSync(`${db}-wal`, 'stale wal of the replaced database');
    const before = snapshot(target);
    const refused = sh('bash', [RESTORE, '--root', target, archive]);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, /would be overwritten[\s\S]*\/var\/lib\/picam-guardian\/picam-guardian\.db[\s\S]*--force/);
    assert.deepEqual(snapshot(target), before);

    const out = ok(sh('bash', [RESTORE, '--force', '--root', target, archive]), 'restore.sh --force');
    const kept = /kept the replaced database as (\S+)/.exec(out);
    assert.ok(kept, out);
    assert.equal(ok(sh('sqlite3', [join(target, kept[1]!), 'SELECT x FROM newer']), 'old db').trim(), 'keep me');
    assert.equal(existsSync(`${db}-wal`), false, 'the old -wal must not be replayed into the restored database');
    assert.equal(ok(sh('sqlite3', [db, 'SELECT count(*) FROM activity_events']), 'restored db').trim(), '3');
  });

  it('--verify-only accepts a good archive and rejects a truncated or altered one', () => {
    assert.match(ok(sh('bash', [RESTORE, '--verify-only', archive]), 'verify'), /^verified /);

    const truncated = join(dir, 'truncated.tar.gz');
    const bytes = readFileSync(archive);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const t = sh('bash', [RESTORE, '--verify-only', truncated]);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /not a complete gzip file/);

    // Unpack, change the flows, pack again: the recorded checksum no longer matches.
    const work = tempDir('picam-altered-');
    ok(sh('tar', ['-xzf', archive, '-C', work]), 'untar');
    const top = readdirSync(work)[0]!;
    writeFileSync(join(work, top, 'files', 'var', 'lib', 'picam-guardian', 'flows.json'), '[]\n');
    const altered = join(dir, 'altered.tar.gz');
    ok(sh('tar', ['-czf', altered, '-C', work, top]), 'tar');
    const a = sh('bash', [RESTORE, '--verify-only', altered]);
    assert.equal(a.status, 1);
    assert.match(a.stderr, /differ from their recorded checksums/);
  });

  it('rejects an archive that is not a backup or reaches outside its folder', () => {
    const work = tempDir('picam-evil-');
    mkdirSync(join(work, 'picam-guardian-backup-x'));
    writeFileSync(join(work, 'evil'), 'x');
    const evil = join(dir, 'evil.tar.gz');
    ok(sh('tar', ['-czf', evil, '-C', work, 'picam-guardian-backup-x', 'evil']), 'tar');
    const r = sh('bash', [RESTORE, '--verify-only', evil]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /outside picam-guardian-backup-x/);
  });

  it('--keep N deletes all but the newest N archives', () => {
    const out = join(source, 'rotation');
    mkdirSync(out);
    for (const stamp of ['20240101T000000Z', '20240102T000000Z', '20240103T000000Z'])
      writeFileSync(join(out, `picam-guardian-backup-${stamp}.tar.gz`), '');
    ok(sh('bash', [BACKUP, '--root', source, '--out', '/rotation', '--keep', '2']), 'backup.sh --keep');
    const left = readdirSync(out).sort();
    assert.equal(left.length, 2);
    assert.equal(left[0], 'picam-guardian-backup-20240103T000000Z.tar.gz');
  });
});
