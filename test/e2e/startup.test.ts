/**
 * A runtime that is still starting refuses requests with 503 instead of
 * serving them half-ready: an editor login that arrived before Node-RED's
 * storage was initialised used to crash the process (seen in CI as a dead
 * runtime in the deploy test).
 */
import assert from 'node:assert/strict';
import { after, it } from 'node:test';
import { adminLogin, cloudRoleEnv, startCli, type CliProcess } from '../support/cli';
import { freePort } from '../support/ports';
import { tempDir } from '../support/tmp';

const dir = tempDir('picam-startup-');
let runtime: CliProcess | undefined;

// Normally stopped by the test itself, before the temporary directory goes.
after(() => runtime?.stop());

it('answers 503 while starting, survives editor logins meanwhile, then logs them in', async () => {
  const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
  runtime = startCli(['start', '--role', 'cloud'], cloudRoleEnv(dir, ports));
  const login = () =>
    adminLogin(`http://127.0.0.1:${ports.http}/admin`).then(
      (r) => r.status,
      () => 0, // not listening yet
    );
  const seen = new Set<number>();
  const deadline = Date.now() + 60_000;
  for (;;) {
    const status = await login();
    seen.add(status);
    if (status === 200) break;
    assert.ok(Date.now() < deadline, `no login within 60 s; statuses ${[...seen].join(', ')}\n${runtime.output()}`);
    assert.ok([0, 503].includes(status), `while starting: ${status}\n${runtime.output()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(seen.has(503), `the starting window was seen and refused (statuses: ${[...seen].join(', ')})`);
  const health = await fetch(`http://127.0.0.1:${ports.http}/healthz`);
  assert.equal(health.status, 200);
  assert.equal(await runtime.stop(), 0, runtime.output());
});
