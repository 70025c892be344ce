/**
 * The alert connection contract (issue 23): the checks the page and the server share, and what
 * GET may show of a stored connection (never a secret's value).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  connectionView,
  describeConnectionChange,
  parseConnectionChange,
  secretHint,
} from '../../../../nodes/lib/contract/alert-connection';
import { SettingsProblem } from '../../../../nodes/lib/contract/admin-settings';

const TOKEN = '7654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';

describe('alert connection contract', () => {
  it('takes good values, trimmed and normalised, and null for the environment again', () => {
    assert.deepEqual(parseConnectionChange('telegram', { botToken: ` ${TOKEN} `, chatIds: '12 -100987;@my_channel 12' }), {
      botToken: TOKEN,
      chatIds: '12, -100987, @my_channel',
    });
    assert.deepEqual(parseConnectionChange('telegram', { botToken: null }), { botToken: null });
    assert.deepEqual(parseConnectionChange('ntfy', { server: 'https://ntfy.example/', topic: 'cams', token: 'tk_abc' }), {
      server: 'https://ntfy.example',
      topic: 'cams',
      token: 'tk_abc',
    });
    assert.deepEqual(parseConnectionChange('webhook', { url: 'https://u:p@hub.example/h?key=1' }), {
      url: 'https://u:p@hub.example/h?key=1',
    });
  });

  for (const [channel, body, reason] of [
    ['telegram', { botToken: 'abc' }, /bot token must look like/],
    ['telegram', { botToken: '' }, /must be text of 1 to 2000 characters/],
    ['telegram', { chatIds: 'x' }, /not a chat id: x/],
    ['webhook', { url: 'javascript:alert(1)' }, /must start with http/],
    ['ntfy', { server: 'https://ntfy.example/?t=1' }, /plain address/],
    ['pushover', { userKey: 'a'.repeat(29) }, /user key must be 30 letters/],
    ['webpush', {}, /no connection settings/],
    ['telegram', { url: 'https://x' }, /unknown telegram setting "url"/],
  ] as const) {
    it(`refuses ${channel} ${JSON.stringify(body)} with the reason`, () => {
      assert.throws(
        () => parseConnectionChange(channel, body),
        (err: Error) => err instanceof SettingsProblem && reason.test(err.message),
      );
    });
  }

  it('shows a secret only as set with its hint, and says "changed" in the audit', () => {
    const view = connectionView('telegram', { botToken: { sealed: 'sb1:xyz', hint: secretHint(TOKEN) }, chatIds: '12' });
    assert.deepEqual(view, { botToken: { set: true, hint: '…Dsaw' }, chatIds: { set: true, value: '12' } });
    assert.equal(secretHint('https://hub.example:8443/hook/secret?key=1'), 'hub.example:8443');
    const audit = describeConnectionChange('telegram', { botToken: TOKEN, chatIds: null });
    assert.equal(audit, "bot token changed; chat ids back to the environment's");
  });
});
