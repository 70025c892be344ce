/**
 * LSM9DS1 inertial module (ST): two I²C devices in one package, the
 * accelerometer/gyroscope (0x6a, or 0x6b with SDO_AG high) and the
 * magnetometer (0x1c, or 0x1e with SDO_M high). Register map and sensitivities:
 * LSM9DS1 datasheet (DocID025715) Table 3 and §7–8.
 *
 * Configuration (chosen for a board that sits still or is handled, read a few
 * times a second):
 * - CTRL_REG8 0x44: BDU | IF_ADD_INC. The accelerometer/gyroscope increments
 *   addresses in block reads by this bit, not by the address MSB (§5.1.1).
 * - CTRL_REG1_G 0x68: gyro 119 Hz, ±500 dps (G_So 17.50 mdps/LSB): a hand
 *   turning the board stays in range, unlike at 245 dps (4.3 rad/s).
 * - CTRL_REG6_XL 0x78: accel 119 Hz, ±8 g (LA_So 0.244 mg/LSB): knocks do not
 *   clip, and 0.24 mg is still far finer than tilt needs.
 * - Magnetometer CTRL_REG1_M 0xd8 (temperature compensated, high-performance
 *   X/Y, 40 Hz), CTRL_REG2_M 0x00 (±4 gauss, M_GN 0.14 mgauss/LSB: the Earth's
 *   field is 0.25–0.65 gauss), CTRL_REG4_M 0x08 (high-performance Z),
 *   CTRL_REG5_M 0x40 (BDU), then CTRL_REG3_M 0x00 (continuous) to start.
 *   The magnetometer increments addresses only when the address MSB is set.
 *
 * Axes are the chip's own; mapping them to the board's is the fusion's job.
 */
import type { ChipSpec, I2cBus, MotionSample, Vec3 } from './types';

export const LSM9DS1_AG_ADDRESSES = [0x6a, 0x6b] as const;
export const LSM9DS1_MAG_ADDRESSES = [0x1c, 0x1e] as const;
export const LSM9DS1_WHO_AM_I = 0x0f;
export const LSM9DS1_AG_ID = 0x68;
export const LSM9DS1_MAG_ID = 0x3d;

export const LSM9DS1_AG_REG = {
  CTRL_REG1_G: 0x10,
  STATUS_REG: 0x17,
  OUT_X_L_G: 0x18,
  CTRL_REG6_XL: 0x20,
  CTRL_REG8: 0x22,
  OUT_X_L_XL: 0x28,
} as const;

export const LSM9DS1_MAG_REG = {
  CTRL_REG1_M: 0x20,
  CTRL_REG2_M: 0x21,
  CTRL_REG3_M: 0x22,
  CTRL_REG4_M: 0x23,
  CTRL_REG5_M: 0x24,
  STATUS_REG_M: 0x27,
  OUT_X_L_M: 0x28,
} as const;

export const LSM9DS1_AG_CONFIG = {
  /** BDU (0x40) | IF_ADD_INC (0x04) */
  CTRL_REG8: 0x44,
  /** ODR_G 011 = 119 Hz (0x60) | FS_G 01 = 500 dps (0x08) */
  CTRL_REG1_G: 0x68,
  /** ODR_XL 011 = 119 Hz (0x60) | FS_XL 11 = ±8 g (0x18) */
  CTRL_REG6_XL: 0x78,
} as const;

export const LSM9DS1_MAG_CONFIG = {
  /** TEMP_COMP (0x80) | OM 10 high performance (0x40) | DO 110 = 40 Hz (0x18) */
  CTRL_REG1_M: 0xd8,
  /** FS 00 = ±4 gauss */
  CTRL_REG2_M: 0x00,
  /** OMZ 10 high performance */
  CTRL_REG4_M: 0x08,
  /** BDU */
  CTRL_REG5_M: 0x40,
  /** MD 00: continuous conversion */
  CTRL_REG3_M: 0x00,
} as const;

/** Datasheet Table 3 sensitivities for the ranges above. */
export const LSM9DS1_SENSITIVITY = {
  /** LA_So at ±8 g, mg/LSB */
  accelMgPerLsb: 0.244,
  /** G_So at 500 dps, mdps/LSB */
  gyroMdpsPerLsb: 17.5,
  /** M_GN at ±4 gauss, mgauss/LSB */
  magMgaussPerLsb: 0.14,
} as const;

/** The magnetometer increments the register address in block reads only when its MSB is set. */
const MAG_AUTO_INCREMENT = 0x80;

/** g from a raw accelerometer count */
export function lsm9ds1Accel(raw: number): number {
  return (raw * LSM9DS1_SENSITIVITY.accelMgPerLsb) / 1000;
}

/** rad/s from a raw gyroscope count */
export function lsm9ds1Gyro(raw: number): number {
  return ((raw * LSM9DS1_SENSITIVITY.gyroMdpsPerLsb) / 1000) * (Math.PI / 180);
}

/** gauss from a raw magnetometer count */
export function lsm9ds1Mag(raw: number): number {
  return (raw * LSM9DS1_SENSITIVITY.magMgaussPerLsb) / 1000;
}

/** OUT_X/Y/Z: three signed little-endian 16-bit values from six bytes */
function axes(block: Buffer, scale: (raw: number) => number): Vec3 {
  return { x: scale(block.readInt16LE(0)), y: scale(block.readInt16LE(2)), z: scale(block.readInt16LE(4)) };
}

