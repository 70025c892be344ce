/**
 * The Sense HAT read straight over I²C, as the Python sense-hat library does:
 * on Raspberry Pi OS no kernel driver is bound to the sensors, so this is the
 * usual backend.
 *
 * open() probes each chip by its ID register at each address it can have,
 * initialises those that answer and sets `has`: environment needs the HTS221
 * and the LPS25H, motion both LSM9DS1 devices, colour the TCS3400 (v2 board).
 * A chip missing at open is logged (name, addresses, what they answered) and
 * its stream stays unavailable until the backend is opened again.
 *
 * Run-time failures: an I²C error during a read (EIO, ENXIO, EREMOTEIO: a board
 * unplugged or loose) rejects that read with a SenseChipError naming the chip,
 * its address and the register, and marks the chip for re-initialisation. The
 * next read of its stream checks the chip's ID again, reconfigures it (a chip
 * that lost power has lost its settings) and waits for its first sample, so a
 * re-seated board recovers without a redeploy. Other chips carry on meanwhile.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HTS221_CHIP } from './hts221';
import { LPS25H_CHIP } from './lps25h';
import { LSM9DS1_AG_CHIP, LSM9DS1_MAG_CHIP, toBoardAxes } from './lsm9ds1';
import { TCS3400_CHIP } from './tcs3400';
import type { ChipDriver, ChipSpec, ColourSample, EnvironmentSample, I2cBus, MotionSample, SenseBackend } from './types';

/** A chip's failure: which chip, where, and the bus's errno code (EIO, EREMOTEIO, …) when the bus failed. */
export class SenseChipError extends Error {
  readonly code?: string;

  constructor(
    message: string,
    readonly chip: string,
    readonly address: number,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'SenseChipError';
    this.code = errnoCode(cause);
  }
}

export interface I2cBackendOptions {
  log?: (line: string) => void;
  /** how long a chip may take to give its first sample after power-up (default 500 ms) */
  readyTimeoutMs?: number;
}

const READY_POLL_MS = 10;

/** One chip: where it was found, and whether it must be configured before its next read. */
class ChipSlot<T> {
  private readonly bus: I2cBus;
  private driver?: ChipDriver<T>;
  private missing = '';
  private configured = false;

  constructor(
    private readonly spec: ChipSpec<T>,
    bus: I2cBus,
    private readonly readyTimeoutMs: number,
  ) {
    this.bus = annotated(bus, spec);
  }

  get present(): boolean {
    return this.driver !== undefined;
  }

  /** Looks for the chip at each of its addresses; returns the line to log. */
  async probe(): Promise<string> {
    const tried: string[] = [];
    for (const address of this.spec.addresses) {
      const wrong = await this.identify(address).catch(
        (err: unknown) => `no answer at ${hex(address)} (${errnoCode(err) ?? describe(err)})`,
      );
      if (wrong === undefined) {
        this.driver = this.spec.create(this.bus, address);
        return `${this.spec.name} found at ${hex(address)}`;
      }
      tried.push(wrong);
    }
    this.missing = `${this.spec.name} not found: ${tried.join('; ')}`;
    return this.missing;
  }

  /** Checks the ID again (the board may have changed), configures the chip and waits for its first sample. */
  async start(): Promise<void> {
    const driver = this.need('');
    const wrong = await this.identify(driver.address);
    if (wrong !== undefined) throw new SenseChipError(`${this.spec.name}: ${wrong}`, this.spec.name, driver.address);
    await driver.init();
    const deadline = Date.now() + this.readyTimeoutMs;
    while (!(await driver.ready())) {
      const late = `${this.spec.name} at ${hex(driver.address)}: no sample ${this.readyTimeoutMs} ms after power-up`;
      if (Date.now() >= deadline) throw new SenseChipError(late, this.spec.name, driver.address);
      await sleep(READY_POLL_MS);
    }
    this.configured = true;
  }

