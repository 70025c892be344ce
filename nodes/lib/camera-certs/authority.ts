/**
 * A client certificate per camera (PICAM_CERT_MODE=per-camera): our CA (the one
 * `picam-guardian certs` made, ca.key beside ca.crt) issues each camera its own
 * certificate with the camera id as its common name, so the broker can take the
 * camera's identity from the certificate instead of from the client id the
 * camera claims. Removing a camera revokes its certificate: the index marks it,
 * its key is deleted, and the CRL Mosquitto reads (`crlfile`) is written again.
 *
 *   {certDir}/cameras/index.json      every certificate issued: serial, camera, expiry, revoked when
 *   {certDir}/cameras/{ID}.crt|.key   the camera's current certificate and key (0600, served to it)
 *   {certDir}/cameras.crl             the CRL, signed by our CA (0644: Mosquitto's user reads it)
 *
 * The gateway node writes (and `picam-guardian camera provision --camera`); the
 * broker only reads the index. Writes are serialised through one queue per
 * object and a lock file between processes, files are replaced by rename, and
 * keys never reach a log (openssl's output is the only copy until the 0600
 * file is written).
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../atomic-file';
import { CERT_FILE_NAMES } from '../cert-files';
import { runOpenssl } from '../openssl';
import { VBC01_CAMERA_ID } from '../vbc01';

/** Under the certificate directory: the per-camera certificates and their index. */
export const CAMERA_CERTS_DIR = 'cameras';
/** Under the certificate directory: the CRL of revoked camera certificates. */
export const CAMERA_CRL_FILE = 'cameras.crl';

/** One certificate the authority issued. */
export interface IssuedCertificate {
  cameraId: string;
  /** upper-case hex, no leading zeros (how normalSerial writes every serial) */
  serial: string;
  issuedMs: number;
  /** ISO time the certificate expires */
  notAfter: string;
  /** when it was revoked (camera removed, or superseded by a new one); null while valid */
  revokedMs: number | null;
}

interface Index {
  version: 1;
  certificates: IssuedCertificate[];
}

/** What `GET /hivecam/cert/{id}` hands one camera in per-camera mode (the keys the firmware reads). */
export interface CameraCertificateBundle {
  certificatePem: string;
  privateKey: string;
  caCertificate: string;
}

/** `current`: issued and not revoked; `revoked`; `unknown`: never issued here (the shared certificate, another CA's). */
export type CertificateStatus = 'current' | 'revoked' | 'unknown';

export interface AuthorityOptions {
  openssl?: string;
  /** validity of a camera certificate in days (default 3650, as every certificate `picam-guardian certs` makes) */
  days?: number;
  /** RSA key size (default 2048, what the cameras are known to work with) */
  bits?: number;
}

/** A serial as Node (`X509Certificate.serialNumber`) or openssl prints it, in one spelling. */
export function normalSerial(serial: string): string {
  return serial
    .replace(/^0x/i, '')
    .replace(/:/g, '')
    .toUpperCase()
    .replace(/^0+(?=.)/, '');
}

export class CameraCertificateError extends Error {
  override readonly name = 'CameraCertificateError';
}

/** The extensions of a camera certificate: a TLS client, nothing else (as certs.ts's shared one). */
const OPENSSL_CONFIG = [
  '[req]',
  'distinguished_name = dn',
  'prompt = no',
  '[dn]',
  'CN = PiCam Guardian camera',
  '[camera]',
  'basicConstraints = critical,CA:FALSE',
  'keyUsage = critical,digitalSignature,keyEncipherment',
  'extendedKeyUsage = clientAuth',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid,issuer',
  '[ca]',
  'default_ca = cameras',
  '[cameras]',
  'database = index.txt',
  'default_md = sha256',
  // The CRL is written again at every revocation and at every start of the gateway; a CRL past
  // its next update would make Mosquitto refuse every camera, so it is far away.
  'default_crl_days = 3650',
  'crl_extensions = crl_ext',
  '[crl_ext]',
  'authorityKeyIdentifier = keyid:always',
  '',
].join('\n');

const LOCK_WAIT_MS = 30_000;
const LOCK_STALE_MS = 120_000;

/** openssl's index time: UTCTime until 2049, GeneralizedTime after (RFC 5280 §4.1.2.5). */
function indexTime(ms: number): string {
  const iso = new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return `${Number(iso.slice(0, 4)) < 2050 ? iso.slice(2) : iso}Z`;
}

/** Even-length upper-case hex, as openssl's index wants a serial. */
const indexSerial = (serial: string) => (serial.length % 2 ? `0${serial}` : serial);

export class CameraCertificateAuthority {
  private readonly dir: string;
  private readonly index: string;
  private queue: Promise<unknown> = Promise.resolve();
  private cached?: { mtimeMs: number; index: Index };

  constructor(
    private readonly certDir: string,
    private readonly opts: AuthorityOptions = {},
  ) {
    this.dir = join(certDir, CAMERA_CERTS_DIR);
    this.index = join(this.dir, 'index.json');
  }

  get crlFile(): string {
    return join(this.certDir, CAMERA_CRL_FILE);
  }

