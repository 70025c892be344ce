/**
 * The small part of semantic versioning the deploy check needs: parse and
 * compare `x.y.z[-pre]` and test a version against npm-style ranges
 * (`^1.2.0`, `~1.2.0`, `>=1.0.0 <2.0.0`, `1.x`, `*`, `a || b`). Own code rather
 * than the `semver` package so the CLI adds no runtime dependency.
 */

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** dot-separated pre-release identifiers, empty for a release */
  pre: string[];
}

const VERSION = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseVersion(text: string): Version | undefined {
  const m = VERSION.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), pre: m[4] ? m[4].split('.') : [] };
}

export function isVersion(text: string): boolean {
  return parseVersion(text) !== undefined;
}

/** Negative, zero or positive as a is lower, equal or higher than b (semver precedence). */
export function compareVersions(a: string | Version, b: string | Version): number {
  const x = typeof a === 'string' ? mustParse(a) : a;
  const y = typeof b === 'string' ? mustParse(b) : b;
  const core = x.major - y.major || x.minor - y.minor || x.patch - y.patch;
  if (core !== 0) return Math.sign(core);
  // A pre-release sorts before its release; identifiers compare numerically when both are numbers.
  if (x.pre.length === 0 && y.pre.length === 0) return 0;
  if (x.pre.length === 0) return 1;
  if (y.pre.length === 0) return -1;
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i];
    const q = y.pre[i];
    if (p === undefined) return -1;
    if (q === undefined) return 1;
    if (p === q) continue;
    const pn = /^\d+$/.test(p);
    const qn = /^\d+$/.test(q);
    if (pn && qn) return Math.sign(Number(p) - Number(q));
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return 0;
}

function mustParse(text: string): Version {
  const v = parseVersion(text);
  if (!v) throw new Error(`"${text}" is not a semantic version (x.y.z)`);
  return v;
}

type Comparator = { op: '<' | '<=' | '>' | '>=' | '='; version: Version };

/** Partial versions (`1`, `1.2`, `1.x`) as the lowest version they cover plus how many parts were given. */
function partial(text: string): { v: Version; parts: number } | undefined {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?$/.exec(text);
  if (!m) return undefined;
  const nums = [m[1], m[2], m[3]];
  let parts = 0;
  for (const n of nums) {
    if (n === undefined || /[xX*]/.test(n)) break;
    parts++;
  }
  const at = (i: number) => (i < parts ? Number(nums[i]) : 0);
  return { v: { major: at(0), minor: at(1), patch: at(2), pre: parts === 3 && m[4] ? m[4].split('.') : [] }, parts };
}

const bump = (v: Version, part: 0 | 1 | 2): Version =>
  part === 0
    ? { major: v.major + 1, minor: 0, patch: 0, pre: ['0'] }
    : part === 1
      ? { major: v.major, minor: v.minor + 1, patch: 0, pre: ['0'] }
      : { major: v.major, minor: v.minor, patch: v.patch + 1, pre: ['0'] };

function comparators(term: string): Comparator[] | undefined {
  const out: Comparator[] = [];
  for (const token of term.split(/\s+/).filter(Boolean)) {
    const m = /^(\^|~|>=|<=|>|<|=)?(.+)$/.exec(token)!;
    const op = m[1] ?? '';
    const p = partial(m[2]!);
    if (!p) return undefined;
    const { v, parts } = p;
    if (parts === 0) continue; // `*` or `x`: anything
    if (op === '^') {
      // ^1.2.3 allows changes that do not touch the left-most non-zero part.
      const keep: 0 | 1 | 2 = v.major > 0 || parts === 1 ? 0 : v.minor > 0 || parts === 2 ? 1 : 2;
      out.push({ op: '>=', version: v }, { op: '<', version: bump(v, keep) });
    } else if (op === '~') {
      out.push({ op: '>=', version: v }, { op: '<', version: bump(v, parts === 1 ? 0 : 1) });
    } else if (op === '' || op === '=') {
      if (parts === 3) out.push({ op: '=', version: v });
      else out.push({ op: '>=', version: v }, { op: '<', version: bump(v, parts === 1 ? 0 : 1) });
    } else if (op === '>' && parts < 3) {
      out.push({ op: '>=', version: bump(v, parts === 1 ? 0 : 1) });
    } else if (op === '<=' && parts < 3) {
      out.push({ op: '<', version: bump(v, parts === 1 ? 0 : 1) });
    } else {
      out.push({ op: op as Comparator['op'], version: v });
    }
  }
  return out;
}

export function isValidRange(range: string): boolean {
  return range.split('||').every((term) => comparators(term.trim()) !== undefined);
}

/** Whether `version` satisfies the npm-style `range`; pre-releases only match ranges that name them. */
export function satisfies(version: string, range: string): boolean {
  const v = parseVersion(version);
  if (!v) return false;
  return range.split('||').some((term) => {
    const cs = comparators(term.trim());
    if (!cs) return false;
    if (v.pre.length > 0 && !cs.some((c) => c.version.pre.length > 0 && sameCore(c.version, v))) return false;
    return cs.every((c) => {
      const d = compareVersions(v, c.version);
      return c.op === '<' ? d < 0 : c.op === '<=' ? d <= 0 : c.op === '>' ? d > 0 : c.op === '>=' ? d >= 0 : d === 0;
    });
  });
}

const sameCore = (a: Version, b: Version) => a.major === b.major && a.minor === b.minor && a.patch === b.patch;
