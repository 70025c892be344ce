/**
 * An 8×8 LED matrix in memory: the simulated board for machines without a
 * Sense HAT (the node's `simulated` driver), the mirror from which the node
 * reports the board's state, and the recorded driver of the tests (every call
 * is kept in `calls`). Rotation and flips follow sense-hat-led exactly (its
 * pos() map). It draws no glyphs: text leaves the background colour on the
 * matrix and its words in `text`.
 */
import type { Rgb } from './colours';
import { OFF, type Rotation, type TextStyle } from './led-commands';
import type { LedDriver } from './led-matrix';

export interface MemoryLedOptions {
  /** how long a scroll takes, relative to the board: 1 as long (default), 0 no time at all */
  timeScale?: number;
}

/** What the matrix shows: the node's state output. */
export interface LedState {
  /** 64 × [r, g, b], row by row from the top left, as the LEDs sit on the board (HDMI port down), whatever the rotation */
  pixels: Rgb[];
  rotation: Rotation;
  lowLight: boolean;
  /** the text shown last, while no pixel command has drawn since */
  text?: string;
}

export interface RecordedCall {
  method: Exclude<keyof LedDriver, 'kind'>;
  args: unknown[];
}

/** sense-hat-led's pos(): the LED behind pixel (x, y) of the rotated frame. */
export function ledIndex(x: number, y: number, rotation: Rotation): number {
  switch (rotation) {
    case 0:
      return y * 8 + x;
    case 90:
      return y + (7 - x) * 8;
    case 180:
      return (7 - y) * 8 + (7 - x);
    case 270:
      return 7 - y + x * 8;
  }
}

/**
 * Steps of sense-hat-led's showMessage: one column of padding each side, each
 * character at most 5 columns plus 2 of spacing, an 8-column window. An upper
 * bound (narrow characters are trimmed), used for the simulated duration and
 * the board's time-out.
 */
export function scrollSteps(text: string): number {
  return Math.max(1, 2 + 7 * [...text].length - 8);
}

const fill = (colour: Rgb): Rgb[] => Array.from({ length: 64 }, () => [...colour] as Rgb);

export class MemoryLedDriver implements LedDriver {
  readonly kind = 'simulated' as const;
  readonly calls: RecordedCall[] = [];
  private leds: Rgb[] = fill(OFF);
  private rotation: Rotation = 0;
  private lowLight = false;
  private text?: string;
  private scroll?: { timer: NodeJS.Timeout; end: () => void };
  private closed = false;
  private readonly timeScale: number;

  constructor(options: MemoryLedOptions = {}) {
    this.timeScale = Math.max(0, options.timeScale ?? 1);
  }

  async clear(colour: Rgb = OFF): Promise<void> {
    this.record('clear', [colour]);
    this.leds = fill(colour);
    this.text = undefined;
  }

  async setPixel(x: number, y: number, colour: Rgb): Promise<void> {
    this.record('setPixel', [x, y, colour]);
    if (![x, y].every((v) => Number.isInteger(v) && v >= 0 && v <= 7)) throw new Error(`pixel ${x},${y} is off the 8×8 matrix`);
    this.leds[ledIndex(x, y, this.rotation)] = [...colour];
    this.text = undefined;
  }

  /** Like the board: the text takes its time (scaled), and the matrix ends in the background colour. */
  async showMessage(text: string, style: TextStyle): Promise<void> {
    this.record('showMessage', [text, style]);
    this.leds = fill(style.background);
    this.text = text;
    const ms = scrollSteps(text) * style.scrollSpeed * 1000 * this.timeScale;
    if (ms < 1) return;
    await new Promise<void>((end) => {
      this.scroll = { timer: setTimeout(end, ms), end };
    });
    this.scroll = undefined;
  }

  async showLetter(letter: string, style: TextStyle): Promise<void> {
    this.record('showLetter', [letter, style]);
    this.leds = fill(style.background);
    this.text = letter;
  }

  /** Turns the picture with the frame, as sense-hat-led's setRotation(r, redraw = true) does. */
  async setRotation(degrees: Rotation): Promise<void> {
    this.record('setRotation', [degrees]);
    const view = this.view();
    this.rotation = degrees;
    this.draw(view);
  }

  async flipH(): Promise<void> {
    this.record('flipH', []);
    const view = this.view();
    this.draw(view.map((_, i) => view[i - (i % 8) + 7 - (i % 8)]!));
  }

  async flipV(): Promise<void> {
    this.record('flipV', []);
    const view = this.view();
    this.draw(view.map((_, i) => view[(7 - Math.floor(i / 8)) * 8 + (i % 8)]!));
  }

  async setLowLight(on: boolean): Promise<void> {
    this.record('setLowLight', [on]);
    this.lowLight = on;
  }

  /** Ends a scroll at once; later calls are refused. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.calls.push({ method: 'close', args: [] });
    this.closed = true;
    if (this.scroll) {
      clearTimeout(this.scroll.timer);
      this.scroll.end();
    }
  }

  state(): LedState {
    return {
      pixels: this.leds.map((p) => [...p] as Rgb),
      rotation: this.rotation,
      lowLight: this.lowLight,
      ...(this.text !== undefined ? { text: this.text } : {}),
    };
  }

  /** The colour at (x, y) of the rotated frame: what setPixel(x, y) addresses. */
  pixel(x: number, y: number): Rgb {
    return [...this.leds[ledIndex(x, y, this.rotation)]!];
  }

  /** The colour of the LED at column x, row y of the board itself (rotation 0). */
  led(x: number, y: number): Rgb {
    return [...this.leds[y * 8 + x]!];
  }

  private record(method: RecordedCall['method'], args: unknown[]): void {
    if (this.closed) throw new Error('the simulated LED matrix is closed');
    this.calls.push({ method, args: structuredClone(args) });
  }

  /** The picture in the rotated frame, index y * 8 + x. */
  private view(): Rgb[] {
    return Array.from({ length: 64 }, (_, i) => this.leds[ledIndex(i % 8, Math.floor(i / 8), this.rotation)]!);
  }

  private draw(view: Rgb[]): void {
    view.forEach((p, i) => (this.leds[ledIndex(i % 8, Math.floor(i / 8), this.rotation)] = [...p]));
  }
}