  /**
   * The camera's certificate, key and our CA: the one issued before while it is valid and
   * signed by the current CA (a camera fetches at every boot and must get the same one),
   * else a new one (the old one revoked as superseded).
   */
  bundle(cameraId: string, nowMs = Date.now()): Promise<CameraCertificateBundle> {
    if (!VBC01_CAMERA_ID.test(cameraId)) return Promise.reject(new CameraCertificateError(`not a camera id: ${JSON.stringify(cameraId)}`));
    return this.serial(async () => {
      const ca = await this.readCa();
      const kept = await this.currentFiles(cameraId, ca, nowMs);
      if (kept) return { ...kept, caCertificate: ca.trim() };
      await this.revokeIn(cameraId, nowMs);
      const issued = await this.issue(cameraId, nowMs);
      return { ...issued, caCertificate: ca.trim() };
    });
  }

  /**
   * Revokes every certificate of the camera, deletes its key and writes the CRL again; the
   * serials revoked (none, and nothing written: it had none, e.g. a camera of the shared mode).
   */
  revoke(cameraId: string, nowMs = Date.now()): Promise<string[]> {
    return this.serial(() => this.revokeIn(cameraId, nowMs));
  }

  /** Writes the CRL when there is none yet (Mosquitto's `crlfile` must exist before a camera was ever removed). */
  ensureCrl(): Promise<string> {
    return this.serial(async () => {
      if (!existsSync(this.crlFile)) await this.writeCrl(await this.readIndex());
      return this.crlFile;
    });
  }

  /** Writes the CRL again from the index (fresh dates; at the gateway's start). */
  refreshCrl(): Promise<string> {
    return this.serial(async () => {
      await this.writeCrl(await this.readIndex());
      return this.crlFile;
    });
  }

  async list(): Promise<IssuedCertificate[]> {
    return (await this.readIndex()).certificates;
  }

