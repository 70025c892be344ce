/**
 * node-red-node-pi-sense-hat's LED commands (its sensehat.js and sensehat.py)
 * parsed into typed operations. One command per line of msg.payload:
 *   x,y,colour[,x,y,colour…]  pixels; x and y 0–7, `*` (the whole row or
 *                             column) or a range `a-b`; colour a name,
 *                             #rgb/#rrggbb, r,g,b or off
 *   R0 R90 R180 R270          rotation (any case)
 *   FH FV                     flip horizontally / vertically
 *   D0 D1                     D0 = low light on (dim), D1 = normal brightness
 *   anything else             text, in msg.color, msg.background, msg.speed;
 *                             a single character is shown, longer text scrolls
 * Pure: no Node-RED, no hardware. Bad input gives an error naming the line,
 * never a throw, and never half a message.
 */
import { parseColour, type Rgb } from './colours';

export type Rotation = 0 | 90 | 180 | 270;
export type FlipAxis = 'H' | 'V';

export interface Pixel {
  x: number;
  y: number;
  colour: Rgb;
}

export interface TextStyle {
  colour: Rgb;
  background: Rgb;
  /** seconds per one-column scroll step, as sense-hat-led's showMessage takes it */
  scrollSpeed: number;
}

export type LedOperation =
  /** pixels in the rotated frame sense-hat-led's setPixel uses; each pixel once, in the order the stock node sends them */
  | { op: 'pixels'; pixels: Pixel[] }
  | { op: 'rotate'; degrees: Rotation }
  | { op: 'flip'; axis: FlipAxis }
  | { op: 'lowLight'; on: boolean }
  | { op: 'scroll'; text: string; style: TextStyle }
  /** a single character, shown without scrolling (the stock helper's show_letter) */
  | { op: 'letter'; text: string; style: TextStyle };

export type ParsedCommands = { ok: true; operations: LedOperation[] } | { ok: false; error: string };

/** The message properties that style text (the stock node's names; `colour` is its alias of `color`). */
export interface TextOptions {
  color?: unknown;
  colour?: unknown;
  background?: unknown;
  speed?: unknown;
}

export const WHITE: Rgb = [255, 255, 255];
export const OFF: Rgb = [0, 0, 0];
export const DEFAULT_SPEED = 3;

/** msg.speed 1 (slowest) … 5 (fastest) → seconds per step, as the stock node maps it: 0.16, 0.13, 0.1, 0.07, 0.04. */
export function scrollSpeedSeconds(speed: number): number {
  return Math.round((0.1 + (3 - speed) * 0.03) * 1000) / 1000;
}

const COORD = String.raw`(?:\*|\d+(?:-\d+)?)`;
const COLOUR = String.raw`(?:\d+,\d+,\d+|#\w*|[a-z]+)`;
const GROUP = `${COORD},${COORD},${COLOUR}`;
/**
 * The shape of a pixel command. Wider than the stock node's (any number, any
 * `#…`), so that `8,0,red`, `0,0,purpel` or `0,0,300,0,0` are reported as bad
 * pixel commands instead of scrolling as text (stock: `8,0,red` scrolls, the
 * others are dropped silently).
 */
const PIXEL_LINE = new RegExp(`^${GROUP}(?:,${GROUP})*$`, 'i');

const quote = (line: string) => JSON.stringify(line.length > 40 ? `${line.slice(0, 39)}…` : line);

