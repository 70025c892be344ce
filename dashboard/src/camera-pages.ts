/**
 * Which cameras a page of the grid shows: the rows matching what the user typed in *Find*
 * (name or id, any case), a page of them, and what the pager says. Plain data, no DOM.
 */
import type { CameraRow } from '../../nodes/lib/contract/api-rows';
import { CAMERA_PAGE } from '../../nodes/lib/contract/first-view';

export interface CameraPage {
  rows: CameraRow[];
  /** the page shown, 0-based: the one asked for, within the pages there are */
  page: number;
  pages: number;
  /** 1-based positions of the first and last row shown among the matching ones (0, 0: none) */
  first: number;
  last: number;
  /** how many cameras match (all of them without a search) */
  matching: number;
}

export function matchesFind(row: CameraRow, find: string): boolean {
  const wanted = find.trim().toLowerCase();
  if (!wanted) return true;
  return row.camera_id.toLowerCase().includes(wanted) || (row.camera_name ?? '').toLowerCase().includes(wanted);
}

/**
 * Page `page` of `rows` after the search. `total` is how many cameras there are when `rows`
 * holds the first page only (the whole list is still on its way): the pager counts them all.
 */
export function cameraPage(rows: CameraRow[], find: string, page: number, total = rows.length, size = CAMERA_PAGE): CameraPage {
  const matched = find.trim() ? rows.filter((r) => matchesFind(r, find)) : rows;
  const matching = find.trim() ? matched.length : Math.max(total, rows.length);
  const pages = Math.max(1, Math.ceil(matching / size));
  const shown = Math.min(Math.max(0, Math.floor(page) || 0), pages - 1);
  const slice = matched.slice(shown * size, (shown + 1) * size);
  return {
    rows: slice,
    page: shown,
    pages,
    first: slice.length ? shown * size + 1 : 0,
    last: shown * size + slice.length,
    matching,
  };
}

/** What the pager says: "Cameras 49–96 of 600", "3 of 600 cameras match “porch”". */
export function pagerText(p: CameraPage, find: string, total: number): string {
  const all = `${total} camera${total === 1 ? '' : 's'}`;
  if (find.trim()) {
    if (p.matching === 0) return `No camera of ${total} matches “${find.trim()}”`;
    const range = p.pages > 1 ? `${p.first}–${p.last} of ` : '';
    return `${range}${p.matching} of ${all} match${p.matching === 1 ? 'es' : ''} “${find.trim()}”`;
  }
  return p.pages > 1 ? `Cameras ${p.first}–${p.last} of ${total}` : all;
}
