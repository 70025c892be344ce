/**
 * The Sense HAT joystick: a Linux input device ("Raspberry Pi Sense HAT
 * Joystick") read as a stream of `struct input_event` records from
 * /dev/input/eventN (shared/reference/sensehat.md). The board can be unplugged
 * or its driver reloaded, so the reader reports a lost device and keeps
 * looking for it, with backoff, until it is back.
 */
import { EventEmitter } from 'node:events';
import { constants } from 'node:fs';
import { open, readdir, readFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { backoffMs } from '../backoff';
import type { JoystickKey, JoystickPayload } from './types';

export const JOYSTICK_NAME = 'Raspberry Pi Sense HAT Joystick';

/** Which `struct input_event` layout: by word size (64 or 32 bit), or `auto` from this process. */
export type EventLayout = 'auto' | 64 | 32;

const EV_KEY = 1;
/**
 * Both key code sets (linux/input-event-codes.h): Raspberry Pi kernels send
 * KEY_UP/DOWN/LEFT/RIGHT/ENTER, mainline's driver BTN_DPAD_UP/DOWN/LEFT/RIGHT and BTN_SELECT.
 */
const KEYS = new Map<number, JoystickKey>(
  [
    ...Object.entries({ 103: 'UP', 108: 'DOWN', 105: 'LEFT', 106: 'RIGHT', 28: 'ENTER' } as const),
    ...Object.entries({ 0x220: 'UP', 0x221: 'DOWN', 0x222: 'LEFT', 0x223: 'RIGHT', 0x13a: 'ENTER' } as const),
  ].map(([code, key]) => [Number(code), key]),
);

/**
 * `struct input_event` starts with the time as two C `long`s (seconds,
 * microseconds): 8 bytes each on 64-bit (LP64) processes, 4 on 32-bit ones,
 * hence 24 or 16 bytes a record. The kernel writes the layout of the *reading
 * process*: a 32-bit Node (armhf Raspberry Pi OS) on a 64-bit kernel gets the
 * 16-byte compat layout, so `auto` goes by `process.arch`, not by the kernel.
 * (32-bit userspace built with 64-bit time_t still gets 16 bytes: the kernel's
 * uapi header keeps two `unsigned long`s there.)
 */
export function recordSize(layout: EventLayout): 24 | 16 {
  if (layout === 64) return 24;
  if (layout === 32) return 16;
  return ['arm', 'ia32', 'mips', 'mipsel', 'ppc', 's390'].includes(process.arch) ? 16 : 24;
}

export interface ParsedEvents {
  events: JoystickPayload[];
  /** the bytes of an incomplete record at the end: pass back in with the next chunk */
  carry: Buffer;
}

/**
 * Decodes the joystick's key events from a chunk read from the device. A read
 * may end mid-record; that remainder comes back as `carry`. Fields are in host
 * byte order: little-endian on every Raspberry Pi and PC.
 */
export function parseEvents(chunk: Buffer, layout: EventLayout = 'auto', carry?: Buffer): ParsedEvents {
  const size = recordSize(layout);
  const at = size - 8; // type, code and value are the last 8 bytes
  const buf = carry?.length ? Buffer.concat([carry, chunk]) : chunk;
  const events: JoystickPayload[] = [];
  let pos = 0;
  for (; pos + size <= buf.length; pos += size) {
    if (buf.readUInt16LE(pos + at) !== EV_KEY) continue; // EV_SYN, EV_MSC, ...
    const key = KEYS.get(buf.readUInt16LE(pos + at + 2));
    const state = buf.readInt32LE(pos + at + 4);
    if (key && (state === 0 || state === 1 || state === 2)) events.push({ key, state });
  }
  // Copied: the caller may reuse its read buffer.
  return { events, carry: Buffer.from(buf.subarray(pos)) };
}

/** The joystick's event device, `${devRoot}/input/eventN`, or undefined when no input device has its name. */
export async function findJoystick(sysRoot = '/sys', devRoot = '/dev'): Promise<string | undefined> {
  const dir = join(sysRoot, 'class', 'input');
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined; // no input subsystem
    throw err;
  }
  const events = entries.filter((e) => /^event\d+$/.test(e)).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)));
  for (const entry of events) {
    // A device unplugged since readdir has no name any more: it is not ours.
    const name = await readFile(join(dir, entry, 'device', 'name'), 'utf8').catch(() => undefined);
    if (name?.trim() === JOYSTICK_NAME) return join(devRoot, 'input', entry);
  }
  return undefined;
}

export type JoystickStatus =
  | { state: 'connected'; device: string }
  /** not found, or found but not openable (permissions: the user must be in group `input`) */
  | { state: 'missing'; error: Error; retryInMs: number }
  /** was open, then a read failed or ended (unplugged, driver unloaded) */
  | { state: 'lost'; device: string; error: Error; retryInMs: number };

