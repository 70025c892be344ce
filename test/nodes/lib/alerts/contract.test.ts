/**
 * What an alert node takes as a snapshot's picture (nodes/lib/alerts/contract.ts): a picture named
 * by its file is measured before it is read, so a file too big to send is refused without being
 * loaded into memory (an upload's thumbnail could be hundreds of MB, read once per alert channel).
 */
import assert from 'node:assert/strict';
import { openSync, closeSync, ftruncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { readAlertInput } from '../../../../nodes/lib/alerts/contract';
import { MAX_PICTURE_BYTES } from '../../../../nodes/lib/uploads/picture';
import { CAMERA } from '../../../support/fixtures';
import { JPEG } from '../../../support/pictures';
import { tempDir } from '../../../support/tmp';

const dir = tempDir('picam-alert-contract-');
const snapshot = (image: unknown) => readAlertInput({ kind: 'snapshot', deviceId: CAMERA, eventId: 'evt-1', image }, 'alert/snapshot', 0);

describe("an alert snapshot's picture", () => {
  it('is read from its file when it is within the limit', async () => {
    const file = join(dir, 'ok.jpg');
    writeFileSync(file, JPEG);
    const input = await snapshot(file);
    assert.equal(input.type, 'snapshot');
    assert.deepEqual(input.type === 'snapshot' && input.image, JPEG);
  });

  it('is refused by its size, without reading it, when its file is over the limit (a 3 GiB file here)', async () => {
    const file = join(dir, 'huge.jpg');
    const fd = openSync(file, 'w');
    ftruncateSync(fd, 3 * 2 ** 30); // sparse: no disk used, and more than readFile could hold at all
    closeSync(fd);
    const input = await snapshot(file);
    assert.deepEqual(input, {
      type: 'invalid',
      reason: `snapshot image: image of ${3 * 2 ** 30} bytes is over the ${MAX_PICTURE_BYTES}-byte limit`,
    });
  });
});
