/**
 * Which cameras a page of the grid shows and what its pager says (camera-pages.ts): pages in
 * the list's order, a search by name or id in any case, a page number kept within the pages
 * there are, and a first page counted against the whole fleet while the rest is still loading.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cameraPage, pagerText } from '../../../dashboard/src/camera-pages';
import { CAMERA_PAGE } from '../../../nodes/lib/contract/first-view';
import type { CameraRow } from '../../../nodes/lib/contract/api-rows';

const row = (id: string, name: string | null = null): CameraRow =>
  ({ camera_id: id, camera_name: name, device_type: 'picam', zones: null }) as CameraRow;
const fleet = (n: number) => Array.from({ length: n }, (_, i) => row(`dev-${i}`, `Cam ${i}`));
const ids = (rows: CameraRow[]) => rows.map((r) => r.camera_id);

describe('camera pages', () => {
  it('cuts the list into pages in its order, and says where the page is', () => {
    const rows = fleet(110);
    const second = cameraPage(rows, '', 1, rows.length, 48);
    assert.deepEqual(ids(second.rows), ids(rows.slice(48, 96)));
    assert.deepEqual([second.page, second.pages, second.first, second.last, second.matching], [1, 3, 49, 96, 110]);
    assert.equal(pagerText(second, '', 110), 'Cameras 49–96 of 110');
    const last = cameraPage(rows, '', 2, rows.length, 48);
    assert.deepEqual([last.rows.length, last.first, last.last], [14, 97, 110]);
  });

  it('keeps the page number within the pages there are (the list shrank, a search narrowed it)', () => {
    const rows = fleet(50);
    assert.equal(cameraPage(rows, '', 7, rows.length, 48).page, 1);
    assert.equal(cameraPage(rows, '', -3, rows.length, 48).page, 0);
    assert.equal(cameraPage(rows, '', Number.NaN, rows.length, 48).page, 0);
    assert.deepEqual(cameraPage([], '', 0).rows, []);
  });

  it('finds cameras by name or id, in any case, ignoring the spaces around what was typed', () => {
    const rows = [row('porch-1', 'Front Porch'), row('garage', null), row('CA0F', 'Back Garden'), row('porch-2', 'Side door')];
    assert.deepEqual(ids(cameraPage(rows, '  PORCH ', 0).rows), ['porch-1', 'porch-2'], 'name or id');
    assert.deepEqual(ids(cameraPage(rows, 'gar', 0).rows), ['garage', 'CA0F'], 'an id without a name, and a name');
    const p = cameraPage(rows, 'porch', 0);
    assert.equal(pagerText(p, 'porch', 4), '2 of 4 cameras match “porch”');
    assert.equal(pagerText(cameraPage(rows, 'door', 0), 'door', 4), '1 of 4 cameras matches “door”');
    assert.equal(pagerText(cameraPage(rows, 'attic', 0), 'attic', 4), 'No camera of 4 matches “attic”');
  });

  it('counts the whole fleet while only the first page has come, and offers no page it does not have', () => {
    const firstRows = fleet(CAMERA_PAGE);
    const p = cameraPage(firstRows, '', 0, 600);
    assert.deepEqual([p.pages, p.first, p.last, p.matching], [Math.ceil(600 / CAMERA_PAGE), 1, CAMERA_PAGE, 600]);
    assert.equal(pagerText(p, '', 600), `Cameras 1–${CAMERA_PAGE} of 600`);
    assert.deepEqual(cameraPage(firstRows, '', 1, 600).rows, [], 'page 2 is not here yet');
  });

  it('says how many there are when one page holds them all', () => {
    assert.equal(pagerText(cameraPage(fleet(3), '', 0), '', 3), '3 cameras');
    assert.equal(pagerText(cameraPage(fleet(1), '', 0), '', 1), '1 camera');
  });
});
