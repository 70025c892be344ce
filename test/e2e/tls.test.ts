/**
 * Direct TLS: the cloud role serving HTTPS itself from PICAM_TLS_CERT and
 * PICAM_TLS_KEY (here the broker certificate `picam-guardian certs` makes, whose
 * names include 127.0.0.1), with no plain HTTP left on the port.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:https';
import { after, before, it } from 'node:test';
import { makeCertificates } from '../../cli/commands/certs';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';
import { waitFor } from '../support/wait';

const dir = tempDir('picam-tls-');
let runtime: CliProcess;
let port = 0;
let ca: Buffer;

function httpsGet(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path, ca, headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

before(async () => {
  const certs = await makeCertificates({ dir: `${dir}/certs`, brokerHosts: ['localhost', '127.0.0.1'], bits: 2048, days: 2 });
  ca = readFileSync(certs.files.caCert);
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  port = ports.http;
  runtime = startCli(
    ['start', '--role', 'cloud'],
    cloudRoleEnv(`${dir}/data`, ports, { PICAM_TLS_CERT: certs.files.brokerCert, PICAM_TLS_KEY: certs.files.brokerKey }),
  );
  await waitFor(
    'HTTPS',
    async () => ((await httpsGet('/healthz').catch(() => undefined))?.status === 200 ? true : undefined),
    RUNTIME_START_MS,
  );
});

after(async () => {
  assert.equal(await runtime.stop(), 0, runtime.output());
});

it('serves the API and health over HTTPS with the configured certificate', async () => {
  const health = await httpsGet('/healthz');
  assert.equal(JSON.parse(health.body).status, 'ok');
  assert.equal((await httpsGet('/api/status')).status, 401, 'still behind the login');
  assert.equal((await httpsGet('/api/status', { authorization: API_AUTH })).status, 200);
});

it('speaks no plain HTTP on that port', async () => {
  const plain = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
  assert.ok(!plain?.ok, 'a plain HTTP request gets no answer');
});

it('refuses a certificate without its key, and files that do not exist', async () => {
  const { settingsFor } = await import('../../cli/runtime/roles');
  assert.match(settingsFor({ PICAM_TLS_CERT: '/x.pem' }).problems.join(), /PICAM_TLS_CERT and PICAM_TLS_KEY go together/);
  assert.match(
    settingsFor({ PICAM_TLS_CERT: '/nonexistent/c.pem', PICAM_TLS_KEY: '/nonexistent/k.pem' }).problems.join(),
    /PICAM_TLS_CERT names \/nonexistent\/c\.pem, which does not exist/,
  );
});
