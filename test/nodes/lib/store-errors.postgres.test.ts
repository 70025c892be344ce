/** Which PostgreSQL errors the batch writer holds and retries (store-errors.ts), and which fail a record. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStoreError, isDiskFull, isTransientStoreError } from '../../../nodes/lib/store-errors';

const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe("PostgreSQL's errors", () => {
  it('a deadlock, a serialization failure, a lost or refused connection, a full disk, a shutdown pass', () => {
    for (const code of [
      '40P01',
      '40001',
      '08006',
      '08003',
      '08001',
      '53100',
      '53300',
      '57P01',
      '57P03',
      '55P03',
      'ECONNREFUSED',
      'ECONNRESET',
    ]) {
      assert.ok(isTransientStoreError(pgError(code)), code);
    }
  });

  it('a constraint, a bad value, a syntax error or a protocol violation (our bug) fail the record', () => {
    for (const code of ['23505', '23514', '22P02', '42601', '42703', '08P01', '25P02']) {
      assert.ok(!isTransientStoreError(pgError(code)), code);
    }
  });

  it("a full disk is named as one (HTTP 507's case)", () => {
    assert.ok(isDiskFull(pgError('53100', 'could not extend file')));
    assert.equal(describeStoreError(pgError('53100', 'could not extend file')), 'disk full (could not extend file)');
  });
});