export type JoystickEvents = {
  key: [JoystickPayload];
  status: [JoystickStatus];
  /** the same, as one line for a status badge: what is wrong, or undefined once connected */
  problem: [message: string | undefined];
};

export interface JoystickOptions {
  sysRoot?: string;
  devRoot?: string;
  layout?: EventLayout;
  /** backoff between discovery attempts (defaults 500 ms, 30 s) */
  retryBaseMs?: number;
  retryMaxMs?: number;
  /** how often to look for input when there is none (default 20 ms) */
  pollMs?: number;
}

/**
 * Emits `key` for each joystick event, and `status` and `problem` when the
 * device is found, missing or lost. Listeners must not throw.
 *
 * It reads a non-blocking fd and polls, rather than `fs.createReadStream`:
 * that stream's blocking read sits in libuv's thread pool until the next key
 * press, and its destroy() waits for that read, so close() (and a redeploy)
 * would hang until someone touched the joystick.
 */
export class JoystickReader extends EventEmitter<JoystickEvents> {
  private readonly opts: Required<JoystickOptions>;
  private handle?: FileHandle;
  private timer?: NodeJS.Timeout;
  private wake?: () => void;
  private work?: Promise<void>;
  private attempt = 0;
  private started = false;
  private closed = false;

  constructor(opts: JoystickOptions = {}) {
    super();
    // `??` rather than a spread: a node passes unset settings as undefined.
    this.opts = {
      sysRoot: opts.sysRoot ?? '/sys',
      devRoot: opts.devRoot ?? '/dev',
      layout: opts.layout ?? 'auto',
      retryBaseMs: opts.retryBaseMs ?? 500,
      retryMaxMs: opts.retryMaxMs ?? 30_000,
      pollMs: opts.pollMs ?? 20,
    };
  }

  /** Starts discovery and reading; a second call does nothing. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    this.run(() => this.connect());
  }

  /** Stops reading, closes the device and clears every timer; safe to call twice. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
    await this.work;
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }

  /** One piece of work at a time (connect, then pump), which close() waits for. */
  private run(task: () => Promise<void>): void {
    this.work = task().catch((err: unknown) => this.lost(err));
  }

  private async connect(): Promise<void> {
    let device: string | undefined;
    try {
      device = await findJoystick(this.opts.sysRoot, this.opts.devRoot);
      if (!device) throw new Error(`no input device named "${JOYSTICK_NAME}" under ${join(this.opts.sysRoot, 'class', 'input')}`);
      // O_NONBLOCK: see the class comment.
      this.handle = await open(device, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch (err) {
      return this.retry({ state: 'missing', error: err instanceof Error ? err : new Error(String(err)) });
    }
    if (this.closed) return; // close() closes the handle
    this.attempt = 0;
    this.emit('status', { state: 'connected', device });
    this.emit('problem', undefined);
    await this.pump(this.handle, device);
  }

  private async pump(handle: FileHandle, device: string): Promise<void> {
    const size = recordSize(this.opts.layout);
    const buf = Buffer.alloc(size * 64);
    let carry: Buffer | undefined;
    while (!this.closed) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buf, 0, buf.length, null));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return this.lost(err, device);
        await this.sleep(this.opts.pollMs);
        continue;
      }
      if (bytesRead === 0) return this.lost(new Error('end of file'), device);
      if (this.closed) return;
      const parsed = parseEvents(buf.subarray(0, bytesRead), this.opts.layout, carry);
      carry = parsed.carry;
      for (const event of parsed.events) this.emit('key', event);
    }
  }

  /** Closes the dead handle and looks for the device again. */
  private async lost(err: unknown, device = 'the joystick'): Promise<void> {
    if (this.closed) return;
    const handle = this.handle;
    this.handle = undefined;
    let message = `${device}: ${errorText(err)}`;
    try {
      await handle?.close();
    } catch (closeErr) {
      message += `; closing it failed too: ${errorText(closeErr)}`;
    }
    this.retry({ state: 'lost', device, error: new Error(message, { cause: err }) });
  }

  private retry(trouble: { state: 'missing'; error: Error } | { state: 'lost'; device: string; error: Error }): void {
    if (this.closed) return;
    this.attempt += 1;
    const retryInMs = backoffMs(this.attempt, { baseMs: this.opts.retryBaseMs, maxMs: this.opts.retryMaxMs });
    this.emit('status', { ...trouble, retryInMs });
    this.emit('problem', trouble.error.message);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.run(() => this.connect());
    }, retryInMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.wake = undefined;
        resolve();
      };
      this.wake = done;
      this.timer = setTimeout(done, ms);
    });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
