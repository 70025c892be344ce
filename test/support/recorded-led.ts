/**
 * The recorded LED driver for sensehat-out's node tests: a MemoryLedDriver
 * (every call kept in `calls`) handed to the nodes through
 * setDriverFactoryForTests, and a fake sysfs tree with a Sense HAT framebuffer.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLedDriver, setDriverFactoryForTests, type LedKind, type RecordedCall } from '../../nodes/sensehat-out/led-driver';

/** The calls every node makes when it starts (rotation 0, clear, normal brightness). */
export const RESET_CALLS = 3;

export interface RecordedLed {
  driver: MemoryLedDriver;
  /** the kinds the nodes asked for, in order */
  kinds: LedKind[];
  /** the calls after the start-up reset, as `method(args)` strings */
  calls(): string[];
  restore(): void;
}

/**
 * Nodes created from now on draw on one MemoryLedDriver. `timeScale` shortens
 * scrolls (0.02: a 5-letter scroll at speed 3 takes about 60 ms).
 */
export function recordLed(timeScale = 0.02): RecordedLed {
  const driver = new MemoryLedDriver({ timeScale });
  const kinds: LedKind[] = [];
  setDriverFactoryForTests((kind) => {
    kinds.push(kind);
    return driver;
  });
  return {
    driver,
    kinds,
    calls: () => driver.calls.slice(RESET_CALLS).map(show),
    restore: () => setDriverFactoryForTests(),
  };
}

const show = (c: RecordedCall) => `${c.method}(${c.args.map((a) => JSON.stringify(a)).join(', ')})`;

/** A sysfs root whose class/graphics holds fb0 (another display) and `fb` named "RPi-Sense FB". */
export function fakeSysfs(root: string, fb = 'fb1'): string {
  for (const [name, text] of [
    ['fb0', 'simple\n'],
    [fb, 'RPi-Sense FB\n'],
  ] as const) {
    mkdirSync(join(root, 'class', 'graphics', name), { recursive: true });
    writeFileSync(join(root, 'class', 'graphics', name, 'name'), text);
  }
  return root;
}
