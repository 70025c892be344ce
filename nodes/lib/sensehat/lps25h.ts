/**
 * LPS25H barometric pressure and temperature sensor (ST), I²C 0x5c on the
 * Sense HAT. Register map: LPS25H datasheet (DocID023722); conversion and the
 * worked example the tests use: application note AN4450 §4.3 (pressure =
 * PRESS_OUT / 4096 hPa, temperature = 42.5 + TEMP_OUT / 480 °C).
 *
 * Configuration: CTRL_REG1 0xb4 = PD | ODR 12.5 Hz | BDU, continuous, with
 * the averaging left at the chip's default. Continuous rather than one-shot
 * for the same reason as the HTS221: a read is one block read of data at most
 * 80 ms old; BDU keeps the three pressure bytes of one sample together.
 */
import type { ChipSpec, I2cBus } from './types';

export const LPS25H_ADDRESS = 0x5c;
export const LPS25H_WHO_AM_I = 0x0f;
export const LPS25H_ID = 0xbd;

/** ST chips increment the register address in a multi-byte read only when its MSB is set. */
const AUTO_INCREMENT = 0x80;

export const LPS25H_REG = {
  CTRL_REG1: 0x20,
  STATUS_REG: 0x27,
  PRESS_OUT_XL: 0x28,
} as const;

export const LPS25H_CONFIG = {
  /** PD (0x80) | ODR2:0 = 011, 12.5 Hz (0x30) | BDU (0x04) */
  CTRL_REG1: 0xb4,
} as const;

/** STATUS_REG: P_DA (0x02) | T_DA (0x01) */
const DATA_READY = 0x03;

/** hPa from the 24-bit two's complement PRESS_OUT (4096 LSB/hPa). */
export function lps25hPressure(pressOut: number): number {
  return pressOut / 4096;
}

/** °C from the signed 16-bit TEMP_OUT (480 LSB/°C, 42.5 °C offset). */
export function lps25hTemperature(tempOut: number): number {
  return 42.5 + tempOut / 480;
}

export interface Lps25hReading {
  /** hPa */
  pressure: number;
  /** °C */
  temperature: number;
}

export class Lps25h {
  constructor(
    private readonly bus: I2cBus,
    readonly address: number = LPS25H_ADDRESS,
  ) {}

  /** Powers the chip up; run again after the chip lost power. */
  async init(): Promise<void> {
    await this.bus.writeByte(this.address, LPS25H_REG.CTRL_REG1, LPS25H_CONFIG.CTRL_REG1);
  }

  /** true once the first pressure and temperature samples are in the output registers */
  async ready(): Promise<boolean> {
    return ((await this.bus.readByte(this.address, LPS25H_REG.STATUS_REG)) & DATA_READY) === DATA_READY;
  }

  async read(): Promise<Lps25hReading> {
    // PRESS_OUT_XL/L/H (0x28–0x2A) and TEMP_OUT_L/H (0x2B–0x2C) in one read: one sample.
    const block = Buffer.alloc(5);
    await this.bus.readI2cBlock(this.address, LPS25H_REG.PRESS_OUT_XL | AUTO_INCREMENT, 5, block);
    return { pressure: lps25hPressure(block.readIntLE(0, 3)), temperature: lps25hTemperature(block.readInt16LE(3)) };
  }

  /** Clears PD: the chip stops measuring until the next init. */
  async powerDown(): Promise<void> {
    await this.bus.writeByte(this.address, LPS25H_REG.CTRL_REG1, 0x00);
  }
}

/** How the I²C backend finds, names and starts this chip. */
export const LPS25H_CHIP: ChipSpec<Lps25hReading> = {
  name: 'LPS25H',
  addresses: [LPS25H_ADDRESS],
  idRegister: LPS25H_WHO_AM_I,
  accepts: (id) => id === LPS25H_ID,
  expected: '0xbd',
  registerMask: 0x7f,
  create: (bus, address) => new Lps25h(bus, address),
};
