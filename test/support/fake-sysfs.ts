/**
 * A fake sysfs + /dev tree in a temp dir, shaped like the real one where
 * readers could trip: the entries under /sys/bus and /sys/class are symlinks
 * into /sys/devices (so code that skips non-directories misses them, as it
 * would on a Pi), and an input device's `device` link points at its parent.
 *
 * Input event devices are FIFOs: like a character device they are read as a
 * stream, a non-blocking read of an empty one says EAGAIN, and bytes written
 * arrive while the reader has it open. A regular file the test appends to
 * would instead read as ended (0 bytes) once consumed, which a reader must
 * treat as an unplugged device. The test opens the FIFO read-write (`openInput`):
 * that never blocks and keeps a writer attached, so the reader sees EAGAIN
 * rather than end of file until the test closes it.
 */
import { execFileSync } from 'node:child_process';
import { constants, mkdirSync, openSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { tempDir } from './tmp';

/** An IIO device: its `name` and attribute files (`in_temp_raw: 1234`, `in_accel_scale: '0.000598'`, ...). */
export interface IioSpec {
  name: string;
  files: Record<string, string | number>;
}

export class FakeSysfs {
  /** pass as the sysfs root (`sysfsRoot`, `sysRoot`) */
  readonly sys: string;
  /** pass as the /dev root */
  readonly dev: string;
  private readonly iio = new Map<number, IioSpec>();
  private readonly inputs = new Map<number, string>();

  constructor(root = tempDir('picam-sysfs-')) {
    this.sys = join(root, 'sys');
    this.dev = join(root, 'dev');
    for (const d of ['bus/iio/devices', 'class/input', 'class/graphics', 'devices']) mkdirSync(join(this.sys, d), { recursive: true });
    mkdirSync(join(this.dev, 'input'), { recursive: true });
  }

  // ------------------------------------------------------------------ IIO

  /** Binds an IIO device as iio:device`n` (default: the next free number). Returns n. */
  addIio(spec: IioSpec, n = this.nextFree(this.iio)): number {
    this.iio.set(n, { name: spec.name, files: { ...spec.files } });
    const real = join(this.sys, 'devices', 'platform', `iio-${n}`, `iio:device${n}`);
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'name'), `${spec.name}\n`);
    for (const [file, value] of Object.entries(spec.files)) writeFileSync(join(real, file), `${value}\n`);
    this.link(real, join(this.sys, 'bus', 'iio', 'devices', `iio:device${n}`));
    return n;
  }

  /** Changes (or adds) one attribute file of a bound device. */
  setIio(n: number, file: string, value: string | number): void {
    const spec = this.iio.get(n);
    if (!spec) throw new Error(`no iio:device${n}`);
    spec.files[file] = value;
    writeFileSync(join(this.sys, 'bus', 'iio', 'devices', `iio:device${n}`, file), `${value}\n`);
  }

  /** Unbinds the driver: the device and its files disappear. Returns its spec, for `addIio` again. */
  unbindIio(n: number): IioSpec {
    const spec = this.iio.get(n);
    if (!spec) throw new Error(`no iio:device${n}`);
    this.iio.delete(n);
    rmSync(join(this.sys, 'bus', 'iio', 'devices', `iio:device${n}`));
    rmSync(join(this.sys, 'devices', 'platform', `iio-${n}`), { recursive: true });
    return spec;
  }

  // ------------------------------------------------------------------ input devices

  /** Adds input device `n` named `name`: /sys/class/input/event`n` and the FIFO /dev/input/event`n`. */
  addInput(name: string, n = this.nextFree(this.inputs)): { n: number; path: string } {
    this.inputs.set(n, name);
    const input = join(this.sys, 'devices', 'virtual', 'input', `input${n}`);
    const event = join(input, `event${n}`);
    mkdirSync(event, { recursive: true });
    writeFileSync(join(input, 'name'), `${name}\n`);
    symlinkSync('..', join(event, 'device'));
    this.link(input, join(this.sys, 'class', 'input', `input${n}`));
    this.link(event, join(this.sys, 'class', 'input', `event${n}`));
    const path = this.inputPath(n);
    execFileSync('mkfifo', [path]);
    return { n, path };
  }

  inputPath(n: number): string {
    return join(this.dev, 'input', `event${n}`);
  }

  /**
   * Opens /dev/input/event`n` for the test to write events into (read-write,
   * so a FIFO neither blocks nor reports end of file to the reader). Close it
   * with `closeSync` to make the reader see the device end.
   */
  openInput(n: number): number {
    return openSync(this.inputPath(n), constants.O_RDWR);
  }

  /** Unplugs input device `n`: its sysfs entries and device node go. Returns its name, for `addInput` again. */
  removeInput(n: number): string {
    const name = this.inputs.get(n);
    if (name === undefined) throw new Error(`no input device ${n}`);
    this.inputs.delete(n);
    for (const link of [`event${n}`, `input${n}`]) rmSync(join(this.sys, 'class', 'input', link));
    rmSync(join(this.sys, 'devices', 'virtual', 'input', `input${n}`), { recursive: true });
    rmSync(this.inputPath(n));
    return name;
  }

  // ------------------------------------------------------------------ framebuffers (LED matrix)

  /** Adds framebuffer `n` named `name` (e.g. 'RPi-Sense FB'): /sys/class/graphics/fb`n`/name and /dev/fb`n` (`size` zero bytes). */
  addFramebuffer(name: string, opts: { n?: number; size?: number } = {}): { n: number; path: string } {
    const n = opts.n ?? 0;
    const real = join(this.sys, 'devices', 'virtual', 'graphics', `fb${n}`);
    mkdirSync(real, { recursive: true });
    writeFileSync(join(real, 'name'), `${name}\n`);
    this.link(real, join(this.sys, 'class', 'graphics', `fb${n}`));
    const path = join(this.dev, `fb${n}`);
    writeFileSync(path, Buffer.alloc(opts.size ?? 128)); // 8×8 RGB565
    return { n, path };
  }

  removeFramebuffer(n: number): void {
    rmSync(join(this.sys, 'class', 'graphics', `fb${n}`));
    rmSync(join(this.sys, 'devices', 'virtual', 'graphics', `fb${n}`), { recursive: true });
    rmSync(join(this.dev, `fb${n}`), { force: true });
  }

  // ------------------------------------------------------------------

  /** A relative symlink, as sysfs has. */
  private link(target: string, at: string): void {
    symlinkSync(relative(join(at, '..'), target), at);
  }

  private nextFree(used: Map<number, unknown>): number {
    let n = 0;
    while (used.has(n)) n++;
    return n;
  }
}

