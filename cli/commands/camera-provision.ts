/**
 * `picam-guardian camera provision <server-address>`: the files an installer
 * copies to a VBC01 camera so it finds and trusts this server, as the real
 * platform provisions cameras (vbc01-protocol.md §2), and the exact steps.
 *
 *   root-certs/mqttCA.crt   -> /root/certs/mqttCA.crt   our CA (broker and config server trust)
 *   root-certs/mqtt.pem     -> /root/certs/mqtt.pem     shared client certificate, then its key
 *   root-certs/mqtt.key     -> /root/certs/mqtt.key     shared client key
 *                           (with --camera ID: that camera's own certificate and key, issued by
 *                           our CA as the gateway issues them in per-camera mode)
 *   append-ca.crt           appended to /cali/certs/mqttCA.crt (after the VeriSign CA already there)
 *                           and to /etc/ssl/certs/ca-bundle.trust.crt (curl's trust for HTTPS)
 *   set-config-server.sql   run on /cali/master_ctrl.db: serverConf.configSrvHost = "<address>:<port>"
 *   STEPS.txt               what is printed
 *
 * Only the CA's certificate and the shared client pair leave the certificates
 * folder: the CA's private key never does (it would let anyone mint
 * certificates our broker and config server accept).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CERT_FILE_NAMES } from '../../nodes/lib/cert-files';
import { CameraCertificateAuthority } from '../../nodes/lib/camera-certs/authority';
import { vbc01IdProblem } from '../../nodes/lib/vbc01';
import { DEFAULT_DIR, sanKind } from './certs';

export interface ProvisionOptions {
  /** the address the camera dials: this server's LAN IP (or a name in the config server certificate) */
  host: string;
  /** the config server's port (80, what real cameras expect) */
  port: number;
  certDir: string;
  outDir: string;
  /**
   * Per-camera certificates (PICAM_CERT_MODE=per-camera): the camera whose own certificate goes
   * into mqtt.pem/mqtt.key instead of the shared one (issued now, or the one it already has).
   */
  cameraId?: string;
}

export interface ProvisionResult {
  files: string[];
  steps: string[];
  /** the config server certificate does not name `host`: the camera would fail with curl error 51 */
  warnings: string[];
}

const pem = (text: string) => `${text.trim()}\n`;

