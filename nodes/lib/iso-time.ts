/**
 * ISO 8601 times as devices and API clients write them, read strictly: `YYYY-MM-DD`, optionally
 * `Thh:mm[:ss[.fraction]]` with `Z` or an offset (`+01:00`, `+0100`; none means UTC). Date.parse
 * is not used: it reads `"hello 5"` as May 2001 and `"camera 12"` as December 2001.
 */
const ISO_8601 = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** Unix milliseconds, or why `value` is not such a time (a phrase: "is not a real date and time"). */
export function isoTimeMs(value: string): number | string {
  const m = ISO_8601.exec(value);
  if (!m) return 'is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ssZ)';
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = '', zone = 'Z'] = m;
  const ms = Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s, Math.floor(+`0.${frac || '0'}` * 1000));
  const check = new Date(ms);
  // Date.UTC rolls 2026-02-30 over to March: a date that does not exist is refused.
  if (check.getUTCMonth() !== +mo! - 1 || check.getUTCDate() !== +d! || +h > 23 || +mi > 59 || +s > 59) {
    return 'is not a real date and time';
  }
  if (zone === 'Z') return ms;
  const sign = zone[0] === '-' ? -1 : 1;
  const [oh, om] = [+zone.slice(1, 3), +zone.slice(-2)];
  if (oh > 23 || om > 59) return 'has an impossible UTC offset';
  return ms - sign * (oh * 60 + om) * 60_000;
}