/** The operations of msg.payload (a string of commands, or a number shown as text) with msg's text options. */
export function parseLedCommands(payload: unknown, options: TextOptions = {}): ParsedCommands {
  let lines: string[];
  if (typeof payload === 'number' && Number.isFinite(payload)) lines = [String(payload)];
  else if (typeof payload === 'string') lines = payload.split('\n');
  else {
    const what = payload === null ? 'null' : Array.isArray(payload) ? 'an array' : Buffer.isBuffer(payload) ? 'a Buffer' : typeof payload;
    return { ok: false, error: `msg.payload must be a string of LED commands or a number, not ${what}` };
  }
  const operations: LedOperation[] = [];
  let style: TextStyle | string | undefined;
  for (const [i, raw] of lines.entries()) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw; // CRLF payloads
    if (line === '') continue; // blank lines are no command (the stock helper would choke on them)
    const parsed = parseLine(line);
    if (typeof parsed === 'string') return { ok: false, error: `line ${i + 1} ${quote(line)}: ${parsed}` };
    if (parsed) {
      operations.push(parsed);
      continue;
    }
    style ??= textStyle(options); // only text reads msg.color/background/speed, as in the stock node
    if (typeof style === 'string') return { ok: false, error: `line ${i + 1} ${quote(line)} is text, but ${style}` };
    operations.push({ op: [...line].length > 1 ? 'scroll' : 'letter', text: line, style });
  }
  return { ok: true, operations };
}

/** A command, an error, or undefined for text. */
function parseLine(line: string): LedOperation | string | undefined {
  if (PIXEL_LINE.test(line)) return parsePixels(line);
  let m: RegExpExecArray | null;
  if ((m = /^R(0|90|180|270)$/i.exec(line))) return { op: 'rotate', degrees: Number(m[1]) as Rotation };
  if ((m = /^F(H|V)$/i.exec(line))) return { op: 'flip', axis: m[1]!.toUpperCase() as FlipAxis };
  if ((m = /^D(0|1)$/i.exec(line))) return { op: 'lowLight', on: m[1] === '0' };
  return undefined;
}

function parsePixels(line: string): LedOperation | string {
  const tokens = line.split(',');
  // Each pixel once, where its last setting was: the stock node sends the same (later settings win).
  const pixels = new Map<string, Pixel>();
  let i = 0;
  while (i < tokens.length) {
    const xs = coordinate(tokens[i++]!, 'x');
    if (typeof xs === 'string') return xs;
    const ys = coordinate(tokens[i++]!, 'y');
    if (typeof ys === 'string') return ys;
    let token = tokens[i++]!;
    // A colour with a letter or # is one token; numbers come as r,g,b (three tokens).
    if (!/[#a-z]/i.test(token)) token = `${token},${tokens[i++]},${tokens[i++]}`;
    const colour = parseColour(token);
    if (typeof colour === 'string') return colour;
    for (let x = xs[0]; x <= xs[1]; x++) {
      for (let y = ys[0]; y <= ys[1]; y++) {
        const key = `${x},${y}`;
        pixels.delete(key);
        pixels.set(key, { x, y, colour });
      }
    }
  }
  return { op: 'pixels', pixels: [...pixels.values()] };
}

/** `*`, `n` or `a-b` (either order) → inclusive [from, to] within 0–7. */
function coordinate(token: string, axis: 'x' | 'y'): [number, number] | string {
  if (token === '*') return [0, 7];
  const [a, b = a] = token.split('-').map(Number) as [number, number?];
  if (a > 7 || b > 7) return `${axis} ${token} is off the matrix (use 0–7, * or a range like 3-6)`;
  return a <= b ? [a, b] : [b, a];
}

function textStyle(o: TextOptions): TextStyle | string {
  const given = (v: unknown) => v !== undefined && v !== null && v !== '';
  const colourValue = given(o.color) ? o.color : o.colour;
  const colour = given(colourValue) ? parseColour(colourValue) : WHITE;
  if (typeof colour === 'string') return `msg.color: ${colour}`;
  const background = given(o.background) ? parseColour(o.background) : OFF;
  if (typeof background === 'string') return `msg.background: ${background}`;
  let speed = DEFAULT_SPEED;
  if (given(o.speed)) {
    const n = typeof o.speed === 'number' || typeof o.speed === 'string' ? Math.trunc(Number(o.speed)) : NaN;
    if (!(n >= 1 && n <= 5)) return `msg.speed must be 1 (slowest) to 5 (fastest), not ${JSON.stringify(o.speed)}`;
    speed = n;
  }
  return { colour, background, scrollSpeed: scrollSpeedSeconds(speed) };
}
