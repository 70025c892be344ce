/**
 * The interface every LED matrix driver implements: the board's (led-driver.ts)
 * and the in-memory one (memory-led-driver.ts). Its own module so that both can
 * import it without importing each other.
 */
import type { Rgb } from './colours';
import type { Rotation, TextStyle } from './led-commands';

export type LedKind = 'sensehat' | 'simulated';

/** The matrix operations, all async; each rejects with an Error saying what failed. */
export interface LedDriver {
  readonly kind: LedKind;
  clear(colour: Rgb): Promise<void>;
  /** x, y 0–7 in the rotated frame */
  setPixel(x: number, y: number, colour: Rgb): Promise<void>;
  /** scrolls the text; resolves when it has gone by */
  showMessage(text: string, style: TextStyle): Promise<void>;
  showLetter(letter: string, style: TextStyle): Promise<void>;
  /** turns the picture with it (redraw) */
  setRotation(degrees: Rotation): Promise<void>;
  flipH(): Promise<void>;
  flipV(): Promise<void>;
  setLowLight(on: boolean): Promise<void>;
  /** refuses later calls; safe to call twice */
  close(): Promise<void>;
}