  /** Reads, configuring the chip first if it failed before; any failure marks it for configuring again. */
  async read(stream: string): Promise<T> {
    const driver = this.need(stream);
    try {
      if (!this.configured) await this.start();
      return await driver.read();
    } catch (err) {
      this.configured = false;
      throw err;
    }
  }

  async powerDown(): Promise<void> {
    if (this.driver && this.configured) await this.driver.powerDown();
  }

  /** undefined when the ID register says this is the chip, else what it said */
  private async identify(address: number): Promise<string | undefined> {
    const { idRegister, expected } = this.spec;
    const id = await this.bus.readByte(address, idRegister);
    return this.spec.accepts(id)
      ? undefined
      : `${hex(address)} answered ${hex(id)} to ID register ${hex(idRegister)} (expected ${expected})`;
  }

  private need(stream: string): ChipDriver<T> {
    if (!this.driver) throw new Error(`${stream} unavailable: ${this.missing}`);
    return this.driver;
  }
}

export class I2cBackend implements SenseBackend {
  readonly name = 'i2c' as const;
  readonly has: SenseBackend['has'];
  /** one operation at a time: a re-initialisation must not interleave with another stream's reads */
  private queue: Promise<void> = Promise.resolve();
  private closing?: Promise<void>;

  private constructor(
    private readonly bus: I2cBus,
    private readonly chips: ReturnType<typeof slots>,
    private readonly log: (line: string) => void,
  ) {
    this.has = {
      environment: chips.hts221.present && chips.lps25h.present,
      motion: chips.accelGyro.present && chips.magnetometer.present,
      colour: chips.tcs3400.present,
    };
  }

  /** Probes and starts the chips; takes over `bus` (close() closes it). Never rejects for a missing chip. */
  static async open(bus: I2cBus, opts: I2cBackendOptions = {}): Promise<I2cBackend> {
    const log = opts.log ?? (() => undefined);
    const chips = slots(bus, opts.readyTimeoutMs ?? 500);
    for (const chip of Object.values(chips)) {
      log(await chip.probe());
      if (chip.present) await chip.start().catch((err: unknown) => log(`${describe(err)}; will retry on the next read`));
    }
    return new I2cBackend(bus, chips, log);
  }

  readEnvironment(): Promise<EnvironmentSample> {
    return this.exclusive(async () => {
      const h = await this.chips.hts221.read('environment');
      const p = await this.chips.lps25h.read('environment');
      return { humidity: h.humidity, temperatureFromHumidity: h.temperature, pressure: p.pressure, temperatureFromPressure: p.temperature };
    });
  }

  readMotion(): Promise<MotionSample> {
    return this.exclusive(async () => {
      const ag = await this.chips.accelGyro.read('motion');
      const magnetometer = await this.chips.magnetometer.read('motion');
      return toBoardAxes({ acceleration: ag.acceleration, gyroscope: ag.gyroscope, magnetometer });
    });
  }

  readColour(): Promise<ColourSample> {
    return this.exclusive(() => this.chips.tcs3400.read('colour'));
  }

  /** Waits for the read in progress, powers the chips down (saving the board's heat) and closes the bus. */
  close(): Promise<void> {
    this.closing ??= this.queue.then(async () => {
      for (const chip of Object.values(this.chips)) {
        await chip.powerDown().catch((err: unknown) => this.log(`${describe(err)} (while powering down)`));
      }
      await this.bus.close();
    });
    return this.closing;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    if (this.closing) return Promise.reject(new Error('the I²C Sense HAT backend is closed'));
    const run = this.queue.then(task);
    // The next task waits for this one, failed or not; this one's failure reaches its caller through `run`.
    this.queue = run.then(settled, settled);
    return run;
  }
}

const settled = (): void => undefined;

