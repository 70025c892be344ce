/**
 * What draws on the LED matrix: the Sense HAT through `sense-hat-led`, or the
 * MemoryLedDriver. `sense-hat-led` throws at require time without the
 * framebuffer and its `.sync` calls block the event loop, so it is required
 * lazily and only its async API is used. The framebuffer is found through
 * sysfs first, so a machine without the board is told so without the module.
 */
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Rgb } from './colours';
import { OFF, type LedOperation, type Rotation, type TextStyle } from './led-commands';
import type { LedDriver, LedKind } from './led-matrix';
import { MemoryLedDriver, scrollSteps } from './memory-led-driver';

export type { LedDriver, LedKind } from './led-matrix';
export { MemoryLedDriver, type LedState, type MemoryLedOptions, type RecordedCall } from './memory-led-driver';

/** Carries out one parsed command. */
export async function applyOperation(driver: LedDriver, op: LedOperation): Promise<void> {
  switch (op.op) {
    case 'pixels': {
      const first = op.pixels[0]?.colour;
      // The whole matrix in one colour (`*,*,red`) is one write, not 64.
      if (first && op.pixels.length === 64 && op.pixels.every((p) => p.colour.every((c, i) => c === first[i]))) return driver.clear(first);
      for (const p of op.pixels) await driver.setPixel(p.x, p.y, p.colour);
      return;
    }
    case 'rotate':
      return driver.setRotation(op.degrees);
    case 'flip':
      return op.axis === 'H' ? driver.flipH() : driver.flipV();
    case 'lowLight':
      return driver.setLowLight(op.on);
    case 'scroll':
      return driver.showMessage(op.text, op.style);
    case 'letter':
      return driver.showLetter(op.text, op.style);
  }
}

/** The state the node starts from (the stock helper's set_rotation(0) and clear(), plus normal brightness). */
export function resetOperations(): LedOperation[] {
  const pixels = Array.from({ length: 64 }, (_, i) => ({ x: i % 8, y: Math.floor(i / 8), colour: OFF }));
  return [
    { op: 'rotate', degrees: 0 },
    { op: 'pixels', pixels },
    { op: 'lowLight', on: false },
  ];
}

export const LED_FB_NAME = 'RPi-Sense FB';

/** The Sense HAT's framebuffer (`fb1`…) from `<sysfsRoot>/class/graphics/fb*\/name`, or undefined. */
export function findLedFramebuffer(sysfsRoot = '/sys'): string | undefined {
  const dir = join(sysfsRoot, 'class', 'graphics');
  let entries: string[];
  try {
    entries = readdirSync(dir).filter((e) => /^fb\d+$/.test(e));
  } catch {
    return undefined; // no graphics class at all (containers, CI): no framebuffer
  }
  return entries.sort().find((fb) => {
    try {
      return readFileSync(join(dir, fb, 'name'), 'utf8').trim() === LED_FB_NAME;
    } catch {
      return false; // a framebuffer without a readable name is not ours
    }
  });
}

/** The parts of sense-hat-led 1.2's callback API used here. */
export interface SenseHatLed {
  clear(colour: Rgb, cb: Callback): void;
  setPixel(x: number, y: number, colour: Rgb, cb: Callback): void;
  showMessage(text: string, scrollSpeed: number, colour: Rgb, background: Rgb, cb: Callback): void;
  showLetter(letter: string, colour: Rgb, background: Rgb, cb: Callback): void;
  setRotation(degrees: number, redraw: boolean, cb: Callback): void;
  flipH(redraw: boolean, cb: Callback): void;
  flipV(redraw: boolean, cb: Callback): void;
  lowLight: boolean;
}
type Callback = (err?: unknown) => void;

export interface SenseHatLedOptions {
  /** where sysfs is (tests point it at a fake tree); default /sys */
  sysfsRoot?: string;
  /** where the framebuffer device is; default /dev */
  devRoot?: string;
  /** loads sense-hat-led; default: require it now */
  load?: () => SenseHatLed;
}

export type OpenedLed = { ok: true; driver: LedDriver; device: string } | { ok: false; error: string };

// Hidden from the bundler: sense-hat-led is an optional dependency that must stay in node_modules (fonts, native ioctl).
const loadSenseHatLed = (): SenseHatLed => createRequire(__filename)('sense-hat-led') as SenseHatLed;

/** The board's matrix, or why there is none ("no Sense HAT LED matrix: …"). */
export function senseHatLedDriver(options: SenseHatLedOptions = {}): OpenedLed {
  const sysfsRoot = options.sysfsRoot || '/sys';
  const fail = (why: string): OpenedLed => ({ ok: false, error: `no Sense HAT LED matrix: ${why}` });
  const fb = findLedFramebuffer(sysfsRoot);
  if (!fb) return fail(`no framebuffer named "${LED_FB_NAME}" in ${join(sysfsRoot, 'class', 'graphics')} (is dtoverlay=rpi-sense loaded?)`);
  let led: SenseHatLed;
  try {
    led = (options.load ?? loadSenseHatLed)();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const first = String(e?.message ?? err).split('\n')[0];
    return fail(e?.code === 'MODULE_NOT_FOUND' ? `${first} (npm install sense-hat-led)` : `sense-hat-led: ${first}`);
  }
  // sense-hat-led does not check its open() results: an unwritable device would crash the process later.
  const device = join(options.devRoot || '/dev', fb);
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return fail(`cannot open ${device}: ${code}${code === 'EACCES' ? ' (add the Node-RED user to the video group)' : ''}`);
  }
  return { ok: true, driver: new SenseHatLedDriver(led), device };
}

