/**
 * Sense HAT readings through kernel IIO drivers, for boards where the user
 * has bound them (Raspberry Pi OS normally does not: shared/reference/sensehat.md).
 * Each chip appears as `/sys/bus/iio/devices/iio:deviceN/` with a `name` and
 * one file per channel; value = (raw + offset) × scale, in IIO's units, which
 * we convert to the stock node's (°C, %RH, hPa, g, rad/s, gauss).
 *
 * Drivers come and go at run time (unbind/rebind, module reload), and a
 * rebound driver may get a different N, so a failed read marks the scan stale
 * and the next read scans again instead of holding on to dead paths.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toBoardAxes } from './lsm9ds1';
import type { ColourSample, EnvironmentSample, MotionSample, SenseBackend, Vec3 } from './types';

/** m/s² per g (standard gravity): IIO reports acceleration in m/s², the nodes in g. */
const STANDARD_GRAVITY = 9.80665;

type Role = 'humidity' | 'pressure' | 'accel' | 'gyro' | 'magn';
type Stream = 'environment' | 'motion';

/**
 * IIO `name`s per role, compared after lower-casing and turning '-' into '_'.
 * - hts221: the i2c client's name, "hts221", or "hts221-humid" when the DT
 *   node's first compatible is "st,hts221-humid" (the Sense HAT overlays').
 * - lps25h: st_pressure's LPS25H_PRESS_DEV_NAME is "lps25h"; kernels whose
 *   st_sensors took the name from the DT compatible ("st,lps25h-press") show
 *   "lps25h-press".
 * - lsm9ds1 magnetometer: st_magn's LSM9DS1_MAGN_DEV_NAME "lsm9ds1_magn"
 *   ("lsm9ds1-magn" from the compatible on older kernels).
 * - lsm9ds1 accel/gyro: st_lsm6dsx names its devices "<chip>_accel" and
 *   "<chip>_gyro" with chip ST_LSM9DS1_DEV_NAME, "lsm9ds1-imu" in released
 *   kernels ("lsm9ds1" in the first version of that patch); overlays
 *   that name the accelerometer "lsm9ds1-accel" are covered too.
 */
const NAMES: Record<Role, readonly string[]> = {
  humidity: ['hts221', 'hts221_humid'],
  pressure: ['lps25h', 'lps25h_press'],
  accel: ['lsm9ds1_accel', 'lsm9ds1_imu_accel'],
  gyro: ['lsm9ds1_gyro', 'lsm9ds1_imu_gyro'],
  magn: ['lsm9ds1_magn'],
};
const STREAM_ROLES: Record<Stream, readonly Role[]> = {
  environment: ['humidity', 'pressure'],
  motion: ['accel', 'gyro', 'magn'],
};

/** Which role an IIO device name plays, if any. */
export function iioRole(name: string): Role | undefined {
  const n = name.trim().toLowerCase().replace(/-/g, '_');
  return (Object.keys(NAMES) as Role[]).find((role) => NAMES[role].includes(n));
}

interface IioDevice {
  role: Role;
  /** as the kernel spells it, for messages */
  name: string;
  /** `iio:deviceN` */
  id: string;
  dir: string;
  /** the attribute files present when scanned: decides per-axis vs shared scale, offset or none */
  files: ReadonlySet<string>;
}

export interface IioOptions {
  /** default '/sys'; tests point it at a fake tree */
  sysfsRoot?: string;
  log?: (line: string) => void;
}

export class IioBackend implements SenseBackend {
  readonly name = 'iio' as const;
  private devices = new Map<Role, IioDevice>();
  private stale = false;
  private scanning?: Promise<void>;
  private closed = false;

  private constructor(
    private readonly root: string,
    private readonly log: (line: string) => void,
  ) {}

  static async open(opts: IioOptions = {}): Promise<IioBackend> {
    const backend = new IioBackend(opts.sysfsRoot ?? '/sys', opts.log ?? (() => undefined));
    await backend.rescan();
    const found = [...backend.devices.values()].map((d) => `${d.name} (${d.id})`);
    backend.log(`iio: found ${found.length ? found.join(', ') : 'no Sense HAT devices'} under ${backend.base}`);
    return backend;
  }

  /** As of the last scan; a read of a missing stream scans again first, so a driver bound later is picked up. */
  get has(): { environment: boolean; motion: boolean; colour: boolean } {
    const all = (stream: Stream) => STREAM_ROLES[stream].every((role) => this.devices.has(role));
    return { environment: all('environment'), motion: all('motion'), colour: false };
  }

  async readEnvironment(): Promise<EnvironmentSample> {
    const [h, p] = await this.need('environment');
    const [humidity, tHumidity, pressure, tPressure] = await Promise.all([
      this.channel(h!, 'humidityrelative'),
      this.channel(h!, 'temp'),
      this.channel(p!, 'pressure'),
      this.channel(p!, 'temp'),
    ]);
    // IIO units: milli-%RH, milli-°C, kPa.
    return {
      humidity: humidity / 1000,
      temperatureFromHumidity: tHumidity / 1000,
      pressure: pressure * 10,
      temperatureFromPressure: tPressure / 1000,
    };
  }

