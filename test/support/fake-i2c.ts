/**
 * A register-level fake of the I²C bus with the Sense HAT's chips on it, for
 * the drivers' tests. Each device is a 256-byte register file that behaves the
 * way its datasheet says where the drivers depend on it:
 * - auto-increment in block reads: HTS221, LPS25H and the LSM9DS1 magnetometer
 *   only when the register address has its MSB (0x80) set, the LSM9DS1
 *   accelerometer/gyroscope when IF_ADD_INC (bit 2 of CTRL_REG8 0x22, on at
 *   power-up) is set, the TCS3400 always. Without it a block read returns the
 *   one register over and over, as the chip would.
 * - failures as Linux reports them through i2c-bus: an absent or unplugged
 *   device rejects every access with `code: 'EREMOTEIO'` (the Pi's
 *   i2c-bcm2835 on a NACK; other adapters say ENXIO, see `absentCode`).
 * - unplug/plugIn: a chip that comes back has its power-on registers again,
 *   so the driver must configure it anew.
 */
import type { I2cBus, Vec3 } from '../../nodes/lib/sensehat/types';

export type AutoIncrement = 'address-msb' | 'ctrl-reg8' | 'always';
export type I2cErrno = 'EIO' | 'ENXIO' | 'EREMOTEIO';

/** register → byte, for the registers that are not 0 */
export type RegisterImage = Record<number, number>;

const ERRNO: Record<I2cErrno, [number, string]> = {
  EIO: [5, 'Input/output error'],
  ENXIO: [6, 'No such device or address'],
  EREMOTEIO: [121, 'Remote I/O error'],
};

/** An error shaped like i2c-bus's (Nan::ErrnoException): message "CODE, text", errno, code, syscall. */
export function i2cError(code: I2cErrno, syscall: string): Error & { errno: number; code: string; syscall: string } {
  const [errno, text] = ERRNO[code];
  return Object.assign(new Error(`${code}, ${text}`), { errno, code, syscall });
}

export interface Write {
  address: number;
  register: number;
  value: number;
}

export class FakeChip {
  /** every byte written, register as resolved (without the auto-increment flag) */
  readonly writes: Array<Omit<Write, 'address'>> = [];
  private readonly registers = new Uint8Array(256);
  private plugged = true;
  private failures: { count: number; code: I2cErrno } = { count: 0, code: 'EIO' };

  constructor(
    readonly address: number,
    readonly autoIncrement: AutoIncrement,
    private readonly powerOn: RegisterImage,
    private readonly idRegister = 0x0f,
  ) {
    this.load(powerOn);
  }

  /** Sets registers from `register` on (output registers, calibration, anything). */
  set(register: number, bytes: number | readonly number[]): this {
    [bytes].flat().forEach((b, i) => (this.registers[(register + i) & 0xff] = b & 0xff));
    return this;
  }

  get(register: number): number {
    return this.registers[register & 0xff] ?? 0;
  }

  /** Makes the ID register answer something else (a different chip, or a dead one). */
  answerId(id: number): this {
    return this.set(this.idRegister, id);
  }

  /** The board is pulled: every access fails. */
  unplug(): void {
    this.plugged = false;
  }

  /** The board is back, with its power-on register contents (configuration lost). */
  plugIn(): void {
    this.plugged = true;
    this.registers.fill(0);
    this.load(this.powerOn);
  }

  get present(): boolean {
    return this.plugged;
  }

  /** The next `count` accesses fail with `code`; later ones work again. */
  failNext(count: number, code: I2cErrno = 'EIO'): void {
    this.failures = { count, code };
  }

  /** @internal the bus asks before every access */
  takeFailure(): I2cErrno | undefined {
    if (this.failures.count <= 0) return undefined;
    this.failures.count -= 1;
    return this.failures.code;
  }

  /** @internal where an access starts and whether a block read moves on */
  resolve(register: number): { start: number; increment: boolean } {
    switch (this.autoIncrement) {
      case 'address-msb':
        return { start: register & 0x7f, increment: (register & 0x80) !== 0 };
      case 'ctrl-reg8':
        return { start: register & 0x7f, increment: (this.get(0x22) & 0x04) !== 0 };
      case 'always':
        return { start: register, increment: true };
    }
  }

  private load(image: RegisterImage): void {
    for (const [register, value] of Object.entries(image)) this.set(Number(register), value);
  }
}

export class FakeI2cBus implements I2cBus {
  /** every write on the bus, in order */
  readonly writes: Write[] = [];
  closed = false;
  private readonly chips = new Map<number, FakeChip>();

  constructor(private readonly opts: { absentCode?: I2cErrno } = {}) {}

  add(address: number, autoIncrement: AutoIncrement, image: RegisterImage, idRegister?: number): FakeChip {
    const chip = new FakeChip(address, autoIncrement, image, idRegister);
    this.chips.set(address, chip);
    return chip;
  }

  chip(address: number): FakeChip {
    const chip = this.chips.get(address);
    if (!chip) throw new Error(`no fake chip at 0x${address.toString(16)}`);
    return chip;
  }

  async readByte(address: number, register: number): Promise<number> {
    const chip = this.reach(address, 'readByte');
    return chip.get(chip.resolve(register).start);
  }

  async writeByte(address: number, register: number, value: number): Promise<void> {
    const chip = this.reach(address, 'writeByte');
    const { start } = chip.resolve(register);
    chip.set(start, value);
    chip.writes.push({ register: start, value });
    this.writes.push({ address, register: start, value });
  }