/** The board is one per process (so is sense-hat-led's rotation): every call of every instance runs in turn. */
let boardTurn: Promise<unknown> = Promise.resolve();

class SenseHatLedDriver implements LedDriver {
  readonly kind = 'sensehat' as const;
  private closed = false;

  constructor(private readonly led: SenseHatLed) {}

  clear = (colour: Rgb) => this.call('clear', (cb) => this.led.clear(colour, cb));
  setPixel = (x: number, y: number, colour: Rgb) => this.call('setPixel', (cb) => this.led.setPixel(x, y, colour, cb));
  showLetter = (letter: string, s: TextStyle) => this.call('showLetter', (cb) => this.led.showLetter(letter, s.colour, s.background, cb));
  setRotation = (degrees: Rotation) => this.call('setRotation', (cb) => this.led.setRotation(degrees, true, cb));
  flipH = () => this.call('flipH', (cb) => this.led.flipH(true, cb));
  flipV = () => this.call('flipV', (cb) => this.led.flipV(true, cb));
  setLowLight = (on: boolean) =>
    this.call('lowLight', (cb) => {
      this.led.lowLight = on; // an ioctl, quick and synchronous
      cb();
    });

  showMessage(text: string, s: TextStyle): Promise<void> {
    const expectedMs = scrollSteps(text) * s.scrollSpeed * 1000;
    return this.call('showMessage', (cb) => this.led.showMessage(text, s.scrollSpeed, s.colour, s.background, cb), 2 * expectedMs + 10_000);
  }

  /** The board cannot stop a scroll under way: it ends by itself, and later calls of any instance wait for it. */
  async close(): Promise<void> {
    this.closed = true;
  }

  /**
   * One sense-hat-led call as a promise. Its flips give up without calling
   * back when the framebuffer cannot be read, so every call has a time-out.
   */
  private call(what: string, start: (cb: Callback) => void, timeoutMs = 5000): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the LED matrix driver is closed'));
    const run = () =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`sense-hat-led ${what} did not finish within ${timeoutMs / 1000} s`)), timeoutMs);
        const cb: Callback = (err) => {
          clearTimeout(timer);
          if (err) reject(new Error(`sense-hat-led ${what}: ${err instanceof Error ? err.message : String(err)}`));
          else resolve();
        };
        try {
          start(cb);
        } catch (err) {
          cb(err ?? new Error('failed'));
        }
      });
    const result = boardTurn.then(run);
    boardTurn = result.catch(() => undefined); // a failed call is its caller's to report; the next one still runs
    return result;
  }
}

export type LedChoice = 'auto' | LedKind;
export const LED_CHOICES: readonly LedChoice[] = ['auto', 'sensehat', 'simulated'];

export interface ChosenLed {
  driver?: LedDriver;
  /** for the status: which matrix, or why there is none */
  label: string;
  level: 'ok' | 'warn' | 'error';
}

export interface ChooseOptions extends SenseHatLedOptions {
  simulated?: () => LedDriver;
  board?: (options: SenseHatLedOptions) => OpenedLed;
}

let factoryForTests: ((kind: LedKind) => LedDriver) | undefined;

/**
 * Test hook: drivers chosen after this call (sensehat-out nodes created from
 * now on) come from `factory`, called with the kind chosen; `auto` still
 * chooses by looking for the framebuffer in sysfs. Call it without an
 * argument to restore the real drivers.
 */
export function setDriverFactoryForTests(factory?: (kind: LedKind) => LedDriver): void {
  factoryForTests = factory;
}

/**
 * `simulated`: the memory matrix. `sensehat`: the board or an error. `auto`:
 * the board when its framebuffer is there (and an error if it then cannot be
 * driven: a board that is present but failing must not look like a demo),
 * else the simulation.
 */
export function chooseLedDriver(choice: LedChoice, options: ChooseOptions = {}): ChosenLed {
  const f = factoryForTests;
  const simulated = options.simulated ?? (f ? () => f('simulated') : () => new MemoryLedDriver());
  const board = options.board ?? (f ? () => ({ ok: true as const, driver: f('sensehat'), device: '(test)' }) : senseHatLedDriver);
  if (choice === 'simulated') return { driver: simulated(), label: 'simulated LED matrix', level: 'ok' };
  if (choice === 'auto' && !findLedFramebuffer(options.sysfsRoot || '/sys')) {
    return { driver: simulated(), label: 'simulated LED matrix (no Sense HAT found)', level: 'warn' };
  }
  const opened = board(options);
  return opened.ok ? { driver: opened.driver, label: `LED matrix ${opened.device}`, level: 'ok' } : { label: opened.error, level: 'error' };
}
