/**
 * Disk use of the recordings (issue 19), from GET /api/recordings: the disk, the floor the
 * recorder keeps free, each camera's footage and clips, and a clear warning while the floor
 * cannot be kept (the recorder raised a storage-low alert).
 */
import type { RecordingUsage } from '../../nodes/lib/contract/recordings';
import { byId, clear, h } from './dom';
import { fmtTime } from './format';
import { usage } from './recordings';

export function fmtBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(i === 0 || n >= 100 ? 0 : 1)} ${units[i]}`;
}

export class StoragePanel {
  private readonly box = byId('storage-panel');

  constructor() {
    byId('storage-refresh').addEventListener('click', () => void this.load());
  }

  async load(): Promise<void> {
    let u: RecordingUsage | undefined;
    try {
      u = await usage(true);
    } catch (err) {
      clear(this.box, h('p', {}, `Disk use could not be loaded: ${(err as Error).message}`));
      return;
    }
    if (!u) {
      clear(this.box, h('p', {}, 'This server keeps no recordings.'));
      return;
    }
    this.show(u);
  }

  private show(u: RecordingUsage): void {
    const used = u.disk.totalBytes - u.disk.freeBytes;
    const state = u.low
      ? h(
          'p',
          { class: 'storage-low', role: 'alert' },
          `Storage low: less than ${fmtBytes(u.floorBytes)} free even without continuous footage. Old clips are being deleted.`,
        )
      : h('p', { class: 'storage-ok' }, `${fmtBytes(u.disk.freeBytes)} free; at least ${fmtBytes(u.floorBytes)} is kept free.`);
    const meter = h('meter', {
      min: 0,
      max: u.disk.totalBytes,
      value: used,
      high: Math.max(0, u.disk.totalBytes - u.floorBytes),
      'aria-label': `Disk ${fmtBytes(used)} of ${fmtBytes(u.disk.totalBytes)} used`,
    });
    const rows = u.cameras.map((c) =>
      h(
        'tr',
        { 'data-camera': c.cameraId },
        h('th', { scope: 'row' }, c.cameraId),
        h('td', {}, c.mode),
        h('td', {}, fmtBytes(c.segmentBytes)),
        h('td', {}, fmtBytes(c.clipBytes)),
        h('td', {}, c.oldestMs ? fmtTime(c.oldestMs) : '—'),
      ),
    );
    const table = h(
      'table',
      { class: 'storage-table' },
      h('caption', {}, 'Recordings per camera'),
      h('thead', {}, h('tr', {}, ...['Camera', 'Mode', 'Footage', 'Clips', 'Oldest'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, ...rows),
    );
    this.box.dataset.low = String(u.low);
    clear(
      this.box,
      state,
      h('p', {}, meter, ` ${fmtBytes(used)} of ${fmtBytes(u.disk.totalBytes)} used`),
      h('div', { class: 'table-wrap' }, table),
    );
  }
}
