import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IioBackend, iioRole } from '../../../../nodes/lib/sensehat/iio-backend';
import { ACCEL, FakeSysfs, GYRO, HTS221, LPS25H, MAGN, type IioSpec } from '../../../support/fake-sysfs';

const G = 9.80665;

function board(specs: IioSpec[] = [HTS221, LPS25H, ACCEL, GYRO, MAGN]): FakeSysfs {
  const fake = new FakeSysfs();
  for (const spec of specs) fake.addIio(spec);
  return fake;
}

function close(actual: number, expected: number, what: string, eps = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: ${actual} is not ${expected} ± ${eps}`);
}

describe('IioBackend', () => {
  it('converts humidity, temperature and pressure from IIO units', async () => {
    const iio = await IioBackend.open({ sysfsRoot: board().sys });
    assert.deepEqual(iio.has, { environment: true, motion: true, colour: false });
    const env = await iio.readEnvironment();
    assert.equal(env.humidity, 45, 'milli-%RH → %RH');
    assert.equal(env.temperatureFromHumidity, 25.5, 'milli-°C → °C, with the offset');
    close(env.pressure, 4150272 * 0.000024414 * 10, 'kPa → hPa');
    close(env.pressure, 1013.25, 'about standard pressure', 0.01);
    close(env.temperatureFromPressure, (-2400 + 20400) * 2.083333333e-3, 'LPS25H temperature');
    close(env.temperatureFromPressure, 37.5, 'about 42.5 + raw/480', 1e-6);
    await iio.close();
  });

  it('converts motion: m/s² → g with a shared scale, rad/s as is, gauss with per-axis scales', async () => {
    const iio = await IioBackend.open({ sysfsRoot: board().sys });
    const m = await iio.readMotion();
    // Board axes, as RTIMULib turns the chip's (toBoardAxes): accel x and y, gyro z, magnetometer x and z negated.
    close(m.acceleration.x, (164 * 0.000598205) / G, 'accel x');
    close(m.acceleration.y, (-82 * 0.000598205) / G, 'accel y');
    close(m.acceleration.z, (16393 * 0.000598205) / G, 'accel z');
    close(m.acceleration.z, 1, 'lying flat: 1 g', 1e-3);
    close(m.gyroscope.x, 100 * 0.000152716, 'gyro x');
    close(m.gyroscope.y, -200 * 0.000152716, 'gyro y');
    close(m.gyroscope.z, 0, 'gyro z');
    close(m.magnetometer.x, -1400 * 0.00014, 'magn x');
    close(m.magnetometer.y, -10 * 0.00015, 'magn y');
    close(m.magnetometer.z, 3100 * 0.00016, 'magn z');
  });

  it('prefers a per-axis scale and offset to the shared one, and takes a missing scale as 1', async () => {
    const accel: IioSpec = {
      name: 'lsm9ds1_accel',
      files: {
        in_accel_x_raw: 10,
        in_accel_y_raw: 10,
        in_accel_z_raw: 10,
        in_accel_scale: 2,
        in_accel_z_scale: 3,
        in_accel_offset: 1,
        in_accel_y_offset: -5,
      },
    };
    const gyro: IioSpec = { name: 'lsm9ds1_gyro', files: { in_anglvel_x_raw: 7, in_anglvel_y_raw: 0, in_anglvel_z_raw: -7 } };
    const iio = await IioBackend.open({ sysfsRoot: board([accel, gyro, MAGN]).sys });
    const m = await iio.readMotion();
    close(m.acceleration.x, (-11 * 2) / G, 'shared scale and offset (board axes: x negated)');
    close(m.acceleration.y, (-5 * 2) / G, 'own offset (board axes: y negated)');
    close(m.acceleration.z, (11 * 3) / G, 'own scale');
    assert.deepEqual(m.gyroscope, { x: 7, y: 0, z: 7 }, 'board axes: z negated');
  });

  it("knows the kernel's naming variants and ignores other IIO devices", async () => {
    const variants: [string, string | undefined][] = [
      ['hts221', 'humidity'],
      ['hts221-humid', 'humidity'],
      ['lps25h', 'pressure'],
      ['lps25h-press', 'pressure'],
      ['lps25h_press', 'pressure'],
      ['lsm9ds1_accel', 'accel'],
      ['lsm9ds1-accel', 'accel'],
      ['lsm9ds1-imu_accel', 'accel'],
      ['lsm9ds1_gyro', 'gyro'],
      ['lsm9ds1-imu_gyro', 'gyro'],
      ['lsm9ds1_magn', 'magn'],
      ['lsm9ds1-magn', 'magn'],
      ['LSM9DS1_MAGN\n', 'magn'],
      ['lps22hb', undefined],
      ['rp1-adc', undefined],
    ];
    for (const [name, role] of variants) assert.equal(iioRole(name), role, name);

    const fake = new FakeSysfs();
    fake.addIio({ name: 'rp1-adc', files: { in_voltage0_raw: 1 } });
    for (const [spec, name] of [
      [HTS221, 'hts221-humid'],
      [LPS25H, 'lps25h-press'],
      [ACCEL, 'lsm9ds1_accel'],
      [GYRO, 'lsm9ds1-gyro'],
      [MAGN, 'lsm9ds1-magn'],
    ] as const)
      fake.addIio({ ...spec, name });
    const lines: string[] = [];
    const iio = await IioBackend.open({ sysfsRoot: fake.sys, log: (l) => lines.push(l) });
    assert.deepEqual(iio.has, { environment: true, motion: true, colour: false });
    assert.equal((await iio.readEnvironment()).humidity, 45);
    close((await iio.readMotion()).magnetometer.x, -0.196, 'magn x (board axes)');
    assert.match(lines.join('\n'), /hts221-humid \(iio:device1\).*lsm9ds1-magn \(iio:device5\)/);
  });

  it('a missing device makes only its stream unavailable', async () => {
    const iio = await IioBackend.open({ sysfsRoot: board([HTS221, LPS25H, MAGN]).sys });
    assert.deepEqual(iio.has, { environment: true, motion: false, colour: false });
    assert.equal((await iio.readEnvironment()).humidity, 45);
    await assert.rejects(iio.readMotion(), /motion unavailable: no lsm9ds1_accel, lsm9ds1_gyro device/);

    const none = await IioBackend.open({ sysfsRoot: new FakeSysfs().sys + '/nowhere' });
    assert.deepEqual(none.has, { environment: false, motion: false, colour: false });
    await assert.rejects(none.readEnvironment(), /environment unavailable: no hts221, lps25h device/);
  });

  it('reports an unbound driver by device and file, then recovers when it is bound again', async () => {
    const fake = board();
    const iio = await IioBackend.open({ sysfsRoot: fake.sys });
    fake.setIio(0, 'in_humidityrelative_raw', 12345 + 512); // +10 milli-%RH
    close((await iio.readEnvironment()).humidity, 45.01, 'a changed value is read');

    const spec = fake.unbindIio(0);
    await assert.rejects(iio.readEnvironment(), (err: Error) => {
      assert.match(err.message, /hts221 \(iio:device0\): cannot read .*iio:device0\/in_(humidityrelative|temp)_\w+/);
      return true;
    });
    await assert.rejects(iio.readEnvironment(), /environment unavailable: no hts221/);
    assert.equal(iio.has.environment, false);
    close((await iio.readMotion()).acceleration.z, 1, 'motion is unaffected', 1e-3);

    fake.addIio(spec, 7); // rebound: a new device number
    assert.equal((await iio.readEnvironment()).temperatureFromHumidity, 25.5);
    assert.equal(iio.has.environment, true);
  });

  it('rejects a value that is not a number, naming the file', async () => {
    const fake = board();
    const iio = await IioBackend.open({ sysfsRoot: fake.sys });
    fake.setIio(1, 'in_pressure_scale', 'garbage');
    await assert.rejects(iio.readEnvironment(), /lps25h \(iio:device1\): .*in_pressure_scale holds "garbage"/);
  });

  it('has no colour, and rejects reads once closed (close is safe twice)', async () => {
    const iio = await IioBackend.open({ sysfsRoot: board().sys });
    await assert.rejects(iio.readColour(), /colour/);
    await iio.close();
    await iio.close();
    await assert.rejects(iio.readEnvironment(), /closed/);
  });
});
