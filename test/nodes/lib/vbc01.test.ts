import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { creationTimestamp, vbc01IdProblem } from '../../../nodes/lib/vbc01';

describe('the VBC01 wire formats', () => {
  it('writes creationTimestamp as Python does: microseconds, none when zero', () => {
    assert.equal(creationTimestamp(Date.UTC(2026, 0, 10, 21, 16, 58, 123)), '2026-01-10T21:16:58.123000Z');
    assert.equal(creationTimestamp(Date.UTC(2026, 0, 10, 21, 16, 58)), '2026-01-10T21:16:58Z');
  });

  it('takes a camera id as the firmware sends it and names the slip in one it refuses', () => {
    assert.equal(vbc01IdProblem('56C1CADCF1FA4C6CAEBA3E2FD85EFEBF'), undefined);
    assert.match(vbc01IdProblem('56c1cadcf1fa4c6caeba3e2fd85efebf') ?? '', /upper case, as the camera sends it/);
    assert.match(vbc01IdProblem('56C1CADC-F1FA-4C6C-AEBA-3E2FD85EFEBF') ?? '', /without dashes/);
  });
});
