/**
 * The documentation works from a clone: every link in README.md, docs/ and the
 * other Markdown files of the repository points to a file of the repository
 * (and to a heading that exists there), and no link or path leaves it, except
 * the few upstream references listed in UPSTREAM with the reason for each.
 * Addresses inside code (examples such as https://cloud.example.net/admin) are
 * not links and are not checked; the demo's addresses on 127.0.0.1 are allowed.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';

const root = join(__dirname, '..', '..');

/** Links that may leave the repository: what the project builds on, where nothing in the repo can stand in. */
const UPSTREAM: Record<string, string> = {
  'https://semver.org/': 'the versioning rules flow versions follow (docs/deploy.md)',
  'https://github.com/bluenviron/mediamtx/releases':
    'where MediaMTX, which the cloud install runs beside us, is downloaded (docs/install.md)',
};

const markdownFiles = execFileSync('git', ['ls-files', '*.md'], { cwd: root, encoding: 'utf8' }).split('\n').filter(Boolean);

/** The text outside fenced code blocks, line by line (code lines blanked so line numbers stay right). */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^\s*(```|~~~)/.exec(line)?.[1];
    if (marker && (fence === undefined || fence === marker)) {
      fence = fence === undefined ? marker : undefined;
      return '';
    }
    return fence === undefined ? line : '';
  });
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens, -1, -2 for repeats. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const line of prose(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

interface Found {
  line: number;
  target: string;
  /** a path in a code span rather than a link: only checked for leaving the repository */
  codePath?: boolean;
}

function linksIn(text: string): Found[] {
  const found: Found[] = [];
  prose(text).forEach((raw, i) => {
    const line = i + 1;
    for (const m of raw.matchAll(/`([^`]+)`/g)) {
      if (/^\.\.?\//.test(m[1]!)) found.push({ line, target: m[1]!, codePath: true });
    }
    const text = raw.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) found.push({ line, target: m[1]! });
    for (const m of text.matchAll(/^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/g)) found.push({ line, target: m[1]! });
    for (const m of text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)) found.push({ line, target: m[1]! });
    // Bare addresses in prose: GitHub turns them into links too.
    const bare = text.replace(/\]\([^)]*\)|<[^>\s]+>/g, '');
    for (const m of bare.matchAll(/\bhttps?:\/\/[^\s)<>"'`]+/g)) found.push({ line, target: m[0].replace(/[.,;:]$/, '') });
  });
  return found;
}

/** What is wrong with one link, or undefined. */
function problem(file: string, { target, codePath }: Found): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
    // The demo's own addresses (README's first table) are on the reader's machine.
    if (/^https?:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(target)) return undefined;
    return UPSTREAM[target] ? undefined : `${target} leaves the repository (add it to UPSTREAM with a reason if it must)`;
  }
  const [path = '', anchor] = target.split('#');
  const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
  if (relative(root, dest).startsWith('..')) return `${target} points outside the repository: a clone does not have it`;
  if (codePath) return undefined;
  if (!existsSync(dest)) return `${target}: no such file`;
  if (anchor !== undefined && dest.endsWith('.md') && !anchors(dest).has(anchor)) {
    return `${target}: ${relative(root, dest)} has no heading with the anchor #${anchor}`;
  }
  return undefined;
}

it('links only to files and headings of the repository, and to the listed upstream references', () => {
  assert.ok(markdownFiles.includes('README.md') && markdownFiles.some((f) => f.startsWith('docs/')));
  const problems: string[] = [];
  let checked = 0;
  for (const name of markdownFiles) {
    const file = join(root, name);
    for (const link of linksIn(readFileSync(file, 'utf8'))) {
      checked++;
      const p = problem(file, link);
      if (p) problems.push(`${name}:${link.line}: ${p}`);
    }
  }
  assert.deepEqual(problems, []);
  assert.ok(checked >= 10, `found ${checked} links: the scanner still sees the README's links`);
});

it('recognises what it checks: a missing file, a missing heading, a path out of the repository, an unlisted address', () => {
  const readme = join(root, 'README.md');
  const sample = [
    'see [a](docs/nowhere.md), [b](docs/alerts.md#no-such-heading) and `../shared/DESIGN.md`,',
    'and https://example.com/page, but not `https://cloud.example.net/admin` in code:',
    '```sh',
    'curl https://cloud.example.net/api/status [x](missing.md)',
    '```',
  ].join('\n');
  assert.deepEqual(
    linksIn(sample).map((l) => problem(readme, l)?.replace(/:.*/, '')),
    ['../shared/DESIGN.md points outside the repository', 'docs/nowhere.md', 'docs/alerts.md#no-such-heading', 'https'],
  );
  assert.equal(problem(readme, { line: 1, target: 'docs/install.md#troubleshooting' }), undefined);
});
