/** What the audit keeps of a request (issue 23): what changed, never a secret. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditDetail } from '../../../../nodes/lib/access/audit-detail';

describe('audit detail', () => {
  it('hides passwords, tokens and credentials in URLs, and keeps the rest', () => {
    const d = auditDetail({
      id: 'porch',
      subUrl: 'rtsp://admin:hunter2@192.168.1.50/sub',
      password: 'hunter2',
      nested: { apiToken: 'abc', mode: 'ARMED' },
    });
    assert.ok(!d.includes('hunter2') && !d.includes('abc'), d);
    assert.match(d, /"id":"porch"/);
    assert.match(d, /rtsp:\/\/\(hidden\)@192\.168\.1\.50\/sub/);
    assert.match(d, /"mode":"ARMED"/);
  });

  it('is empty for an empty body, names a query, and stays short', () => {
    assert.equal(auditDetail({}), '');
    assert.equal(auditDetail(undefined, { endpoint: 'https://push/x' }), 'query {"endpoint":"https://push/x"}');
    assert.ok(auditDetail({ text: 'x'.repeat(5000) }).length <= 500);
  });

  it('names a binary body by its size, without walking its bytes, and keeps a few fields of a huge object', () => {
    // 150 MB: walking its keys threw (Invalid array length) after the answer, and ended the process.
    assert.equal(auditDetail(Buffer.alloc(150 * 2 ** 20)), `${150 * 2 ** 20} bytes`);
    const wide = Object.fromEntries(Array.from({ length: 200_000 }, (_, i) => [`k${i}`, i]));
    const d = auditDetail(wide);
    assert.ok(d.length <= 500 && d.startsWith('{"k0":0,"k1":1'), d.slice(0, 80));
  });
});