  async readI2cBlock(address: number, register: number, length: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> {
    const chip = this.reach(address, 'readI2cBlock');
    const { start, increment } = chip.resolve(register);
    for (let i = 0; i < length; i++) buffer[i] = chip.get(increment ? start + i : start);
    return { bytesRead: length, buffer };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private reach(address: number, syscall: string): FakeChip {
    if (this.closed) throw new Error('fake I²C bus is closed');
    const chip = this.chips.get(address);
    if (!chip || !chip.present) throw i2cError(this.opts.absentCode ?? 'EREMOTEIO', syscall);
    const failure = chip.takeFailure();
    if (failure) throw i2cError(failure, syscall);
    return chip;
  }
}

// ------------------------------------------------------------------ register images from datasheet values

/** a signed 16-bit value as its two little-endian bytes */
export function le16(value: number): [number, number] {
  const v = value & 0xffff;
  return [v & 0xff, v >> 8];
}

function put(image: RegisterImage, register: number, bytes: readonly number[]): RegisterImage {
  bytes.forEach((b, i) => (image[register + i] = b & 0xff));
  return image;
}

/** HTS221: calibration as stored (x2 %RH, 10-bit x8 °C, signed ADC counts) and the current outputs. */
export interface Hts221Values {
  h0RhX2: number;
  h1RhX2: number;
  t0DegCx8: number;
  t1DegCx8: number;
  h0T0Out: number;
  h1T0Out: number;
  t0Out: number;
  t1Out: number;
  hOut: number;
  tOut: number;
}

export function hts221Registers(v: Hts221Values): RegisterImage {
  const image: RegisterImage = { 0x0f: 0xbc, 0x10: 0x1b, 0x27: 0x03 };
  put(image, 0x28, [...le16(v.hOut), ...le16(v.tOut)]);
  put(image, 0x30, [v.h0RhX2, v.h1RhX2, v.t0DegCx8 & 0xff, v.t1DegCx8 & 0xff, 0x00]);
  // 0x35: T1 bits 9:8 in bits 3:2, T0 bits 9:8 in bits 1:0
  image[0x35] = (((v.t1DegCx8 >> 8) & 0x03) << 2) | ((v.t0DegCx8 >> 8) & 0x03);
  put(image, 0x36, le16(v.h0T0Out));
  put(image, 0x3a, le16(v.h1T0Out));
  put(image, 0x3c, [...le16(v.t0Out), ...le16(v.t1Out)]);
  return image;
}

/** LPS25H: PRESS_OUT as a signed 24-bit count, TEMP_OUT as a signed 16-bit count. */
export function lps25hRegisters(v: { pressOut: number; tempOut: number }): RegisterImage {
  const p = v.pressOut & 0xffffff;
  return put({ 0x0f: 0xbd, 0x27: 0x03 }, 0x28, [p & 0xff, (p >> 8) & 0xff, p >> 16, ...le16(v.tempOut)]);
}

const vec = (v: Vec3): number[] => [...le16(v.x), ...le16(v.y), ...le16(v.z)];

/** LSM9DS1 accelerometer/gyroscope: raw counts per axis; CTRL_REG8 at its power-on 0x04 (IF_ADD_INC). */
export function lsm9ds1AgRegisters(v: { accel: Vec3; gyro: Vec3 }): RegisterImage {
  const image: RegisterImage = { 0x0f: 0x68, 0x17: 0x03, 0x22: 0x04, 0x27: 0x03 };
  return put(put(image, 0x18, vec(v.gyro)), 0x28, vec(v.accel));
}

/** LSM9DS1 magnetometer: raw counts per axis; CTRL_REG3_M at its power-on 0x03 (power-down). */
export function lsm9ds1MagRegisters(v: { mag: Vec3 }): RegisterImage {
  return put({ 0x0f: 0x3d, 0x22: 0x03, 0x27: 0x08 }, 0x28, vec(v.mag));
}

/** TCS3400: raw counts; id 0x90 or 0x93. */
export function tcs3400Registers(v: { id?: number; clear: number; red: number; green: number; blue: number }): RegisterImage {
  const image: RegisterImage = { 0x92: v.id ?? 0x90, 0x93: 0x01 };
  return put(image, 0x94, [...le16(v.clear), ...le16(v.red), ...le16(v.green), ...le16(v.blue)]);
}

/** A whole board with plausible readings (a v2 board unless `colour: false`), chips at their usual addresses. */
export function fakeSenseHat(opts: { colour?: boolean; agAddress?: number; magAddress?: number; colourAddress?: number } = {}): FakeI2cBus {
  const bus = new FakeI2cBus();
  // HTS221: the datasheet's temperature example (10–20 °C, T_OUT 400 = 15 °C) and round humidity points (20–40 %RH, 30 %RH).
  bus.add(
    0x5f,
    'address-msb',
    hts221Registers({
      h0RhX2: 40,
      h1RhX2: 80,
      t0DegCx8: 80,
      t1DegCx8: 160,
      h0T0Out: 0,
      h1T0Out: 6000,
      t0Out: 300,
      t1Out: 500,
      hOut: 3000,
      tOut: 400,
    }),
  );
  bus.add(0x5c, 'address-msb', lps25hRegisters({ pressOut: 0x3ff58d, tempOut: -8068 }));
  bus.add(opts.agAddress ?? 0x6a, 'ctrl-reg8', lsm9ds1AgRegisters({ accel: { x: 0, y: 0, z: 4098 }, gyro: { x: 0, y: 0, z: 0 } }));
  bus.add(opts.magAddress ?? 0x1c, 'address-msb', lsm9ds1MagRegisters({ mag: { x: 1500, y: 0, z: -3000 } }));
  if (opts.colour !== false) {
    const colour = tcs3400Registers({ clear: 1200, red: 400, green: 500, blue: 300 });
    bus.add(opts.colourAddress ?? 0x29, 'always', colour, 0x92);
  }
  return bus;
}
