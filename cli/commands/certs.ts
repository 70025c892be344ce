/**
 * Certificates for VBC01 cameras, as the real platform makes them
 * (vbc01-protocol.md §2): one CA, a broker (server) certificate, a config
 * server (HTTPS) certificate, and ONE client certificate shared by every
 * camera (the camera's MQTT client id is its identity; the certificate only
 * authenticates). RSA 2048 by default (what the cameras are known to work
 * with), 10-year validity.
 *
 * Uses the `openssl` command-line tool, spawned with an argument array (no shell).
 *
 *   ca.key / ca.crt                        self-signed CA (CA:TRUE, keyCertSign+cRLSign); ca.key stays here
 *   broker.key / broker.crt                serverAuth, subjectAltName = the broker hosts (Mosquitto, the embedded broker)
 *   config-server.key / config-server.crt  serverAuth, subjectAltName = the addresses cameras dial for their config
 *   camera.key / camera.crt                clientAuth, CN camera_client, shared by all cameras
 *                                          (served at /hivecam/cert/{camera_id}, copied by `camera provision`)
 *
 * Keys are written 0600, certificates 0644, a directory we create 0700.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CERT_FILE_NAMES as FILE_NAMES, type CertFile } from '../../nodes/lib/cert-files';
import { CAMERA_CLIENT_CN } from '../../nodes/lib/vbc01';
import { runOpenssl } from '../../nodes/lib/openssl';
import { writeFileAtomic } from '../../nodes/lib/atomic-file';
import { CameraCertificateAuthority } from '../../nodes/lib/camera-certs/authority';

export type { CertFile };

export interface MakeCertificatesOptions {
  /** Output directory; created 0700 if missing. */
  dir: string;
  /** DNS names and/or IP addresses for the broker certificate's subjectAltName (first one is the CN). */
  brokerHosts: string[];
  /**
   * DNS names and/or IP addresses cameras dial for their config server (the
   * `configSrvHost` in the camera, without the port): the config server
   * certificate's subjectAltName, first one the CN. Default: brokerHosts.
   */
  configServerHosts?: string[];
  /** Validity in days for the CA and both leaf certificates. Default 3650 (10 years, as in seed 004). */
  days?: number;
  /** RSA key size. Default 2048, as the real platform's (and the cameras'). */
  bits?: number;
  /** Replace an existing CA (and therefore re-issue both leaf certificates). */
  force?: boolean;
  /** Re-issue the broker, config server and camera certificates (new keys) from the existing CA. */
  renew?: boolean;
  /** Path of the openssl binary. Default `openssl`. */
  openssl?: string;
}

export interface MakeCertificatesResult {
  /** Absolute paths written by this run. */
  created: string[];
  /** Absolute paths that already existed and were left alone. */
  kept: string[];
  files: Record<CertFile, string>;
  /**
   * The camera CRL (cameras.crl), signed by the CA: written when missing or when the CA is new,
   * so Mosquitto's `crlfile` exists before per-camera mode ever revoked anything.
   */
  crl: string;
}

export const DEFAULT_DAYS = 3650;
export const DEFAULT_BITS = 2048;
export const DEFAULT_DIR = 'data/certs';

const DNS_NAME = /^(\*\.)?[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Checks one subjectAltName entry; returns 'IP' or 'DNS', throws on anything else. */
export function sanKind(host: string): 'IP' | 'DNS' {
  if (isIP(host)) return 'IP';
  if (host.length <= 253 && DNS_NAME.test(host)) return 'DNS';
  throw new Error(`not a DNS name or IP address: ${JSON.stringify(host)}`);
}

const run = (openssl: string, args: string[]): Promise<string> => runOpenssl(openssl, args);

function altLines(hosts: string[]): string[] {
  const alt = { DNS: 0, IP: 0 };
  return hosts.map((h) => {
    const kind = sanKind(h);
    alt[kind] += 1;
    return `${kind}.${alt[kind]} = ${h}`;
  });
}

function opensslConfig(brokerHosts: string[], configHosts: string[]): string {
  return [
    '[req]',
    'distinguished_name = dn',
    'prompt = no',
    '[dn]',
    'CN = PiCam Guardian',
    '[v3_ca]',
    'basicConstraints = critical,CA:TRUE',
    'keyUsage = critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    '[broker]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectAltName = @alt',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid,issuer',
    '[config_server]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'subjectAltName = @config_alt',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid,issuer',
    '[camera]',
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = clientAuth',
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid,issuer',
    '[alt]',
    ...altLines(brokerHosts),
    '[config_alt]',
    ...altLines(configHosts),
    '',
  ].join('\n');
}

/** A positive, non-zero 127-bit random serial as 0x-prefixed hex. */
function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return '0x' + b.toString('hex');
}

