/**
 * TCS3400 colour light sensor (ams), on the Sense HAT v2 only: I²C 0x29 or
 * 0x39 (the chip comes in variants for either address). Register map: TCS3400
 * datasheet; the Raspberry Pi `sense-hat` Python library reads it the same way
 * (sense_hat/colour.py). Registers sit at 0x80 and up and block reads
 * auto-increment, so no address flag is needed.
 *
 * Configuration: ATIME 0xc0 = 64 integration cycles × 2.78 ms ≈ 178 ms, the
 * shortest time whose full scale is the whole 16 bits (1024 counts per cycle);
 * CONTROL 0x01 = AGAIN 4×, a middle setting of 1×, 4×, 16×, 64× for light
 * that goes from a dim room to daylight (a saturated channel reads 65535).
 * Readings are these raw counts: divide by gain × integration time to compare
 * them with other settings.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChipSpec, ColourSample, I2cBus } from './types';

export const TCS3400_ADDRESSES = [0x29, 0x39] as const;
export const TCS3400_ID_REGISTER = 0x92;

/** ID 0x90 (TCS34001/5) or 0x93 (TCS34003/7); the low bits tell the variants apart. */
export function isTcs3400Id(id: number): boolean {
  return (id & 0xf8) === 0x90;
}

export const TCS3400_REG = {
  ENABLE: 0x80,
  ATIME: 0x81,
  CONTROL: 0x8f,
  STATUS: 0x93,
  CDATAL: 0x94,
} as const;

const PON = 0x01;
const AEN = 0x02;
/** STATUS: AVALID, set once an integration cycle has completed */
const AVALID = 0x01;

export const TCS3400_CONFIG = {
  ATIME: 0xc0,
  /** AGAIN 01 */
  CONTROL: 0x01,
  /** PON | AEN */
  ENABLE: PON | AEN,
} as const;

/** What the counts mean: the settings above, for the colour node's documentation and scaling. */
export const TCS3400_SETTINGS = {
  gain: 4,
  integrationCycles: 256 - TCS3400_CONFIG.ATIME,
  integrationMs: (256 - TCS3400_CONFIG.ATIME) * 2.78,
  fullScale: Math.min(65535, 1024 * (256 - TCS3400_CONFIG.ATIME)),
} as const;

/** The oscillator needs a moment after PON before the ADC is enabled (datasheet: one 2.78 ms cycle). */
const WARM_UP_MS = 3;

/** CDATAL..BDATAH (0x94–0x9B): clear, red, green, blue, each 16-bit little endian */
export function parseTcs3400Data(block: Buffer): ColourSample {
  return {
    clear: block.readUInt16LE(0),
    red: block.readUInt16LE(2),
    green: block.readUInt16LE(4),
    blue: block.readUInt16LE(6),
  };
}

export class Tcs3400 {
  constructor(
    private readonly bus: I2cBus,
    readonly address: number = TCS3400_ADDRESSES[0],
  ) {}

  /** Powers up, sets gain and integration time, starts the ADC; run again after the chip lost power. */
  async init(): Promise<void> {
    await this.bus.writeByte(this.address, TCS3400_REG.ENABLE, PON);
    await sleep(WARM_UP_MS);
    await this.bus.writeByte(this.address, TCS3400_REG.ATIME, TCS3400_CONFIG.ATIME);
    await this.bus.writeByte(this.address, TCS3400_REG.CONTROL, TCS3400_CONFIG.CONTROL);
    await this.bus.writeByte(this.address, TCS3400_REG.ENABLE, TCS3400_CONFIG.ENABLE);
  }

  /** true once the first integration (≈178 ms) has completed */
  async ready(): Promise<boolean> {
    return ((await this.bus.readByte(this.address, TCS3400_REG.STATUS)) & AVALID) === AVALID;
  }

  async read(): Promise<ColourSample> {
    const block = Buffer.alloc(8);
    await this.bus.readI2cBlock(this.address, TCS3400_REG.CDATAL, 8, block);
    return parseTcs3400Data(block);
  }

  /** ENABLE 0: oscillator and ADC off until the next init. */
  async powerDown(): Promise<void> {
    await this.bus.writeByte(this.address, TCS3400_REG.ENABLE, 0x00);
  }
}

/** How the I²C backend finds, names and starts this chip (registers are full 8-bit addresses). */
export const TCS3400_CHIP: ChipSpec<ColourSample> = {
  name: 'TCS3400',
  addresses: TCS3400_ADDRESSES,
  idRegister: TCS3400_ID_REGISTER,
  accepts: isTcs3400Id,
  expected: '0x90 or 0x93',
  registerMask: 0xff,
  create: (bus, address) => new Tcs3400(bus, address),
};