  async readMotion(): Promise<MotionSample> {
    const [a, g, m] = await this.need('motion');
    const [acceleration, gyroscope, magnetometer] = await Promise.all([
      this.vector(a!, 'accel'),
      this.vector(g!, 'anglvel'),
      this.vector(m!, 'magn'),
    ]);
    // IIO units: m/s² (→ g), rad/s and gauss (as the nodes use them).
    const inG = (v: number) => v / STANDARD_GRAVITY;
    // The kernel reports the chip's axes: turn them into the board's, as the I²C backend does.
    return toBoardAxes({
      acceleration: { x: inG(acceleration.x), y: inG(acceleration.y), z: inG(acceleration.z) },
      gyroscope,
      magnetometer,
    });
  }

  async readColour(): Promise<ColourSample> {
    throw new Error('iio: this backend does not read the TCS3400 colour sensor (no IIO driver); use the i2c backend');
  }

  /** Holds no files or timers between reads: only stops further reads. */
  async close(): Promise<void> {
    this.closed = true;
  }

  private get base(): string {
    return join(this.root, 'bus', 'iio', 'devices');
  }

  /** The devices a stream needs, scanning again when the last read failed or one is missing. */
  private async need(stream: Stream): Promise<IioDevice[]> {
    if (this.closed) throw new Error(`iio: cannot read ${stream}: the backend is closed`);
    const roles = STREAM_ROLES[stream];
    if (this.stale || roles.some((role) => !this.devices.has(role))) await this.rescan();
    const missing = roles.filter((role) => !this.devices.has(role));
    if (missing.length) {
      const names = missing.map((role) => NAMES[role][0]).join(', ');
      throw new Error(`iio: ${stream} unavailable: no ${names} device under ${this.base}`);
    }
    return roles.map((role) => this.devices.get(role)!);
  }

  private rescan(): Promise<void> {
    // Concurrent reads share one scan.
    this.scanning ??= this.scan().finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scan(): Promise<void> {
    let entries: string[];
    try {
      entries = await readdir(this.base);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      entries = []; // no IIO core loaded: no devices, which `has` reports
    }
    const ids = entries.filter((e) => /^iio:device\d+$/.test(e)).sort((a, b) => num(a) - num(b));
    const found = new Map<Role, IioDevice>();
    for (const id of ids) {
      const dir = join(this.base, id);
      const device = await describe(id, dir);
      if (!device) continue;
      if (found.has(device.role)) {
        this.log(`iio: ignoring ${device.name} (${id}): ${found.get(device.role)!.id} already gives ${device.role}`);
        continue;
      }
      found.set(device.role, device);
    }
    this.devices = found;
    this.stale = false;
  }

  private async vector(dev: IioDevice, type: string): Promise<Vec3> {
    const [x, y, z] = await Promise.all(['x', 'y', 'z'].map((axis) => this.channel(dev, type, axis)));
    return { x: x!, y: y!, z: z! };
  }

  /** (raw + offset) × scale, with a per-channel scale/offset preferred to the shared one. */
  private async channel(dev: IioDevice, type: string, axis?: string): Promise<number> {
    const own = axis ? `in_${type}_${axis}` : `in_${type}`;
    const pick = (attr: string) => [`${own}_${attr}`, `in_${type}_${attr}`].find((f) => dev.files.has(f));
    const scale = pick('scale');
    const offset = pick('offset');
    const [raw, s, o] = await Promise.all([
      this.number(dev, `${own}_raw`),
      scale ? this.number(dev, scale) : 1, // IIO: no scale means the raw value is already in the channel's unit
      offset ? this.number(dev, offset) : 0,
    ]);
    return (raw + o) * s;
  }

  private async number(dev: IioDevice, file: string): Promise<number> {
    const path = join(dev.dir, file);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      this.stale = true; // unbound or rebound: find the devices again on the next read
      throw new Error(`iio: ${dev.name} (${dev.id}): cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    const value = Number(text.trim());
    if (text.trim() === '' || !Number.isFinite(value)) {
      throw new Error(`iio: ${dev.name} (${dev.id}): ${path} holds "${text.trim()}", not a number`);
    }
    return value;
  }
}

/** A device we know, with its attribute files; undefined for other chips or one that vanished meanwhile. */
async function describe(id: string, dir: string): Promise<IioDevice | undefined> {
  try {
    const name = (await readFile(join(dir, 'name'), 'utf8')).trim();
    const role = iioRole(name);
    if (!role) return undefined;
    return { role, name, id, dir, files: new Set(await readdir(dir)) };
  } catch (err) {
    // Unbound between readdir and here: it is simply not there.
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function num(id: string): number {
  return Number(/\d+$/.exec(id)?.[0] ?? 0);
}