function slots(bus: I2cBus, readyTimeoutMs: number) {
  return {
    hts221: new ChipSlot(HTS221_CHIP, bus, readyTimeoutMs),
    lps25h: new ChipSlot(LPS25H_CHIP, bus, readyTimeoutMs),
    accelGyro: new ChipSlot(LSM9DS1_AG_CHIP, bus, readyTimeoutMs),
    magnetometer: new ChipSlot(LSM9DS1_MAG_CHIP, bus, readyTimeoutMs),
    tcs3400: new ChipSlot(TCS3400_CHIP, bus, readyTimeoutMs),
  };
}

/** The bus as one chip sees it: failures name the chip, its address and the register. */
function annotated(bus: I2cBus, spec: ChipSpec<unknown>): I2cBus {
  const guard = async <R>(address: number, register: number, what: string, op: () => Promise<R>): Promise<R> => {
    try {
      return await op();
    } catch (err) {
      const text = `${spec.name} at ${hex(address)}: ${what} register ${hex(register & spec.registerMask)} failed: ${describe(err)}`;
      throw new SenseChipError(text, spec.name, address, err);
    }
  };
  return {
    readByte: (a, r) => guard(a, r, 'reading', () => bus.readByte(a, r)),
    writeByte: (a, r, v) => guard(a, r, `writing ${hex(v)} to`, () => bus.writeByte(a, r, v)),
    readI2cBlock: (a, r, n, buffer) =>
      guard(a, r, `reading ${n} bytes from`, async () => {
        const result = await bus.readI2cBlock(a, r, n, buffer);
        if (result.bytesRead !== n) throw new Error(`short read, ${result.bytesRead} bytes`);
        return result;
      }),
    close: () => bus.close(),
  };
}

// ------------------------------------------------------------------ the real bus

/** The part of the `i2c-bus` module we use (it ships no types). */
interface I2cBusModule {
  openPromisified(busNumber: number): Promise<I2cBus & { i2cFuncs(): Promise<unknown> }>;
}

const OPEN_HINTS: Record<string, string> = {
  ENOENT: ' (is I²C enabled? raspi-config → Interface Options → I2C)',
  EACCES: ' (add the user running Node-RED to the i2c group)',
  EPERM: ' (add the user running Node-RED to the i2c group)',
};

/** A variable, not a literal: the bundler must leave this native optional module to be loaded at run time. */
const I2C_BUS_MODULE = 'i2c-bus';

/** Opens /dev/i2c-N with the optional `i2c-bus` module, loaded only now so machines without it never load it. */
export async function openI2cBus(busNumber = 1): Promise<I2cBus> {
  const device = `/dev/i2c-${busNumber}`;
  if (!Number.isInteger(busNumber) || busNumber < 0) throw new Error(`cannot open ${device}: not a bus number`);
  let i2c: I2cBusModule;
  try {
    i2c = require(I2C_BUS_MODULE) as I2cBusModule;
  } catch (err) {
    // Node's message goes on with the require stack: its first line says what failed.
    const reason = describe(err).split('\n')[0];
    const text = `cannot open ${device}: the optional module i2c-bus is not installed or does not load (${reason})`;
    throw new Error(text, { cause: err });
  }
  const bus = await i2c.openPromisified(busNumber);
  try {
    // i2c-bus opens the device file at the first transfer: ask for the adapter's functions now, so a
    // missing or forbidden device fails here with a hint instead of as five chips "not answering".
    await bus.i2cFuncs();
  } catch (err) {
    const code = errnoCode(err);
    const failure = new Error(`cannot open ${device}: ${code ?? describe(err)}${(code && OPEN_HINTS[code]) ?? ''}`, { cause: err });
    await bus.close().catch((closeErr: unknown) => {
      failure.message += `; closing it failed too: ${describe(closeErr)}`;
    });
    throw failure;
  }
  return bus; // i2c-bus's promisified bus has our I2cBus methods, same signatures
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`;
}

function describe(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // EBUSY from i2c-bus's address ioctl: a kernel driver is bound to that address.
  return errnoCode(err) === 'EBUSY' ? `${text} (a kernel driver owns it: use the iio backend)` : text;
}

function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
