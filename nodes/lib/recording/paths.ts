/**
 * Every file the recorder reads or deletes is named by the index relative to the recordings
 * folder, and resolved here: a name that leads outside the folder (`../../etc/passwd`, an
 * absolute path, a symlinked folder pointing elsewhere) is refused, whatever the index says
 * (issue 19 item 4). The folder itself is never a file to delete.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

export class OutsideRecordings extends Error {
  /** for code loaded apart from this module (the runtime's hook and the bundled node: instanceof fails across them) */
  readonly code = 'RECORDING_OUTSIDE_FOLDER';
  constructor(readonly file: string) {
    super(`refused: "${file.slice(0, 200)}" is not inside the recordings folder`);
  }
}

/** Whether `path` lies strictly inside `root` (both absolute, resolved). */
function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

/** The real path of the deepest part of `path` that exists (symlinks resolved), with the rest appended. */
function realish(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = resolve(path, '..');
    return parent === path ? path : resolve(realish(parent), relative(parent, path));
  }
}

/** The absolute path of `file` (relative to `root`), or OutsideRecordings when it would leave the folder. */
export function recordingPath(root: string, file: string): string {
  if (typeof file !== 'string' || file === '' || file.includes('\0') || isAbsolute(file)) throw new OutsideRecordings(String(file));
  const rootReal = realish(resolve(root));
  const full = resolve(rootReal, file);
  if (!inside(rootReal, full) || !inside(rootReal, realish(full))) throw new OutsideRecordings(file);
  return full;
}

/** `abs` as the index names it (relative to `root`), or OutsideRecordings. */
export function indexName(root: string, abs: string): string {
  const rootReal = realish(resolve(root));
  const full = realish(resolve(abs));
  if (!inside(rootReal, full)) throw new OutsideRecordings(abs);
  return relative(rootReal, full).split(sep).join('/');
}
