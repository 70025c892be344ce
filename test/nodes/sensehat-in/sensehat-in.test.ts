/**
 * sensehat-in in a real Node-RED runtime: the simulated board, the IIO
 * backend on a fake sysfs tree, the joystick on a fake evdev device, control
 * messages, and a board that is missing or goes away.
 */
import assert from 'node:assert/strict';
import { closeSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sensehatNode from '../../../nodes/sensehat-in/sensehat-in';
import { keyPacket, KEY } from '../../support/evdev';
import { FakeSysfs, HTS221, LPS25H } from '../../support/fake-sysfs';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, sleep, spy, text, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();

async function load(props: Record<string, unknown>) {
  await helper.load(sensehatNode, [
    {
      id: 'sh',
      type: 'sensehat-in',
      environment: true,
      environmentInterval: 0.5,
      motion: false,
      joystick: false,
      correction: false,
      ...props,
      wires: [['out']],
    },
    { id: 'out', type: 'helper' },
  ]);
  return new Collector('out');
}

const withTopic = (c: Collector, topic: string) => c.msgs.filter((m) => m.topic === topic);
const statusText = (calls: Array<{ args: unknown[] }>) => calls.map((c) => (c.args[0] as { text?: string }).text ?? '');

describe('sensehat-in node', () => {
  it("sends environment readings from the simulated board on schedule, in the stock node's fields and units", async () => {
    const out = await load({ backend: 'simulated' });
    const statuses = spy('sh', 'status');
    const [first, second] = await out.wait(2, 3000);
    assert.equal(first!.topic, 'environment');
    const p = first!.payload;
    assert.ok(p.temperature > 10 && p.temperature < 40, `°C: ${p.temperature}`);
    assert.ok(p.humidity > 20 && p.humidity < 80, `%RH: ${p.humidity}`);
    assert.ok(p.pressure > 990 && p.pressure < 1030, `hPa: ${p.pressure}`);
    assert.equal(p.temperature, p.temperatureRaw, 'no correction asked for');
    assert.ok(second!.payload.colour.clear > 0, 'the v2 colour sensor');
    await until('status names the backend', () => statusText(statuses).some((t) => /^simulated: env 0.5 s/.test(t)), 3000);
  });

  it('corrects the temperature for the CPU heat and keeps the raw value', async () => {
    const cpuFile = join(dir, 'cpu-temp');
    writeFileSync(cpuFile, '62000\n');
    const out = await load({ backend: 'simulated', correction: true, correctionFactor: 1.5, correctionSmoothing: 1, cpuTempFile: cpuFile });
    const { payload } = await out.first(3000);
    assert.equal(payload.cpuTemperature, 62);
    const expected = payload.temperatureRaw - (62 - payload.temperatureRaw) / 1.5;
    assert.ok(Math.abs(payload.temperature - expected) < 0.02, `${payload.temperature} vs ${expected}`);
    assert.ok(payload.temperature < payload.temperatureRaw);
  });

  it('corrects the simulated board with its own simulated CPU, back to a room temperature', async () => {
    const out = await load({ backend: 'simulated', correction: true });
    const { payload } = await out.first(3000);
    assert.ok(payload.cpuTemperature > payload.temperatureRaw, 'the CPU is warmer than the board');
    assert.ok(payload.temperature < payload.temperatureRaw - 3, `${payload.temperature} from ${payload.temperatureRaw}`);
    assert.ok(payload.temperature > 15 && payload.temperature < 26, `a room's temperature: ${payload.temperature}`);
  });

  it('sends readings uncorrected, and says why, when the CPU temperature cannot be read', async () => {
    const out = await load({ backend: 'simulated', correction: true, cpuTempFile: join(dir, 'missing') });
    const statuses = spy('sh', 'status');
    const { payload } = await out.first(3000);
    assert.equal(payload.cpuTemperature, undefined);
    assert.equal(payload.temperature, payload.temperatureRaw);
    await until(
      'status says so',
      () => statusText(statuses).some((t) => /temperature not corrected: cannot read the CPU temperature/.test(t)),
      3000,
    );
  });

  it('reads the kernel IIO drivers, converting their units', async () => {
    const sys = new FakeSysfs();
    sys.addIio(HTS221);
    sys.addIio(LPS25H);
    const out = await load({ backend: 'auto', sysfsRoot: sys.sys });
    const { payload } = await out.first(3000);
    assert.deepEqual(
      { humidity: payload.humidity, pressure: payload.pressure, temperature: payload.temperature },
      { humidity: 45, pressure: 1013.25, temperature: 31.5 }, // 4150272 × 0.000024414 kPa; mean of 25.5 °C (HTS221) and 37.5 °C (LPS25H)
    );
  });

  it('keeps running when a device goes away, says so, and recovers when it is back', async () => {
    const sys = new FakeSysfs();
    sys.addIio(HTS221, 0);
    sys.addIio(LPS25H, 1);
    const out = await load({ backend: 'iio', sysfsRoot: sys.sys });
    const statuses = spy('sh', 'status');
    await out.first(3000);
    const spec = sys.unbindIio(0);
    await until('the failure on the status', () => statusText(statuses).some((t) => /environment: .*hts221/.test(t)), 3000);
    const before = out.msgs.length;
    sys.addIio(spec, 0);
    await until('readings again', () => out.msgs.length > before, 3000);
  });

  it('says there is no Sense HAT, without crashing, when there is none', async () => {
    const empty = new FakeSysfs();
    await load({ backend: 'auto', sysfsRoot: empty.sys, i2cBus: 99 });
    const statuses = spy('sh', 'status');
    const warnings = spy('sh', 'warn');
    await until('status', () => statusText(statuses).some((t) => /^no Sense HAT/.test(t)), 3000);
    await until('log line', () => warnings.some((w) => /no Sense HAT: .*i2c-99.*trying again/.test(text(w))), 3000);
  });

  it('sends joystick presses from the evdev device', async () => {
    const sys = new FakeSysfs();
    sys.addIio(HTS221);
    sys.addIio(LPS25H);
    const { n } = sys.addInput('Raspberry Pi Sense HAT Joystick');
    const fd = sys.openInput(n);
    try {
      const out = await load({ backend: 'iio', sysfsRoot: sys.sys, devRoot: sys.dev, joystick: true, environment: false });
      await sleep(300);
      writeSync(fd, keyPacket(KEY.UP, 1, 64));
      writeSync(fd, keyPacket(KEY.UP, 0, 64));
      await until('two joystick messages', () => withTopic(out, 'joystick').length >= 2, 3000);
      assert.deepEqual(
        withTopic(out, 'joystick').map((m) => m.payload),
        [
          { key: 'UP', state: 1 },
          { key: 'UP', state: 0 },
        ],
      );
    } finally {
      closeSync(fd);
    }
  });

  it('takes control messages: interval, off, read now; refuses others with a reason', async () => {
    const out = await load({ backend: 'simulated', environmentInterval: 60 });
    const errors = spy('sh', 'error');
    await out.first(3000); // the first reading comes at once
    node('sh').receive({ topic: 'read' });
    await out.wait(2, 3000);
    node('sh').receive({ topic: 'environment', payload: 0.5 });
    await out.wait(4, 3000);
    node('sh').receive({ payload: { environment: false } });
    await sleep(200);
    const stopped = out.msgs.length;
    await sleep(1200);
    assert.equal(out.msgs.length, stopped, 'no readings once switched off');
    node('sh').receive({ topic: 'environment', payload: 'often' });
    node('sh').receive({ payload: { joystick: true } });
    await until('two errors', () => errors.length === 2, 3000);
    assert.match(text(errors[0]!), /environment takes true, false or an interval in seconds/);
    assert.match(text(errors[1]!), /unknown setting "joystick"/);
  });

  it('turns motion on by message and sends orientation and compass', async () => {
    const out = await load({ backend: 'simulated', environment: false });
    node('sh').receive({ topic: 'motion', payload: 0.05 });
    await until('motion', () => withTopic(out, 'motion').length >= 3, 3000);
    const m = withTopic(out, 'motion').at(-1)!.payload;
    assert.ok(Math.abs(m.acceleration.z - 1) < 0.05, 'gravity on z: lying flat');
    const near0 = (deg: number) => Math.min(deg, 360 - deg) < 5;
    assert.ok(near0(m.orientation.roll) && near0(m.orientation.pitch), JSON.stringify(m.orientation));
    assert.ok(near0(m.compass), `facing north: ${m.compass}`);
  });
});
