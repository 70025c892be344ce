/**
 * Checks a device payload can be parsed safely BEFORE anything parses it.
 * `JSON.parse` of 10,000 nested arrays threw a stack overflow out of the
 * processor (issue 13): the message vanished without a dead letter. A
 * Buffer is checked for size, then for valid UTF-8, then for nesting depth by
 * a scan of its characters; an object a flow hands over is walked without
 * recursion before `JSON.stringify` sees it.
 */

/** Device payloads nest 3 levels at most (a region inside an activity): 32 leaves room without risk. */
export const MAX_JSON_DEPTH = 32;

export type Decoded =
  { ok: true; text: string; bytes: number; value?: unknown } | { ok: false; text: string; bytes: number; reason: string };

export interface DecodeLimits {
  maxBytes: number;
  /** bytes of a rejected payload worth keeping (the dead letter keeps this much) */
  keepBytes: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const lossy = new TextDecoder('utf-8');

/** Accepts what `mqtt in` hands over: Buffer, string, or an already-parsed object. */
export function decodePayload(payload: unknown, limits: DecodeLimits): Decoded {
  if (typeof payload === 'string') return checkText(payload, Buffer.byteLength(payload), limits);
  if (payload instanceof Uint8Array) return decodeBytes(payload, limits);
  return decodeValue(payload, limits);
}

function decodeBytes(bytes: Uint8Array, limits: DecodeLimits): Decoded {
  const head = () => lossy.decode(bytes.subarray(0, limits.keepBytes));
  if (bytes.length > limits.maxBytes) return tooLarge(head(), bytes.length, limits);
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    // The dead letter keeps the bytes readable: invalid sequences become U+FFFD.
    return { ok: false, text: head(), bytes: bytes.length, reason: 'payload is not valid UTF-8' };
  }
  return checkText(text, bytes.length, limits);
}

function checkText(raw: string, bytes: number, limits: DecodeLimits): Decoded {
  if (bytes > limits.maxBytes) return tooLarge(raw.slice(0, limits.keepBytes), bytes, limits);
  // A byte-order mark is legal before UTF-8 text, but JSON.parse refuses it.
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  const depth = jsonDepthExceeds(text, MAX_JSON_DEPTH);
  if (depth) return { ok: false, text, bytes, reason: `JSON nested deeper than ${MAX_JSON_DEPTH} levels` };
  return { ok: true, text, bytes };
}

function decodeValue(value: unknown, limits: DecodeLimits): Decoded {
  const shape = valueShape(value, MAX_JSON_DEPTH, limits.maxBytes);
  if (shape) return { ok: false, text: `(${describe(value)}: not kept, ${shape})`, bytes: 0, reason: `payload object ${shape}` };
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch (err) {
    // BigInt, a throwing toJSON: the flow handed over something that is not JSON.
    return { ok: false, text: `(${describe(value)})`, bytes: 0, reason: `payload object is not JSON: ${(err as Error).message}` };
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > limits.maxBytes) return tooLarge(text.slice(0, limits.keepBytes), bytes, limits);
  return { ok: true, text, bytes, value };
}

function tooLarge(text: string, bytes: number, limits: DecodeLimits): Decoded {
  return { ok: false, text, bytes, reason: `payload of ${bytes} bytes exceeds the ${limits.maxBytes}-byte limit` };
}

/**
 * True when `text` opens more than `limit` arrays/objects at once, counting
 * brackets outside strings. Linear, no allocation; broken JSON is left for
 * JSON.parse to report.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22 /* " */) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++depth > limit) return true;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) depth--;
  }
  return false;
}

/**
 * Why an object handed over by a flow cannot be serialised safely (too deep,
 * which includes a cycle, or more members than its JSON could hold within
 * `maxBytes`), or undefined. Iterative: the walk itself cannot overflow.
 */
export function valueShape(value: unknown, maxDepth: number, maxBytes: number): string | undefined {
  const stack: Array<[unknown, number]> = [[value, 1]];
  // Every member costs at least 2 bytes of JSON ("0,"), so more than this cannot fit.
  let budget = Math.ceil(maxBytes / 2);
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > maxDepth) return `nested deeper than ${maxDepth} levels`;
    const children = Array.isArray(v) ? v : Object.values(v as object);
    budget -= children.length;
    if (budget < 0) return `larger than the ${maxBytes}-byte limit`;
    for (const child of children) stack.push([child, depth + 1]);
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  return `a ${typeof value}`;
}
