/**
 * A number as a client wrote it: a JSON number as it is, a string of digits read (with a fraction
 * only when `fraction`); anything else NaN. `Number()` reads `"1e3"`, `"0x50"`, `[1]`, `true` and
 * `null` as numbers too, and a refused value then passed as a different one.
 */
export function writtenNumber(value: unknown, opts: { fraction?: boolean } = {}): number {
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return NaN;
  const text = value.trim();
  return (opts.fraction ? /^\d{1,16}(\.\d{1,16})?$/ : /^\d{1,16}$/).test(text) ? Number(text) : NaN;
}
