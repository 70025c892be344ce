import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hts221Humidity, hts221Temperature, parseHts221Calibration } from '../../../../nodes/lib/sensehat/hts221';
import { I2cBackend, SenseChipError, openI2cBus } from '../../../../nodes/lib/sensehat/i2c-backend';
import { lps25hPressure, lps25hTemperature } from '../../../../nodes/lib/sensehat/lps25h';
import { lsm9ds1Accel, lsm9ds1Gyro, lsm9ds1Mag } from '../../../../nodes/lib/sensehat/lsm9ds1';
import { isTcs3400Id } from '../../../../nodes/lib/sensehat/tcs3400';
import {
  FakeI2cBus,
  type Hts221Values,
  fakeSenseHat,
  hts221Registers,
  lps25hRegisters,
  lsm9ds1AgRegisters,
  lsm9ds1MagRegisters,
  tcs3400Registers,
} from '../../../support/fake-i2c';

function near(actual: number, expected: number, tolerance = 1e-9): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${actual} is not within ${tolerance} of ${expected}`);
}

/** The calibration block 0x30–0x3F as the chip stores it. */
function calibrationOf(v: Hts221Values): ReturnType<typeof parseHts221Calibration> {
  const image = hts221Registers(v);
  return parseHts221Calibration(Buffer.from(Array.from({ length: 16 }, (_, i) => image[0x30 + i] ?? 0)));
}

const HTS221_BASE: Hts221Values = {
  h0RhX2: 40,
  h1RhX2: 80,
  t0DegCx8: 80,
  t1DegCx8: 160,
  h0T0Out: 0,
  h1T0Out: 6000,
  t0Out: 300,
  t1Out: 500,
  hOut: 0,
  tOut: 0,
};

/** A board whose chips answer, logging to `lines`. */
async function open(bus: FakeI2cBus, lines: string[] = [], readyTimeoutMs?: number): Promise<I2cBackend> {
  return I2cBackend.open(bus, { log: (l) => lines.push(l), readyTimeoutMs });
}

describe('HTS221 conversion (TN1218 linear interpolation)', () => {
  it('gives the datasheet example: T0_OUT 300 = 10.0 °C, T1_OUT 500 = 20.0 °C, T_OUT 400 = 15.0 °C', () => {
    // HTS221 datasheet table "Linear interpolation to convert LSB to °C", T0_degC_x8 80, T1_degC_x8 160, as
    // quoted in https://community.st.com/s/question/0D50X00009XkgmLSAR (how to convert the value ... HTS221).
    const cal = calibrationOf(HTS221_BASE);
    assert.equal(cal.t0DegC, 10);
    assert.equal(cal.t1DegC, 20);
    assert.equal(hts221Temperature(cal, 400), 15);
  });

  it('matches readings of real chips with negative calibration counts, and clamps above 100 %RH', () => {
    // TN1218's own humidity example could not be retrieved; these are real chips instead, from
    // https://community.st.com/thread/40632-hts221-accuracy-and-tn1218-question (2017): two sensors'
    // calibrations and the humidity the poster computed, each checked by hand with the TN1218 formula. Sensor 2: H0 32 % at 0x0005, H1 73 % at 0xD4E7 (-11033);
    // 0xDC00 (-9216) "= 66 %": 32 + (-9216 - 5) × 41 / (-11033 - 5) = 66.25.
    const s2 = calibrationOf({ ...HTS221_BASE, h0RhX2: 64, h1RhX2: 146, h0T0Out: 0x0005, h1T0Out: 0xd4e7 - 0x10000 });
    assert.equal(s2.h1Out, -11033);
    near(hts221Humidity(s2, 0xdc00 - 0x10000), 66.25, 0.01);
    // Sensor 1: H0 30 % at 0xFFF8 (-8), H1 72 % at 0xD001 (-12287); 0xCFF0 "= 72 %" (72.06),
    // 0x9C80 (-25472) "= 117 %" (117.10): outside the calibrated span, reported as 100.
    const s1 = calibrationOf({ ...HTS221_BASE, h0RhX2: 60, h1RhX2: 144, h0T0Out: -8, h1T0Out: 0xd001 - 0x10000 });
    near(hts221Humidity(s1, 0xcff0 - 0x10000), 72.06, 0.01);
    assert.equal(hts221Humidity(s1, 0x9c80 - 0x10000), 100);
    assert.equal(hts221Humidity(s1, 20000), 0, 'and below 0 as 0');
  });

  it('uses the T0/T1 MSB bits in 0x35 and signed temperature counts', () => {
    // By hand (no published example): T0_degC_x8 = 0x0A0 = 160 (20.0 °C), T1_degC_x8 = 0x140 = 320
    // (40.0 °C, so 0x33 = 0x40 and 0x35 bits 3:2 = 01), T0_OUT = -200, T1_OUT = 1800.
    // T_OUT 800: 20 + (800 + 200) × 20 / 2000 = 30.0 °C; T_OUT -1200: 20 + (-1000) × 20 / 2000 = 10.0 °C.
    const image = hts221Registers({ ...HTS221_BASE, t0DegCx8: 160, t1DegCx8: 320, t0Out: -200, t1Out: 1800 });
    assert.deepEqual([image[0x32], image[0x33], image[0x35]], [0xa0, 0x40, 0x04]);
    const cal = calibrationOf({ ...HTS221_BASE, t0DegCx8: 160, t1DegCx8: 320, t0Out: -200, t1Out: 1800 });
    assert.equal(hts221Temperature(cal, 800), 30);
    assert.equal(hts221Temperature(cal, -1200), 10);
  });
});

// ST AN4450 "Hardware and software guidelines for use of LPS25H pressure sensors" §4.3, "Example of
// register measurements and conversion" (https://manualshive.com/ru/manual/st/lps25h/1355424?page=16).
describe('LPS25H conversion (AN4450 §4.3 example)', () => {
  it('PRESS_OUT 0x3FF58D is 4191629 / 4096 = 1023.347 hPa; TEMP_OUT 0xE07C is 42.5 - 8068/480 = 25.7 °C', () => {
    near(lps25hPressure(0x3ff58d), 1023.347, 0.001);
    near(lps25hTemperature(0xe07c - 0x10000), 25.69, 0.01);
    // the note's reference points: 0x6BD0 = 100 °C, 0xB050 = 0 °C
    near(lps25hTemperature(0x6bd0), 100);
    near(lps25hTemperature(0xb050 - 0x10000), 0);
  });
});

describe('LSM9DS1 conversion (datasheet Table 3 sensitivities)', () => {
  it('scales by LA_So 0.244 mg/LSB (±8 g), G_So 17.50 mdps/LSB (500 dps), M_GN 0.14 mgauss/LSB (±4 gauss)', () => {
    // By hand: 4098 × 0.244 mg = 999.912 mg; 5714 × 17.5 mdps = 99.995 dps = 1.74524 rad/s;
    // -32768 × 17.5 mdps = -573.44 dps = -10.00842 rad/s; 3571 × 0.14 mgauss = 0.49994 gauss.
    near(lsm9ds1Accel(4098), 0.999912);
    near(lsm9ds1Accel(-16384), -3.997696);
    near(lsm9ds1Gyro(5714), 1.745242, 1e-6);
    near(lsm9ds1Gyro(-32768), -10.008416, 1e-6);
    near(lsm9ds1Mag(3571), 0.49994);
  });
});

describe('I2cBackend on a fake board', () => {
  it('reads every stream from the registers, with negative counts read as two’s complement', async () => {
    const bus = new FakeI2cBus();
    bus.add(
      0x5f,
      'address-msb',
      hts221Registers({ ...HTS221_BASE, h0RhX2: 64, h1RhX2: 146, h0T0Out: 5, h1T0Out: -11033, hOut: -9216, tOut: -100 }),
    );
    bus.add(0x5c, 'address-msb', lps25hRegisters({ pressOut: -4096, tempOut: -8068 }));
    bus.add(0x6a, 'ctrl-reg8', lsm9ds1AgRegisters({ accel: { x: -16384, y: 0, z: 4098 }, gyro: { x: 5714, y: -32768, z: 0 } }));
    bus.add(0x1c, 'address-msb', lsm9ds1MagRegisters({ mag: { x: 3571, y: -2000, z: 0 } }));
    bus.add(0x29, 'always', tcs3400Registers({ clear: 0xabcd, red: 0x0102, green: 65535, blue: 0 }), 0x92);
    const backend = await open(bus);
    assert.deepEqual(backend.has, { environment: true, motion: true, colour: true });

    const env = await backend.readEnvironment();
    near(env.humidity, 66.25, 0.01);
    near(env.temperatureFromHumidity, -10); // 10 °C + (-100 - 300) × 10 / 200
    assert.equal(env.pressure, -1, 'PRESS_OUT 0xFFF000 = -4096 → -1 hPa (by hand)');
    near(env.temperatureFromPressure, 25.69, 0.01);

    const motion = await backend.readMotion();
    // Board axes, as RTIMULib turns the chip's (toBoardAxes): accel x and y, gyro z, magnetometer x and z negated.
    near(motion.acceleration.x, 3.997696);
    near(motion.acceleration.z, 0.999912);
    near(motion.gyroscope.x, 1.745242, 1e-6);
    near(motion.gyroscope.y, -10.008416, 1e-6);
    near(motion.magnetometer.x, -0.49994);
    near(motion.magnetometer.y, -0.28);

    assert.deepEqual(await backend.readColour(), { clear: 0xabcd, red: 0x0102, green: 65535, blue: 0 });
    await backend.close();
  });

  it('initialises each chip with the documented control register values', async () => {
    const bus = fakeSenseHat();
    await open(bus);
    assert.deepEqual(bus.chip(0x5f).writes, [
      { register: 0x10, value: 0x1b }, // AV_CONF
      { register: 0x20, value: 0x87 }, // CTRL_REG1: PD | BDU | 12.5 Hz
    ]);
    assert.deepEqual(bus.chip(0x5c).writes, [{ register: 0x20, value: 0xb4 }]); // PD | 12.5 Hz | BDU
    assert.deepEqual(bus.chip(0x6a).writes, [
      { register: 0x22, value: 0x44 }, // CTRL_REG8: BDU | IF_ADD_INC
      { register: 0x10, value: 0x68 }, // CTRL_REG1_G: 119 Hz, 500 dps
      { register: 0x20, value: 0x78 }, // CTRL_REG6_XL: 119 Hz, ±8 g
    ]);
    assert.deepEqual(bus.chip(0x1c).writes, [
      { register: 0x20, value: 0xd8 },
      { register: 0x21, value: 0x00 },
      { register: 0x23, value: 0x08 },
      { register: 0x24, value: 0x40 },
      { register: 0x22, value: 0x00 }, // continuous conversion last
    ]);
    assert.deepEqual(bus.chip(0x29).writes, [
      { register: 0x80, value: 0x01 }, // PON
      { register: 0x81, value: 0xc0 }, // ATIME: 64 cycles
      { register: 0x8f, value: 0x01 }, // AGAIN 4×
      { register: 0x80, value: 0x03 }, // PON | AEN
    ]);
  });

  it('finds the chips at their alternate addresses (0x6b, 0x1e, 0x39)', async () => {
    const lines: string[] = [];
    const bus = fakeSenseHat({ agAddress: 0x6b, magAddress: 0x1e, colourAddress: 0x39 });
    const backend = await open(bus, lines);
    assert.deepEqual(backend.has, { environment: true, motion: true, colour: true });
    assert.ok(lines.includes('LSM9DS1 magnetometer found at 0x1e'), lines.join('\n'));
    near((await backend.readMotion()).acceleration.z, 0.999912);
    assert.equal((await backend.readColour()).clear, 1200);
    assert.equal(bus.chip(0x6b).writes.length, 3);
  });

  it('accepts both TCS3400 IDs and nothing else', () => {
    assert.ok(isTcs3400Id(0x90) && isTcs3400Id(0x93));
    assert.ok(!isTcs3400Id(0x44), 'a TCS34725 (Astro Pi board) is not a TCS3400');
  });

  it('a chip answering a wrong ID makes only its stream unavailable, with a clear error', async () => {
    const lines: string[] = [];
    const bus = fakeSenseHat();
    bus.chip(0x1c).answerId(0x00);
    const backend = await open(bus, lines);
    assert.deepEqual(backend.has, { environment: true, motion: false, colour: true });
    const line = 'LSM9DS1 magnetometer not found: 0x1c answered 0x00 to ID register 0x0f (expected 0x3d); no answer at 0x1e (EREMOTEIO)';
    assert.ok(lines.includes(line), lines.join('\n'));
    await assert.rejects(backend.readMotion(), { message: `motion unavailable: ${line}` });
    near((await backend.readEnvironment()).pressure, 1023.347, 0.001);
  });

  it('a v1 board (no colour sensor) has no colour stream', async () => {
    const backend = await open(fakeSenseHat({ colour: false }));
    assert.equal(backend.has.colour, false);
    await assert.rejects(backend.readColour(), /colour unavailable: TCS3400 not found: no answer at 0x29 \(EREMOTEIO\); no answer at 0x39/);
  });

  it('a device removed at run time fails its reads naming the chip, and recovers when it is back', async () => {
    const bus = fakeSenseHat();
    const backend = await open(bus);
    const lps = bus.chip(0x5c);
    lps.unplug();
    await assert.rejects(backend.readEnvironment(), (err: SenseChipError) => {
      assert.ok(err instanceof SenseChipError);
      assert.equal(err.message, 'LPS25H at 0x5c: reading 5 bytes from register 0x28 failed: EREMOTEIO, Remote I/O error');
      assert.equal(err.code, 'EREMOTEIO');
      assert.equal(err.chip, 'LPS25H');
      return true;
    });
    // still gone: the retry fails at the ID check
    await assert.rejects(backend.readEnvironment(), /LPS25H at 0x5c: reading register 0x0f failed: EREMOTEIO/);
    assert.ok((await backend.readMotion()).acceleration, 'the other chips carry on');

    lps.plugIn(); // power-on registers: CTRL_REG1 back to 0
    near((await backend.readEnvironment()).pressure, 1023.347, 0.001);
    assert.deepEqual(lps.writes, [
      { register: 0x20, value: 0xb4 },
      { register: 0x20, value: 0xb4 },
    ]);
    assert.equal(lps.get(0x20), 0xb4, 'configured again after re-seating');
  });

  it('a transient EIO fails one read and the next one recovers', async () => {
    const bus = fakeSenseHat();
    const backend = await open(bus);
    bus.chip(0x6a).failNext(1, 'EIO');
    await assert.rejects(backend.readMotion(), {
      code: 'EIO',
      message: /LSM9DS1 accelerometer\/gyroscope at 0x6a: reading 6 bytes from register 0x18/,
    });
    near((await backend.readMotion()).acceleration.z, 0.999912);
  });

  it('a chip with no sample after power-up is retried on the next read', async () => {
    const lines: string[] = [];
    const bus = fakeSenseHat();
    bus.chip(0x5f).set(0x27, 0x00); // STATUS_REG: no data yet
    const backend = await open(bus, lines, 30);
    assert.ok(lines.includes('HTS221 at 0x5f: no sample 30 ms after power-up; will retry on the next read'), lines.join('\n'));
    assert.equal(backend.has.environment, true);
    await assert.rejects(backend.readEnvironment(), /HTS221 at 0x5f: no sample 30 ms after power-up/);
    bus.chip(0x5f).set(0x27, 0x03);
    near((await backend.readEnvironment()).temperatureFromHumidity, 15);
  });

  it('close powers the chips down, closes the bus, is safe twice, and later reads reject', async () => {
    const bus = fakeSenseHat();
    const backend = await open(bus);
    await Promise.all([backend.close(), backend.close()]);
    assert.equal(bus.closed, true);
    assert.equal(bus.chip(0x5f).get(0x20), 0x00);
    assert.equal(bus.chip(0x1c).get(0x22), 0x03);
    assert.equal(bus.chip(0x29).get(0x80), 0x00);
    await assert.rejects(backend.readEnvironment(), /closed/);
  });
});

describe('openI2cBus', () => {
  it('rejects with a clear message when the device does not exist', async () => {
    await assert.rejects(openI2cBus(99), {
      message: 'cannot open /dev/i2c-99: ENOENT (is I²C enabled? raspi-config → Interface Options → I2C)',
    });
  });
});
