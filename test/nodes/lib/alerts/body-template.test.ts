/**
 * The webhook's body template: what a receiver gets for each kind of placeholder, and the
 * reasons a template is refused before any alert is sent.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BodyTemplate, TEMPLATE_FIELDS } from '../../../../nodes/lib/alerts/body-template';

describe('BodyTemplate', () => {
  it('escapes a field inside a JSON string and writes one standing alone as a JSON value', () => {
    const t = BodyTemplate.parse('{"msg": "{{deviceName}} says {{text}}", "at": {{timeMs}}, "event": {{eventId}}, "none": {{mode}}}');
    const body = t.render({ deviceName: 'Porch "east"', text: 'line 1\nline 2 \\ </script>', timeMs: 1700000000000, eventId: 'e-1' });
    assert.deepEqual(JSON.parse(body), {
      msg: 'Porch "east" says line 1\nline 2 \\ </script>',
      at: 1700000000000,
      event: 'e-1',
      none: null,
    });
  });

  it('takes braces and escaped quotes of the JSON itself as they are', () => {
    const t = BodyTemplate.parse('{"a": "quote \\" {{text}}", "b": {"c": [1, 2]}}');
    assert.deepEqual(JSON.parse(t.render({ text: 'x' })), { a: 'quote " x', b: { c: [1, 2] } });
  });

  it('an empty or missing field inside a string is empty text', () => {
    assert.equal(BodyTemplate.parse('{"l": "{{link}}"}').render({}), '{"l": ""}');
  });

  it('refuses an unknown field, an unclosed placeholder and a template that is no JSON, naming the problem', () => {
    assert.throws(
      () => BodyTemplate.parse('{"a": "{{camera}}"}'),
      new RegExp(`unknown field \\{\\{camera\\}\\} \\(fields: ${TEMPLATE_FIELDS.join(', ')}\\)`),
    );
    assert.throws(() => BodyTemplate.parse('{"a": "{{text"}'), /"\{\{" at 8 is never closed/);
    assert.throws(() => BodyTemplate.parse('{"a": {{text}}'), /body template is not JSON once filled in/);
    assert.throws(() => BodyTemplate.parse('{"a": "{{text}}" "b": 1}'), /not JSON once filled in/);
  });
});
