/** Sealing camera logins with the credential secret: round trip, old plain text, wrong secret, tampering. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { credentialSecret, isSealed, SecretBox, SecretBoxError } from '../../../nodes/lib/secret-box';

const box = new SecretBox('the-credential-secret');

describe('secret box', () => {
  it('seals to versioned text without the value, different every time, and opens it again', () => {
    const a = box.seal('hunter2-password');
    const b = box.seal('hunter2-password');
    assert.match(a, /^sb1:[A-Za-z0-9+/=]+$/);
    assert.ok(!a.includes('hunter2'));
    assert.notEqual(a, b); // a fresh IV each time
    assert.equal(box.open(a), 'hunter2-password');
    assert.equal(new SecretBox('the-credential-secret').open(b), 'hunter2-password'); // same secret, new box
    assert.equal(box.open(box.seal('pässwörd ✓')), 'pässwörd ✓');
  });

  it('keeps empty text empty and reads text without the prefix as it is (stored before sealing)', () => {
    assert.equal(box.seal(''), '');
    assert.equal(box.open(''), '');
    assert.equal(box.open('plain-old-password'), 'plain-old-password');
    assert.equal(isSealed('plain-old-password'), false);
    assert.equal(new SecretBox(undefined).open('plain-old-password'), 'plain-old-password');
  });

  it('refuses to open with another secret, or text that was changed, with a message that holds neither', () => {
    const sealed = box.seal('hunter2-password');
    const other = new SecretBox('another-secret');
    assert.throws(
      () => other.open(sealed),
      (err: Error) => {
        assert.ok(err instanceof SecretBoxError);
        assert.match(err.message, /not the one it was stored with/);
        assert.ok(!err.message.includes('hunter2') && !err.message.includes('secret-') && !err.message.includes(sealed));
        return true;
      },
    );
    const raw = Buffer.from(sealed.slice(4), 'base64');
    for (const at of [0, 12, 28, raw.length - 1]) {
      const changed = Buffer.from(raw);
      changed[at]! ^= 1;
      assert.throws(() => box.open(`sb1:${changed.toString('base64')}`), SecretBoxError, `byte ${at} changed`);
    }
    assert.throws(() => box.open('sb1:AAAA'), /damaged/);
  });

  it('says plainly that there is no credential secret, for sealing and for opening sealed text', () => {
    const none = new SecretBox(undefined);
    assert.equal(none.canSeal, false);
    assert.throws(() => none.seal('x'), /no credential secret/);
    assert.throws(() => none.open(box.seal('x')), /no credential secret/);
    assert.equal(credentialSecret({ credentialSecret: false }), undefined);
    assert.equal(credentialSecret({}), undefined);
    assert.equal(credentialSecret({ credentialSecret: '' }), undefined);
    assert.equal(credentialSecret({ credentialSecret: 's' }), 's');
  });
});
