/** How times, durations and numbers read on the page (the browser's locale and time zone). */
const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

export const fmtTime = (ms: number | null | undefined): string => (ms ? dateTime.format(new Date(ms)) : '—');
export const fmtClock = (ms: number): string => timeOnly.format(new Date(ms));
export const fromSeconds = (s: number | null | undefined): number | null => (s === null || s === undefined ? null : s * 1000);

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return 'ongoing';
  if (seconds < 60) return `${seconds} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min ${seconds % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** "2 min ago": for last-seen times, which matter relative to now. */
export function fmtAgo(ms: number | null | undefined, now = Date.now()): string {
  if (!ms) return 'never';
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return fmtTime(ms);
}

export const fmtNumber = (n: number | null | undefined, digits = 1): string => (n === null || n === undefined ? '—' : n.toFixed(digits));

export const MODE_LABELS: Record<string, string> = {
  ARMED: 'Armed',
  LIVESTREAMONLY: 'Live stream only',
  PRIVACY: 'Privacy',
};
export const modeLabel = (mode: string | null | undefined): string => (mode ? (MODE_LABELS[mode] ?? mode) : 'unknown');