// ------------------------------------------------------------------ the Sense HAT's IIO devices

/** Values as the kernel drivers print them (scales with 9 decimals). */
export const HTS221: IioSpec = {
  name: 'hts221',
  files: {
    in_humidityrelative_raw: 12345,
    in_humidityrelative_scale: '0.019531250',
    in_humidityrelative_offset: 2291655, // (12345 + 2291655) × 0.01953125 = 45000 milli-%RH exactly
    in_temp_raw: -2000,
    in_temp_scale: '0.062500000',
    in_temp_offset: 410000, // 408000 × 0.0625 = 25500 milli-°C
  },
};
export const LPS25H: IioSpec = {
  name: 'lps25h',
  files: {
    in_pressure_raw: 4150272,
    in_pressure_scale: '0.000024414', // kPa per LSB (1/40960)
    in_temp_raw: -2400,
    in_temp_scale: '2.083333333', // milli-°C per LSB (1000/480)
    in_temp_offset: 20400, // 42.5 °C × 480
  },
};
export const ACCEL: IioSpec = {
  name: 'lsm9ds1-imu_accel', // st_lsm6dsx: "<ST_LSM9DS1_DEV_NAME>_accel"
  files: { in_accel_x_raw: -164, in_accel_y_raw: 82, in_accel_z_raw: 16393, in_accel_scale: '0.000598205' },
};
export const GYRO: IioSpec = {
  name: 'lsm9ds1-imu_gyro',
  files: { in_anglvel_x_raw: 100, in_anglvel_y_raw: -200, in_anglvel_z_raw: 0, in_anglvel_scale: '0.000152716' },
};
export const MAGN: IioSpec = {
  name: 'lsm9ds1_magn',
  files: {
    in_magn_x_raw: 1400,
    in_magn_y_raw: -10,
    in_magn_z_raw: -3100,
    in_magn_x_scale: '0.000140000',
    in_magn_y_scale: '0.000150000',
    in_magn_z_scale: '0.000160000',
  },
};
