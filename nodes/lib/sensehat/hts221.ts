/**
 * HTS221 relative humidity and temperature sensor (ST), I²C 0x5f on the Sense HAT.
 * Register map: HTS221 datasheet (DocID026409). Conversion: ST technical note
 * TN1218 "Interpreting humidity and temperature readings in the HTS221": each
 * chip carries two factory calibration points per quantity (0x30–0x3F) and a
 * reading is the straight line through them.
 *
 * Configuration: AV_CONF 0x1b (the datasheet default: 16 temperature and 32
 * humidity samples averaged, written so a re-seated chip is in a known state)
 * and CTRL_REG1 0x87 = PD | BDU | ODR 12.5 Hz, continuous. Continuous at
 * 12.5 Hz rather than one-shot: a read is then one block read of data at most
 * 80 ms old, with no start-and-poll per sample; BDU keeps the low and high
 * bytes of one value from two different samples.
 */
import type { ChipSpec, I2cBus } from './types';

export const HTS221_ADDRESS = 0x5f;
export const HTS221_WHO_AM_I = 0x0f;
export const HTS221_ID = 0xbc;

/** ST chips increment the register address in a multi-byte read only when its MSB is set. */
const AUTO_INCREMENT = 0x80;

export const HTS221_REG = {
  AV_CONF: 0x10,
  CTRL_REG1: 0x20,
  STATUS_REG: 0x27,
  HUMIDITY_OUT_L: 0x28,
  CALIB_0: 0x30,
} as const;

export const HTS221_CONFIG = {
  /** AVGT 16, AVGH 32 */
  AV_CONF: 0x1b,
  /** PD (0x80) | BDU (0x04) | ODR1:0 = 11, 12.5 Hz */
  CTRL_REG1: 0x87,
} as const;

/** STATUS_REG: H_DA (0x02) | T_DA (0x01), both set once the first sample is in */
const DATA_READY = 0x03;

/** The factory calibration, decoded (TN1218 §1–2). */
export interface Hts221Calibration {
  /** %RH of the two humidity calibration points (H0_rH_x2 / 2, H1_rH_x2 / 2) */
  h0Rh: number;
  h1Rh: number;
  /** raw HUMIDITY_OUT at those points (H0_T0_OUT, H1_T0_OUT; signed) */
  h0Out: number;
  h1Out: number;
  /** °C of the two temperature points (10-bit T0/T1_degC_x8 / 8) */
  t0DegC: number;
  t1DegC: number;
  /** raw TEMP_OUT at those points (T0_OUT, T1_OUT; signed) */
  t0Out: number;
  t1Out: number;
}

/** Decodes the 16 calibration bytes read from 0x30–0x3F. */
export function parseHts221Calibration(block: Buffer): Hts221Calibration {
  if (block.length < 16) throw new Error(`HTS221 calibration needs 16 bytes, got ${block.length}`);
  // 0x35 holds bits 9:8 of both temperature points: T0 in bits 1:0, T1 in bits 3:2.
  const msb = block.readUInt8(0x05);
  return {
    h0Rh: block.readUInt8(0x00) / 2,
    h1Rh: block.readUInt8(0x01) / 2,
    t0DegC: (((msb & 0x03) << 8) | block.readUInt8(0x02)) / 8,
    t1DegC: (((msb & 0x0c) << 6) | block.readUInt8(0x03)) / 8,
    h0Out: block.readInt16LE(0x06),
    h1Out: block.readInt16LE(0x0a),
    t0Out: block.readInt16LE(0x0c),
    t1Out: block.readInt16LE(0x0e),
  };
}

/** A calibration whose two points share a raw value would divide by zero: the chip's memory is unreadable. */
export function checkHts221Calibration(cal: Hts221Calibration): void {
  if (cal.h1Out === cal.h0Out) throw new Error(`HTS221 calibration unusable: H0_T0_OUT = H1_T0_OUT = ${cal.h0Out}`);
  if (cal.t1Out === cal.t0Out) throw new Error(`HTS221 calibration unusable: T0_OUT = T1_OUT = ${cal.t0Out}`);
}

/**
 * %RH by linear interpolation (TN1218 §1), clamped to 0–100: outside the
 * calibrated span the line overshoots (readings of 117 % are reported on ST's forum).
 */
export function hts221Humidity(cal: Hts221Calibration, hOut: number): number {
  const rh = cal.h0Rh + ((hOut - cal.h0Out) * (cal.h1Rh - cal.h0Rh)) / (cal.h1Out - cal.h0Out);
  return Math.min(100, Math.max(0, rh));
}

/** °C by linear interpolation (TN1218 §2). */
export function hts221Temperature(cal: Hts221Calibration, tOut: number): number {
  return cal.t0DegC + ((tOut - cal.t0Out) * (cal.t1DegC - cal.t0DegC)) / (cal.t1Out - cal.t0Out);
}

export interface Hts221Reading {
  /** %RH */
  humidity: number;
  /** °C */
  temperature: number;
}

export class Hts221 {
  private calibration?: Hts221Calibration;

  constructor(
    private readonly bus: I2cBus,
    readonly address: number = HTS221_ADDRESS,
  ) {}

  /** Powers the chip up and reads its calibration; run again after the chip lost power. */
  async init(): Promise<void> {
    this.calibration = undefined;
    await this.bus.writeByte(this.address, HTS221_REG.AV_CONF, HTS221_CONFIG.AV_CONF);
    await this.bus.writeByte(this.address, HTS221_REG.CTRL_REG1, HTS221_CONFIG.CTRL_REG1);
    const block = Buffer.alloc(16);
    await this.bus.readI2cBlock(this.address, HTS221_REG.CALIB_0 | AUTO_INCREMENT, 16, block);
    const cal = parseHts221Calibration(block);
    checkHts221Calibration(cal);
    this.calibration = cal;
  }

  /** true once the first humidity and temperature samples are in the output registers */
  async ready(): Promise<boolean> {
    return ((await this.bus.readByte(this.address, HTS221_REG.STATUS_REG)) & DATA_READY) === DATA_READY;
  }

  async read(): Promise<Hts221Reading> {
    const cal = this.calibration;
    if (!cal) throw new Error(`HTS221 at 0x${this.address.toString(16)} is not initialised`);
    // HUMIDITY_OUT_L/H then TEMP_OUT_L/H: 0x28–0x2B in one read, so both come from the same sample.
    const block = Buffer.alloc(4);
    await this.bus.readI2cBlock(this.address, HTS221_REG.HUMIDITY_OUT_L | AUTO_INCREMENT, 4, block);
    return { humidity: hts221Humidity(cal, block.readInt16LE(0)), temperature: hts221Temperature(cal, block.readInt16LE(2)) };
  }

  /** Clears PD: the chip stops measuring until the next init. */
  async powerDown(): Promise<void> {
    await this.bus.writeByte(this.address, HTS221_REG.CTRL_REG1, 0x00);
  }
}

/** How the I²C backend finds, names and starts this chip. */
export const HTS221_CHIP: ChipSpec<Hts221Reading> = {
  name: 'HTS221',
  addresses: [HTS221_ADDRESS],
  idRegister: HTS221_WHO_AM_I,
  accepts: (id) => id === HTS221_ID,
  expected: '0xbc',
  registerMask: 0x7f,
  create: (bus, address) => new Hts221(bus, address),
};
