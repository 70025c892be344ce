/**
 * Run inside a fresh network namespace whose loopback carries multicast (see
 * test/nodes/ipcam/discovery.multicast.test.ts): a fake camera joins the
 * WS-Discovery group, discover() probes the real group address, and the
 * cameras found are printed as JSON on stdout.
 */
import { discover } from '../../nodes/ipcam/discovery';
import { FakeDiscoveryResponder } from './fake-ws-discovery';

async function main(): Promise<void> {
  const camera = new FakeDiscoveryResponder([
    { uuid: 'mcast-1', xaddr: 'http://127.0.0.1:8080/onvif/device_service', name: 'Garage', hardware: 'IPC-T1' },
  ]);
  await camera.start(true);
  try {
    const found = await discover({ durationMs: 1500 });
    process.stdout.write(JSON.stringify({ found, probes: camera.probes.length }));
  } finally {
    await camera.close();
  }
}

main().catch((err: Error) => {
  process.stderr.write(err.stack ?? err.message);
  process.exit(1);
});