/** serverConf row 1, as the camera's SQLite settings file has it (the docs' app_info table does not exist). */
export function configServerSql(host: string, port: number): string {
  const value = `${host}:${port}`.replace(/'/g, "''");
  return `UPDATE serverConf SET configSrvHost = '${value}' WHERE ID = 1;\nSELECT ID, configSrvHost FROM serverConf;\n`;
}

function checkCovers(certPem: string, host: string): string | undefined {
  const cert = new X509Certificate(certPem);
  const ok = isIP(host) ? cert.checkIP(host) : cert.checkHost(host);
  return ok
    ? undefined
    : `the config server certificate does not name ${host}: the camera would refuse it (curl error 51). Run: picam-guardian certs --renew --config-host ${host}`;
}

export async function provisionCamera(o: ProvisionOptions): Promise<ProvisionResult> {
  sanKind(o.host);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new Error(`--port must be 1..65535, got ${o.port}`);
  const certDir = resolve(o.certDir);
  const read = async (name: string) => {
    const path = join(certDir, name);
    if (!existsSync(path))
      throw new Error(`${path} does not exist: run picam-guardian certs --dir ${certDir} --config-host ${o.host} first`);
    return readFile(path, 'utf8');
  };
  if (o.cameraId !== undefined) {
    const problem = vbc01IdProblem(o.cameraId);
    if (problem) throw new Error(`--camera: ${problem}`);
  }
  const ca = await read(CERT_FILE_NAMES.caCert);
  const [clientCert, clientKey] =
    o.cameraId === undefined
      ? await Promise.all([read(CERT_FILE_NAMES.clientCert), read(CERT_FILE_NAMES.clientKey)])
      : await new CameraCertificateAuthority(certDir).bundle(o.cameraId).then((b) => [b.certificatePem, b.privateKey] as const);
  const warnings: string[] = [];
  const configCert = join(certDir, CERT_FILE_NAMES.configServerCert);
  if (existsSync(configCert)) {
    const problem = checkCovers(await readFile(configCert, 'utf8'), o.host);
    if (problem) warnings.push(problem);
  } else warnings.push(`${configCert} does not exist: run picam-guardian certs --config-host ${o.host}`);

  const out = resolve(o.outDir);
  await mkdir(join(out, 'root-certs'), { recursive: true, mode: 0o700 });
  await chmod(out, 0o700);
  const files: Array<[string, string, number]> = [
    ['root-certs/mqttCA.crt', pem(ca), 0o644],
    ['root-certs/mqtt.pem', pem(clientCert) + pem(clientKey), 0o600],
    ['root-certs/mqtt.key', pem(clientKey), 0o600],
    ['append-ca.crt', pem(ca), 0o644],
    ['set-config-server.sql', configServerSql(o.host, o.port), 0o644],
  ];
  const steps = provisionSteps(o.host, o.port, out, o.cameraId);
  files.push(['STEPS.txt', `${steps.join('\n')}\n`, 0o644]);
  for (const [name, data, mode] of files) {
    await writeFile(join(out, name), data, { mode });
    await chmod(join(out, name), mode);
  }
  return { files: files.map(([name]) => join(out, name)), steps, warnings };
}

export function provisionSteps(host: string, port: number, out: string, cameraId?: string): string[] {
  const pair = cameraId ? `camera ${cameraId}'s own client certificate (per-camera mode)` : 'the shared client certificate';
  const cam = '<camera IP>';
  return [
    `Provisioning a VBC01 camera for the config server at ${host}:${port} (files in ${out})`,
    '',
    'The camera is reached by FTP as root (as the real platform does). Work in this folder:',
    `  cd ${out}`,
    '',
    '1. Back up what you change (keep these files: they undo the steps):',
    `  curl -sS --user root -o master_ctrl.db.orig ftp://${cam}/cali/master_ctrl.db`,
    `  curl -sS --user root -o cali-mqttCA.crt.orig ftp://${cam}/cali/certs/mqttCA.crt`,
    `  curl -sS --user root -o ca-bundle.trust.crt.orig ftp://${cam}/etc/ssl/certs/ca-bundle.trust.crt`,
    '',
    '2. Point the camera at this server (table serverConf, row ID=1, column configSrvHost):',
    '  cp master_ctrl.db.orig master_ctrl.db',
    '  sqlite3 master_ctrl.db < set-config-server.sql     # prints: 1|' + `${host}:${port}`,
    `  curl -sS --user root -T master_ctrl.db ftp://${cam}/cali/master_ctrl.db`,
    '',
    "3. Trust our CA: append it to the camera's CA files (keep what is there):",
    '  cat cali-mqttCA.crt.orig append-ca.crt > cali-mqttCA.crt',
    '  cat ca-bundle.trust.crt.orig append-ca.crt > ca-bundle.trust.crt',
    `  curl -sS --user root -T cali-mqttCA.crt ftp://${cam}/cali/certs/mqttCA.crt`,
    `  curl -sS --user root -T ca-bundle.trust.crt ftp://${cam}/etc/ssl/certs/ca-bundle.trust.crt`,
    '',
    `4. The broker trust and ${pair}:`,
    `  curl -sS --user root -T root-certs/mqttCA.crt ftp://${cam}/root/certs/mqttCA.crt`,
    `  curl -sS --user root -T root-certs/mqtt.pem ftp://${cam}/root/certs/mqtt.pem`,
    `  curl -sS --user root -T root-certs/mqtt.key ftp://${cam}/root/certs/mqtt.key`,
    '',
    '5. Register the camera (its id: 32 upper-case hex digits) or open enrolment, then reboot it:',
    '  curl -u api:PASSWORD -H \'content-type: application/json\' -d \'{"cameraId":"<CAMERA ID>"}\' https://<dashboard>/api/gateway/register',
    '  Allow 1-2 minutes. The runtime log then shows GET /hivecam/<id> and GET /hivecam/cert/<id> → 200,',
    `  and the camera connects to the broker on 8883 with ${pair}.`,
    '',
    `Check from a machine with the CA: curl --tlsv1.2 --tls-max 1.2 --cacert root-certs/mqttCA.crt https://${host}:${port}/health`,
    "Our CA's private key is not among these files and must never go to a camera.",
  ];
}

export const PROVISION_USAGE = `usage: picam-guardian camera provision <server address> [--port 80] [--dir CERTS] [--out DIR] [--camera ID]

Writes the files to copy to a VBC01 camera (our CA, the shared client
certificate and key, the SQL that sets its configSrvHost) and prints the
exact steps. The address is what the camera dials: this server's LAN IP
(it must be in the config server certificate: picam-guardian certs --config-host).

  --port N    the config server's port (default 80, what cameras expect)
  --dir DIR   the certificates (default $PICAM_CERT_DIR, else ${DEFAULT_DIR})
  --out DIR   where the files go (default camera-provision-<address>)
  --camera ID per-camera certificates (PICAM_CERT_MODE=per-camera): that camera's own
              certificate and key instead of the shared pair, issued by our CA as the
              gateway issues them (run as the runtime's user, e.g. sudo -u picam, so
              the runtime can still read what this writes)`;

export async function cameraCli(argv: string[], log: (line: string) => void): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        port: { type: 'string', default: '80' },
        dir: { type: 'string', default: process.env.PICAM_CERT_DIR || DEFAULT_DIR },
        out: { type: 'string' },
        camera: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help) {
      log(PROVISION_USAGE);
      return 0;
    }
    const [sub, host, ...rest] = positionals;
    if (sub !== 'provision' || !host || rest.length) throw new Error(`expected: camera provision <server address>\n${PROVISION_USAGE}`);
    if (!/^\d+$/.test(values.port)) throw new Error(`--port must be a whole number, got ${JSON.stringify(values.port)}`);
    const r = await provisionCamera({
      host,
      port: Number(values.port),
      certDir: values.dir,
      outDir: values.out ?? `camera-provision-${host}`,
      cameraId: values.camera,
    });
    for (const w of r.warnings) log(`warning: ${w}`);
    for (const f of r.files) log(`wrote ${f}`);
    log('');
    for (const line of r.steps) log(line);
    return 0;
  } catch (err) {
    log(`picam-guardian camera: ${(err as Error).message}`);
    return 1;
  }
}