  /**
   * Whether a certificate the TLS layer accepted is one this authority issued to that camera
   * and has not revoked. Read from the index on disk (cached while the file is unchanged), so
   * a broker in the same runtime sees a revocation at the camera's next connection.
   */
  async status(serial: string, cameraId: string): Promise<CertificateStatus> {
    const wanted = normalSerial(serial);
    const entry = (await this.readIndex()).certificates.find((c) => c.serial === wanted && c.cameraId === cameraId);
    if (!entry) return 'unknown';
    return entry.revokedMs === null ? 'current' : 'revoked';
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const locked = () => this.withLockFile(task);
    const run = this.queue.then(locked, locked);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /**
   * One writer at a time between processes too (the runtime's gateway and the provision
   * command): `cameras/.lock`, created exclusively. A lock older than LOCK_STALE_MS was left by
   * a process that died holding it (a write takes well under a second) and is taken over.
   */
  private async withLockFile<T>(task: () => Promise<T>): Promise<T> {
    await this.ensureDir();
    const lock = join(this.dir, '.lock');
    const giveUp = Date.now() + LOCK_WAIT_MS;
    for (;;) {
      try {
        await (await open(lock, 'wx', 0o600)).close();
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const since = await stat(lock).then(
          (s) => Date.now() - s.mtimeMs,
          () => 0,
        );
        if (since > LOCK_STALE_MS) await rm(lock, { force: true });
        else if (Date.now() > giveUp)
          throw new CameraCertificateError(`${lock} is held by another process (issuing or revoking a certificate): try again`);
        else await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await task();
    } finally {
      await rm(lock, { force: true });
    }
  }

  private async readCa(): Promise<string> {
    const path = join(this.certDir, CERT_FILE_NAMES.caCert);
    if (!existsSync(path) || !existsSync(join(this.certDir, CERT_FILE_NAMES.caKey)))
      throw new CameraCertificateError(
        `per-camera certificates need our CA (${CERT_FILE_NAMES.caCert} and ${CERT_FILE_NAMES.caKey}) in ${this.certDir}: run "picam-guardian certs --dir ${this.certDir}"`,
      );
    return readFile(path, 'utf8');
  }

  private async readIndex(): Promise<Index> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.index)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, certificates: [] };
      throw err;
    }
    if (this.cached?.mtimeMs === mtimeMs) return this.cached.index;
    const text = await readFile(this.index, 'utf8');
    let index: Index;
    try {
      index = JSON.parse(text) as Index;
    } catch {
      throw new CameraCertificateError(`${this.index} is not valid JSON: restore it from the backup (it lists every certificate issued)`);
    }
    if (index?.version !== 1 || !Array.isArray(index.certificates))
      throw new CameraCertificateError(`${this.index} is not a camera certificate index (version 1)`);
    this.cached = { mtimeMs, index };
    return index;
  }

  private async writeIndex(index: Index): Promise<void> {
    await this.ensureDir();
    await writeFileAtomic(this.index, `${JSON.stringify(index, null, 1)}\n`, 0o600);
    this.cached = undefined;
  }

  private async ensureDir(): Promise<void> {
    if (existsSync(this.dir)) return;
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await chmod(this.dir, 0o700);
  }

  private files(cameraId: string): { cert: string; key: string } {
    return { cert: join(this.dir, `${cameraId}.crt`), key: join(this.dir, `${cameraId}.key`) };
  }

  /** The camera's certificate and key on disk when they are current: listed, unrevoked, unexpired, from this CA. */
  private async currentFiles(cameraId: string, caPem: string, nowMs: number) {
    const { cert, key } = this.files(cameraId);
    if (!existsSync(cert) || !existsSync(key)) return undefined;
    const [certificatePem, privateKey] = await Promise.all([readFile(cert, 'utf8'), readFile(key, 'utf8')]);
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(certificatePem);
    } catch {
      return undefined; // a damaged file: issued again
    }
    const ca = new X509Certificate(caPem);
    const fromThisCa = x509.checkIssued(ca) && x509.verify(ca.publicKey);
    const valid = Date.parse(x509.validTo) > nowMs;
    const listed = (await this.status(x509.serialNumber, cameraId)) === 'current';
    return fromThisCa && valid && listed ? { certificatePem: certificatePem.trim(), privateKey: privateKey.trim() } : undefined;
  }

  private async issue(cameraId: string, nowMs: number): Promise<{ certificatePem: string; privateKey: string }> {
    const openssl = this.opts.openssl ?? 'openssl';
    const work = await mkdtemp(join(tmpdir(), 'picam-camera-cert-'));
    try {
      const cnf = join(work, 'openssl.cnf');
      const keyTmp = join(work, 'camera.key');
      const csr = join(work, 'camera.csr');
      await writeFile(cnf, OPENSSL_CONFIG, { mode: 0o600 });
      const privateKey = await runOpenssl(openssl, [
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        `rsa_keygen_bits:${this.opts.bits ?? 2048}`,
      ]);
      await writeFile(keyTmp, privateKey, { mode: 0o600 });
      await runOpenssl(openssl, ['req', '-new', '-config', cnf, '-key', keyTmp, '-subj', `/O=PiCam Guardian/CN=${cameraId}`, '-out', csr]);
      const b = randomBytes(16);
      b[0] = (b[0]! & 0x7f) | 0x01; // positive and non-zero
      const certificatePem = await runOpenssl(openssl, [
        'x509', '-req', '-in', csr, '-CA', join(this.certDir, CERT_FILE_NAMES.caCert), '-CAkey', join(this.certDir, CERT_FILE_NAMES.caKey),
        '-set_serial', `0x${b.toString('hex')}`, '-days', String(this.opts.days ?? 3650), '-sha256', '-extfile', cnf, '-extensions', 'camera',
      ]); // prettier-ignore
      const x509 = new X509Certificate(certificatePem);
      await this.ensureDir();
      const { cert, key } = this.files(cameraId);
      await writeFileAtomic(key, privateKey, 0o600);
      await writeFileAtomic(cert, certificatePem, 0o600);
      const index = await this.readIndex();
      const entry: IssuedCertificate = {
        cameraId,
        serial: normalSerial(x509.serialNumber),
        issuedMs: nowMs,
        notAfter: new Date(x509.validTo).toISOString(),
        revokedMs: null,
      };
      await this.writeIndex({ version: 1, certificates: [...index.certificates, entry] });
      return { certificatePem: certificatePem.trim(), privateKey: privateKey.trim() };
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  private async revokeIn(cameraId: string, nowMs: number): Promise<string[]> {
    const index = await this.readIndex();
    const revoked: string[] = [];
    const certificates = index.certificates.map((c) => {
      if (c.cameraId !== cameraId || c.revokedMs !== null) return c;
      revoked.push(c.serial);
      return { ...c, revokedMs: nowMs };
    });
    const { cert, key } = this.files(cameraId);
    await Promise.all([rm(key, { force: true }), rm(cert, { force: true })]);
    if (revoked.length) {
      await this.writeIndex({ version: 1, certificates });
      await this.writeCrl({ version: 1, certificates });
    }
    return revoked;
  }

  /** The CRL from the index's revoked entries, signed by our CA with `openssl ca -gencrl`. */
  private async writeCrl(index: Index): Promise<void> {
    await this.readCa();
    const work = await mkdtemp(join(tmpdir(), 'picam-crl-'));
    try {
      const lines = index.certificates
        .filter((c) => c.revokedMs !== null)
        .map((c) =>
          ['R', indexTime(Date.parse(c.notAfter)), indexTime(c.revokedMs!), indexSerial(c.serial), 'unknown', `/CN=${c.cameraId}`].join(
            '\t',
          ),
        );
      await writeFile(join(work, 'openssl.cnf'), OPENSSL_CONFIG.replace('database = index.txt', `database = ${join(work, 'index.txt')}`));
      await writeFile(join(work, 'index.txt'), lines.map((l) => `${l}\n`).join(''));
      const crl = await runOpenssl(this.opts.openssl ?? 'openssl', [
        'ca', '-gencrl', '-config', join(work, 'openssl.cnf'), '-keyfile', join(this.certDir, CERT_FILE_NAMES.caKey),
        '-cert', join(this.certDir, CERT_FILE_NAMES.caCert),
      ]); // prettier-ignore
      await writeFileAtomic(this.crlFile, crl, 0o644);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
