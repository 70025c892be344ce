/**
 * Encodes Linux `struct input_event` records the way the kernel writes them
 * to /dev/input/eventN, in the 64-bit (24 bytes: sec 8, usec 8, type, code,
 * value) or 32-bit (16 bytes: sec 4, usec 4, ...) layout, little-endian, so
 * tests feed readers real byte streams.
 */

export type WordSize = 64 | 32;

export const EV_SYN = 0;
export const EV_KEY = 1;
export const EV_MSC = 4;
export const SYN_REPORT = 0;
export const MSC_SCAN = 4;

/** Raspberry Pi kernels' codes for the joystick */
export const KEY = { UP: 103, DOWN: 108, LEFT: 105, RIGHT: 106, ENTER: 28 } as const;
/** mainline kernels' codes for the joystick */
export const BTN = { UP: 0x220, DOWN: 0x221, LEFT: 0x222, RIGHT: 0x223, ENTER: 0x13a } as const;

export interface InputEvent {
  type: number;
  code: number;
  value: number;
  /** default 1700000000.123456 */
  sec?: number;
  usec?: number;
}

export function encodeEvent(ev: InputEvent, layout: WordSize): Buffer {
  const word = layout === 64 ? 8 : 4;
  const buf = Buffer.alloc(2 * word + 8);
  const sec = ev.sec ?? 1_700_000_000;
  const usec = ev.usec ?? 123_456;
  if (word === 8) {
    buf.writeBigInt64LE(BigInt(sec), 0);
    buf.writeBigInt64LE(BigInt(usec), 8);
  } else {
    buf.writeInt32LE(sec, 0);
    buf.writeInt32LE(usec, 4);
  }
  buf.writeUInt16LE(ev.type, 2 * word);
  buf.writeUInt16LE(ev.code, 2 * word + 2);
  buf.writeInt32LE(ev.value, 2 * word + 4);
  return buf;
}

export function encodeEvents(events: readonly InputEvent[], layout: WordSize): Buffer {
  return Buffer.concat(events.map((ev) => encodeEvent(ev, layout)));
}

/**
 * What the joystick driver sends for one key change: the key event and the
 * SYN_REPORT that closes the packet (with `scan`, an EV_MSC/MSC_SCAN first,
 * as keyboards send).
 */
export function keyPacket(code: number, value: 0 | 1 | 2, layout: WordSize, scan = false): Buffer {
  const events: InputEvent[] = [];
  if (scan) events.push({ type: EV_MSC, code: MSC_SCAN, value: code });
  events.push({ type: EV_KEY, code, value }, { type: EV_SYN, code: SYN_REPORT, value: 0 });
  return encodeEvents(events, layout);
}