export class Lsm9ds1AccelGyro {
  constructor(
    private readonly bus: I2cBus,
    readonly address: number = LSM9DS1_AG_ADDRESSES[0],
  ) {}

  /** Sets ranges and rates (which starts both sensors); run again after the chip lost power. */
  async init(): Promise<void> {
    await this.bus.writeByte(this.address, LSM9DS1_AG_REG.CTRL_REG8, LSM9DS1_AG_CONFIG.CTRL_REG8);
    await this.bus.writeByte(this.address, LSM9DS1_AG_REG.CTRL_REG1_G, LSM9DS1_AG_CONFIG.CTRL_REG1_G);
    await this.bus.writeByte(this.address, LSM9DS1_AG_REG.CTRL_REG6_XL, LSM9DS1_AG_CONFIG.CTRL_REG6_XL);
  }

  /** true once accelerometer (XLDA 0x01) and gyroscope (GDA 0x02) data are in */
  async ready(): Promise<boolean> {
    return ((await this.bus.readByte(this.address, LSM9DS1_AG_REG.STATUS_REG)) & 0x03) === 0x03;
  }

  async read(): Promise<{ acceleration: Vec3; gyroscope: Vec3 }> {
    const gyro = Buffer.alloc(6);
    const accel = Buffer.alloc(6);
    await this.bus.readI2cBlock(this.address, LSM9DS1_AG_REG.OUT_X_L_G, 6, gyro);
    await this.bus.readI2cBlock(this.address, LSM9DS1_AG_REG.OUT_X_L_XL, 6, accel);
    return { acceleration: axes(accel, lsm9ds1Accel), gyroscope: axes(gyro, lsm9ds1Gyro) };
  }

  /** ODR 0 for both: power-down until the next init. */
  async powerDown(): Promise<void> {
    await this.bus.writeByte(this.address, LSM9DS1_AG_REG.CTRL_REG1_G, 0x00);
    await this.bus.writeByte(this.address, LSM9DS1_AG_REG.CTRL_REG6_XL, 0x00);
  }
}

export class Lsm9ds1Magnetometer {
  constructor(
    private readonly bus: I2cBus,
    readonly address: number = LSM9DS1_MAG_ADDRESSES[0],
  ) {}

  /** Sets range and rate, then starts continuous conversion; run again after the chip lost power. */
  async init(): Promise<void> {
    const c = LSM9DS1_MAG_CONFIG;
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG1_M, c.CTRL_REG1_M);
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG2_M, c.CTRL_REG2_M);
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG4_M, c.CTRL_REG4_M);
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG5_M, c.CTRL_REG5_M);
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG3_M, c.CTRL_REG3_M);
  }

  /** true once a full X/Y/Z sample is in (ZYXDA 0x08) */
  async ready(): Promise<boolean> {
    return ((await this.bus.readByte(this.address, LSM9DS1_MAG_REG.STATUS_REG_M)) & 0x08) === 0x08;
  }

  async read(): Promise<Vec3> {
    const block = Buffer.alloc(6);
    await this.bus.readI2cBlock(this.address, LSM9DS1_MAG_REG.OUT_X_L_M | MAG_AUTO_INCREMENT, 6, block);
    return axes(block, lsm9ds1Mag);
  }

  /** MD 11: power-down until the next init. */
  async powerDown(): Promise<void> {
    await this.bus.writeByte(this.address, LSM9DS1_MAG_REG.CTRL_REG3_M, 0x03);
  }
}

/** How the I²C backend finds, names and starts the two devices (the magnetometer's address MSB is its auto-increment flag). */
export const LSM9DS1_AG_CHIP: ChipSpec<{ acceleration: Vec3; gyroscope: Vec3 }> = {
  name: 'LSM9DS1 accelerometer/gyroscope',
  addresses: LSM9DS1_AG_ADDRESSES,
  idRegister: LSM9DS1_WHO_AM_I,
  accepts: (id) => id === LSM9DS1_AG_ID,
  expected: '0x68',
  registerMask: 0x7f,
  create: (bus, address) => new Lsm9ds1AccelGyro(bus, address),
};

export const LSM9DS1_MAG_CHIP: ChipSpec<Vec3> = {
  name: 'LSM9DS1 magnetometer',
  addresses: LSM9DS1_MAG_ADDRESSES,
  idRegister: LSM9DS1_WHO_AM_I,
  accepts: (id) => id === LSM9DS1_MAG_ID,
  expected: '0x3d',
  registerMask: 0x7f,
  create: (bus, address) => new Lsm9ds1Magnetometer(bus, address),
};

/**
 * The LSM9DS1 sits on the Sense HAT with some axes reversed against the board's:
 * the Sense HAT's own library (RTIMULib, RTIMULSM9DS1::IMURead) negates the
 * gyro's z, the accelerometer's x and y and the magnetometer's x and z. Doing
 * the same makes our values, orientation and compass match what
 * node-red-node-pi-sense-hat and the Python sense_hat report on the same board.
 */
export function toBoardAxes(chip: MotionSample): MotionSample {
  const { acceleration: a, gyroscope: g, magnetometer: m } = chip;
  return {
    acceleration: { x: -a.x, y: -a.y, z: a.z },
    gyroscope: { x: g.x, y: g.y, z: -g.z },
    magnetometer: { x: -m.x, y: m.y, z: -m.z },
  };
}