const writeAtomic = writeFileAtomic;

export async function makeCertificates(opts: MakeCertificatesOptions): Promise<MakeCertificatesResult> {
  const openssl = opts.openssl ?? 'openssl';
  const days = opts.days ?? DEFAULT_DAYS;
  const bits = opts.bits ?? DEFAULT_BITS;
  if (!Number.isInteger(days) || days < 1 || days > 36500) throw new Error(`days must be a whole number 1..36500, got ${days}`);
  if (!Number.isInteger(bits) || bits < 2048 || bits > 16384) throw new Error(`bits must be a whole number 2048..16384, got ${bits}`);
  const unique = (list: string[]) => [...new Set(list.map((h) => h.trim()).filter((h) => h !== ''))];
  const hosts = unique(opts.brokerHosts);
  if (hosts.length === 0) throw new Error('at least one broker host (DNS name or IP) is needed for the broker certificate');
  hosts.forEach(sanKind);
  const configHosts = opts.configServerHosts?.length ? unique(opts.configServerHosts) : hosts;
  if (configHosts.length === 0) throw new Error('at least one config server host (DNS name or IP) is needed');
  configHosts.forEach(sanKind);

  const dir = resolve(opts.dir);
  const files = Object.fromEntries(Object.entries(FILE_NAMES).map(([k, name]) => [k, join(dir, name)])) as Record<CertFile, string>;
  const created: string[] = [];
  const kept: string[] = [];

  const caKeyExists = existsSync(files.caKey);
  const caCertExists = existsSync(files.caCert);
  const makeCa = opts.force === true || (!caKeyExists && !caCertExists);
  if (opts.renew === true && !caKeyExists && !caCertExists && opts.force !== true)
    throw new Error(`--renew (renew: true) re-issues from an existing CA, but there is none in ${dir}; run without --renew to create one`);
  if (!makeCa && caKeyExists !== caCertExists) {
    const [have, missing] = caKeyExists ? [files.caKey, files.caCert] : [files.caCert, files.caKey];
    throw new Error(
      `${have} exists but ${missing} does not; refusing to overwrite an existing CA. Restore the missing file, or pass --force (force: true) to create a new CA`,
    );
  }
  if (!existsSync(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
  }

  const work = await mkdtemp(join(tmpdir(), 'picam-certs-'));
  try {
    const cnf = join(work, 'openssl.cnf');
    await writeFile(cnf, opensslConfig(hosts, configHosts), { mode: 0o600 });

    if (!makeCa) {
      // Keep the CA, but make sure its key and certificate belong together.
      const [fromKey, fromCert] = await Promise.all([
        run(openssl, ['pkey', '-in', files.caKey, '-pubout']),
        run(openssl, ['x509', '-in', files.caCert, '-noout', '-pubkey']),
      ]);
      if (fromKey.trim() !== fromCert.trim())
        throw new Error(
          `${files.caKey} does not match ${files.caCert}; refusing to overwrite an existing CA. Pass --force (force: true) to create a new CA`,
        );
      kept.push(files.caKey, files.caCert);
    }

    const genKey = () => run(openssl, ['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`]);
    const writeKey = async (path: string, pem: string) => {
      await writeAtomic(path, pem, 0o600);
      created.push(path);
    };
    const writeCert = async (path: string, pem: string) => {
      await writeAtomic(path, pem, 0o644);
      created.push(path);
    };

    if (makeCa) {
      const key = await genKey();
      const keyTmp = join(work, 'ca.key');
      await writeFile(keyTmp, key, { mode: 0o600 });
      const cert = await run(openssl, [
        'req', '-x509', '-new', '-config', cnf, '-extensions', 'v3_ca', '-key', keyTmp, '-sha256',
        '-days', String(days), '-set_serial', serial(), '-subj', '/O=PiCam Guardian/CN=PiCam Guardian CA',
      ]); // prettier-ignore
      await writeKey(files.caKey, key);
      await writeCert(files.caCert, cert);
    }

    const leaves: Array<{ keyPath: string; certPath: string; ext: string; subject: string }> = [
      { keyPath: files.brokerKey, certPath: files.brokerCert, ext: 'broker', subject: `/O=PiCam Guardian/CN=${hosts[0]}` },
      {
        keyPath: files.configServerKey,
        certPath: files.configServerCert,
        ext: 'config_server',
        subject: `/O=PiCam Guardian/CN=${configHosts[0]}`,
      },
      { keyPath: files.clientKey, certPath: files.clientCert, ext: 'camera', subject: `/O=PiCam Guardian/CN=${CAMERA_CLIENT_CN}` },
    ];
    for (const leaf of leaves) {
      const complete = existsSync(leaf.keyPath) && existsSync(leaf.certPath);
      if (complete && !makeCa && opts.renew !== true) {
        kept.push(leaf.keyPath, leaf.certPath);
        continue;
      }
      const key = await genKey();
      const keyTmp = join(work, `${leaf.ext}.key`);
      const csrTmp = join(work, `${leaf.ext}.csr`);
      await writeFile(keyTmp, key, { mode: 0o600 });
      await run(openssl, ['req', '-new', '-config', cnf, '-key', keyTmp, '-subj', leaf.subject, '-out', csrTmp]);
      const cert = await run(openssl, [
        'x509', '-req', '-in', csrTmp, '-CA', files.caCert, '-CAkey', files.caKey, '-set_serial', serial(),
        '-days', String(days), '-sha256', '-extfile', cnf, '-extensions', leaf.ext,
      ]); // prettier-ignore
      await writeKey(leaf.keyPath, key);
      await writeCert(leaf.certPath, cert);
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  const authority = new CameraCertificateAuthority(dir, { openssl });
  const crl = makeCa ? await authority.refreshCrl() : await authority.ensureCrl();
  return { created, kept, files, crl };
}

export const CERTS_USAGE = `usage: picam-guardian certs [--dir DIR] [--host NAME]... [--config-host NAME]... [--days N] [--bits N] [--force | --renew]

Creates the CA, the broker certificate, the config server (HTTPS) certificate
and the one client certificate shared by every camera (CN camera_client), with
openssl. Existing files are kept.

  --dir DIR    where the files go (default $PICAM_CERT_DIR, else ${DEFAULT_DIR}; created mode 0700)
  --host NAME  DNS name or IP the cameras use to reach the broker; repeatable
               (default: $PICAM_BROKER_HOSTS, comma-separated, else this machine's
               hostname, hostname.local, 127.0.0.1)
  --config-host NAME
               DNS name or IP cameras dial for their config server (their
               configSrvHost without ":80", usually this server's LAN IP); repeatable
               (default: $PICAM_CONFIG_SERVER_HOSTS, comma-separated, else the --host names)
  --days N     validity of every certificate in days (default ${DEFAULT_DAYS})
  --bits N     RSA key size (default ${DEFAULT_BITS})
  --renew      re-issue the broker, config server and camera certificates (new keys) from the existing CA
  --force      replace the CA too (every camera must then fetch the new files)
  --help       this text`;

function defaultHosts(): string[] {
  const name = hostname().trim();
  const hosts: string[] = [];
  try {
    sanKind(name);
    hosts.push(name);
    if (!name.includes('.')) hosts.push(`${name}.local`);
  } catch {
    // an odd hostname: fall back to the loopback address only
  }
  hosts.push('127.0.0.1');
  return hosts;
}

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new Error(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

export async function certsCli(argv: string[], log: (line: string) => void): Promise<number> {
  try {
    const { values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: {
        dir: { type: 'string', default: process.env.PICAM_CERT_DIR || DEFAULT_DIR },
        host: { type: 'string', multiple: true },
        'config-host': { type: 'string', multiple: true },
        days: { type: 'string' },
        bits: { type: 'string' },
        force: { type: 'boolean', default: false },
        renew: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      log(CERTS_USAGE);
      return 0;
    }
    if (values.force && values.renew) throw new Error('--force and --renew cannot be combined (--force already re-issues everything)');
    const days = wholeNumber('--days', values.days);
    const bits = wholeNumber('--bits', values.bits);
    if (bits !== undefined && (bits < 2048 || bits > 16384)) throw new Error(`--bits must be between 2048 and 16384, got ${bits}`);
    if (days !== undefined && (days < 1 || days > 36500)) throw new Error(`--days must be between 1 and 36500, got ${days}`);
    const fromEnv = (name: string) =>
      (process.env[name] ?? '')
        .split(',')
        .map((h) => h.trim())
        .filter(Boolean);
    const brokerHosts = values.host?.length
      ? values.host
      : fromEnv('PICAM_BROKER_HOSTS').length
        ? fromEnv('PICAM_BROKER_HOSTS')
        : defaultHosts();
    const configServerHosts = values['config-host']?.length ? values['config-host'] : fromEnv('PICAM_CONFIG_SERVER_HOSTS');
    const r = await makeCertificates({
      dir: values.dir,
      brokerHosts,
      configServerHosts,
      days,
      bits,
      force: values.force,
      renew: values.renew,
    });

    const state = (p: string) => (r.created.includes(p) ? 'created' : 'kept   ');
    for (const k of Object.keys(FILE_NAMES) as CertFile[]) log(`${state(r.files[k])} ${r.files[k]}`);
    log(`broker certificate names: ${brokerHosts.join(', ')}`);
    log(`config server certificate names: ${(configServerHosts.length ? configServerHosts : brokerHosts).join(', ')}`);
    log('');
    log('next steps:');
    log(`  Mosquitto (e.g. /etc/mosquitto/conf.d/picam-tls.conf; copy the key so the mosquitto user can read it):`);
    log(`    listener 8883`);
    log(`    cafile   ${r.files.caCert}`);
    log(`    certfile ${r.files.brokerCert}`);
    log(`    keyfile  ${r.files.brokerKey}`);
    log(`    require_certificate true`);
    log(`    tls_version tlsv1.2`);
    log(`  The gateway serves HTTPS with ${r.files.configServerCert} (PICAM_GATEWAY_HTTPS=true).`);
    log(`  Cameras fetch from GET /hivecam/cert/{camera_id}:`);
    log(`    caCertificate  <- ${r.files.caCert}`);
    log(`    certificatePem <- ${r.files.clientCert}`);
    log(`    privateKey     <- ${r.files.clientKey}`);
    log(`  Files to copy to a camera: picam-guardian camera provision <server LAN IP> --dir ${values.dir}`);
    log(`  Per-camera certificates (PICAM_CERT_MODE=per-camera): the gateway issues them from this CA; Mosquitto's`);
    log(`    crlfile is ${r.crl} (copied to /etc/mosquitto/picam/certs/ by cloud/install.sh).`);
    log(`  Keep ${r.files.caKey} private (mode 0600); never copy it to the broker's or cameras' config.`);
    if (values.force) log('  A new CA was created: restart Mosquitto and have every camera fetch its certificates again.');
    else if (r.created.length > 0 && !r.created.includes(r.files.caCert))
      log('  New leaf certificates: restart Mosquitto (broker), redeploy the gateway, and/or have the cameras fetch theirs again.');
    return 0;
  } catch (err) {
    log(`picam-guardian certs: ${(err as Error).message}`);
    return 1;
  }
}
