/**
 * Chooses where Sense HAT readings come from. `auto` prefers kernel IIO
 * drivers when some are bound (the kernel then owns the chips), else the I²C
 * bus directly (the usual case on Raspberry Pi OS). It never falls back to
 * the simulation: on a Pi whose board is loose, made-up readings stored as
 * real ones would be worse than none, so `auto` reports what it did not find.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { I2cBackend, openI2cBus } from './i2c-backend';
import { IioBackend } from './iio-backend';
import { SimulatedBackend } from './simulated';
import type { BackendName, SenseBackend } from './types';

export type BackendChoice = 'auto' | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'i2c', 'iio', 'simulated'];

export interface BackendOptions {
  i2cBus: number;
  /** where sysfs is (tests point it at a fake tree) */
  sysfsRoot: string;
  log: (line: string) => void;
}

/** IIO device names of the Sense HAT's chips (the kernel's st_sensors names, with - or _). */
const SENSE_IIO = /^(hts221|lps25h|lsm9ds1)/;

export async function openBackend(choice: BackendChoice, opts: BackendOptions): Promise<SenseBackend> {
  switch (choice) {
    case 'simulated':
      return new SimulatedBackend();
    case 'iio':
      return usable(
        await IioBackend.open({ sysfsRoot: opts.sysfsRoot, log: opts.log }),
        `no Sense HAT IIO devices under ${opts.sysfsRoot}/bus/iio/devices`,
      );
    case 'i2c':
      return usable(
        await I2cBackend.open(await openI2cBus(opts.i2cBus), { log: opts.log }),
        `no Sense HAT chip answered on /dev/i2c-${opts.i2cBus}`,
      );
    case 'auto': {
      if (await hasSenseIio(opts.sysfsRoot)) return openBackend('iio', opts);
      return openBackend('i2c', opts);
    }
    default:
      throw new Error(`unknown backend "${String(choice)}" (expected ${BACKEND_CHOICES.join(', ')})`);
  }
}

/** A backend with no stream at all is as good as none: close it and say why. */
async function usable(backend: SenseBackend, none: string): Promise<SenseBackend> {
  if (backend.has.environment || backend.has.motion || backend.has.colour) return backend;
  await backend.close();
  throw new Error(none);
}

async function hasSenseIio(sysfsRoot: string): Promise<boolean> {
  const dir = join(sysfsRoot, 'bus', 'iio', 'devices');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return false; // no IIO subsystem at all: nothing bound
  }
  for (const entry of entries) {
    const name = await readFile(join(dir, entry, 'name'), 'utf8').catch(() => '');
    if (SENSE_IIO.test(name.trim())) return true;
  }
  return false;
}
