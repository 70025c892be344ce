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
});
