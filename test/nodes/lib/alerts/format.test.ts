import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAlert, formatDigest, humanDuration, localTime } from '../../../../nodes/lib/alerts/format';
import type { Alert } from '../../../../nodes/lib/types';

// Fri 27 Nov 2026, 01:28:58 UTC (02:28:58 in Berlin)
const T = Date.UTC(2026, 10, 27, 1, 28, 58);
const UTC = { timeZone: 'UTC' };

function alert(fields: Partial<Alert>): Alert {
  return { kind: 'activity', deviceId: 'cam1', deviceName: 'Front Door', timeMs: T, severity: 'warning', text: 'motion', ...fields };
}

/** Every tag opened is closed, in order, and none but b, i, code appear. */
function assertWellFormed(html: string): void {
  const stack: string[] = [];
  for (const [, close, tag] of html.matchAll(/<(\/?)([^>]*)>/g)) {
    assert.ok(['b', 'i', 'code'].includes(tag!), `tag <${tag}>`);
    if (close) assert.equal(stack.pop(), tag, `closing </${tag}>`);
    else stack.push(tag!);
  }
  assert.deepEqual(stack, [], 'unclosed tags');
  assert.doesNotMatch(html.replace(/&(amp|lt|gt);/g, ''), /&/, 'a cut entity');
}

describe('formatAlert', () => {
  it('activity: icon and headline by type, mode and event id in details', () => {
    const cases: [string | undefined, string, string][] = [
      ['MOTION', '🏃', 'Motion at Front Door'],
      ['person', '🧍', 'Person at Front Door'],
      ['SOUND', '🔊', 'Sound at Front Door'],
      ['VEHICLE', '🚗', 'Vehicle at Front Door'],
      ['PET', '🐾', 'Pet at Front Door'],
      ['ANIMAL', '🐾', 'Animal at Front Door'],
      ['MOTION_SMART', '🧍', 'Smart motion at Front Door'],
      ['AUDIO_ALL', '🔊', 'Sound at Front Door'],
      ['LINE_CROSSING', '⚠️', 'Line crossing at Front Door'],
      [undefined, '🏃', 'Motion at Front Door'],
    ];
    for (const [activityType, icon, headline] of cases) {
      const f = formatAlert(alert({ activityType, mode: 'ARMED', eventId: 'evt-1' }), UTC);
      assert.equal(f.html, `${icon} <b>${headline}</b>\n<i>Fri 27 Nov, 01:28:58</i>\nMode: ARMED · Event <code>evt-1</code>`);
      assert.equal(f.plain, `${icon} ${headline} · Fri 27 Nov, 01:28:58\nMode: ARMED · Event evt-1`);
    }
    assert.equal(formatAlert(alert({}), UTC).html.split('\n').length, 2, 'no detail line without mode or event');
  });

  it('camera and stream state changes', () => {
    const html = (fields: Partial<Alert>) => formatAlert(alert(fields), UTC).html;
    assert.match(html({ kind: 'camera-online' }), /^✅ <b>Front Door is back online<\/b>\n/);
    assert.match(html({ kind: 'camera-offline' }), /^📴 <b>Front Door went offline<\/b>\n/);
    assert.match(
      html({ kind: 'stream-down', stream: { path: 'cam1' } }),
      /^🔴 <b>Stream down: Front Door<\/b>\n.*\nPath <code>cam1<\/code>$/,
    );
    assert.match(
      html({ kind: 'stream-up', stream: { path: 'cam1', downForMs: 252_400 } }),
      /^🟢 <b>Stream back: Front Door<\/b>\n.*\nPath <code>cam1<\/code> · down for 4 min 12 s$/,
    );
  });

  it('humanDuration: s, min s, h min', () => {
    assert.deepEqual([0, 12_900, 60_000, 252_400, 3_600_000, 3_900_000 + 59_000].map(humanDuration), [
      '0 s',
      '12 s',
      '1 min',
      '4 min 12 s',
      '1 h',
      '1 h 5 min',
    ]);
  });

  it('sensor: metric icon, value to one decimal, the limit crossed', () => {
    const sensor = (metric: 'temperature' | 'humidity' | 'pressure', value: number, unit: string, min?: number, max?: number) =>
      formatAlert(alert({ kind: 'sensor-out-of-range', sensor: { metric, value, unit, min, max } }), UTC).html;
    assert.equal(
      sensor('temperature', 41.23, '°C', 5, 35),
      '🌡️ <b>Temperature 41.2 °C at Front Door</b>\n<i>Fri 27 Nov, 01:28:58</i>\nabove the 35 °C limit',
    );
    assert.match(sensor('temperature', 2, '°C', 5, 35), /<b>Temperature 2\.0 °C at Front Door<\/b>\n.*\nbelow the 5 °C limit$/);
    assert.match(sensor('humidity', 91, '%', 20, 80.5), /^💧 <b>Humidity 91\.0 % at Front Door<\/b>.*\nabove the 80\.5 % limit$/s);
    assert.match(sensor('pressure', 950, 'hPa', 960), /^🧭 <b>Pressure 950\.0 hPa at Front Door<\/b>.*\nbelow the 960 hPa limit$/s);
  });

  it('text: ℹ️ and the escaped text, naming the device when the text does not', () => {
    const f = formatAlert(alert({ kind: 'text', text: 'Battery <10% & falling' }), UTC);
    assert.equal(f.html, 'ℹ️ Battery &lt;10% &amp; falling\n<i>Fri 27 Nov, 01:28:58</i>\nfrom Front Door');
    assert.equal(f.plain, 'ℹ️ Battery <10% & falling · Fri 27 Nov, 01:28:58\nfrom Front Door');
    assert.equal(formatAlert(alert({ kind: 'text', text: 'Front Door: low battery' }), UTC).html.split('\n').length, 2);
  });

  it('critical puts ‼️ before the headline', () => {
    assert.match(formatAlert(alert({ kind: 'camera-offline', severity: 'critical' }), UTC).html, /^📴 ‼️ <b>Front Door went offline<\/b>/);
    assert.doesNotMatch(formatAlert(alert({ kind: 'camera-offline' }), UTC).html, /‼️/);
  });

  it('escapes a hostile device name and event id everywhere', () => {
    const hostile = '<b>x</b> & co';
    const f = formatAlert(alert({ deviceName: hostile, eventId: '</code><i>', mode: 'ARMED' }), UTC);
    assert.ok(f.html.includes('Motion at &lt;b&gt;x&lt;/b&gt; &amp; co'), f.html);
    assert.ok(f.html.includes('<code>&lt;/code&gt;&lt;i&gt;</code>'), f.html);
    assert.ok(!f.html.includes('<b>x') && !f.caption.includes('<b>x'));
    assertWellFormed(f.html);
    assert.ok(f.plain.includes('Motion at <b>x</b> & co'), 'plain is not escaped');
    const d = formatDigest([alert({ deviceName: hostile })], UTC).html;
    assert.ok(d.includes('<b>&lt;b&gt;x&lt;/b&gt; &amp; co</b>') && !d.includes('<b>x'), d);
  });

  it('shows the time in the given zone, with the date', () => {
    assert.equal(localTime(T, { timeZone: 'Europe/Berlin' }), 'Fri 27 Nov, 02:28:58');
    assert.equal(localTime(T, UTC), 'Fri 27 Nov, 01:28:58');
    assert.equal(localTime(Date.UTC(2026, 6, 1, 23, 30), { timeZone: 'Europe/Berlin' }), 'Thu 2 Jul, 01:30:00', 'summer time, next day');
    assert.ok(formatAlert(alert({}), { timeZone: 'Europe/Berlin' }).html.includes('02:28:58'));
    assert.equal(localTime(Number.NaN, UTC), 'unknown time');
  });

  it('shortens a caption to 1024 without cutting a tag or an entity', () => {
    for (let pad = 0; pad < 5; pad++) {
      const name = 'x'.repeat(pad) + '&<>'.repeat(600);
      const f = formatAlert(alert({ deviceName: name, eventId: 'evt-1', mode: 'ARMED' }), UTC);
      assert.ok(f.caption.length <= 1024 && f.caption.length > 1000, `caption ${f.caption.length}`);
      assert.ok(f.html.length <= 4096);
      assertWellFormed(f.caption);
      assert.match(
        f.caption,
        /…<\/b>\n<i>Fri 27 Nov, 01:28:58<\/i>\nMode: ARMED · Event <code>evt-1<\/code>$/,
        'the time and details survive',
      );
    }
    const long = formatAlert(alert({ kind: 'text', text: 'word '.repeat(2000) }), UTC);
    assert.ok(long.html.length <= 4096 && long.caption.length <= 1024 && long.plain.length <= 1024);
    assert.ok(long.caption.startsWith('ℹ️ word word') && long.caption.includes('…\n<i>Fri'));
    const short = formatAlert(alert({}), UTC);
    assert.equal(short.caption, short.html, 'a short message is not shortened');
  });

  it('does not throw on an unknown kind or wrongly typed fields', () => {
    const odd = { kind: 'doorbell', deviceId: 'cam1', deviceName: 'Front Door', timeMs: T, severity: 'info', text: 'Ding <dong>' };
    assert.match(formatAlert(odd as unknown as Alert, UTC).html, /^⚠️ Ding &lt;dong&gt;\n/);
    const junk = { kind: 42, deviceName: { a: 1 }, deviceId: 7, timeMs: 'soon', text: null, activityType: [], sensor: 'hot', stream: 3 };
    const f = formatAlert(junk as unknown as Alert, UTC);
    assert.equal(f.plain, '⚠️ Alert from 7 · unknown time');
    for (const kind of ['activity', 'sensor-out-of-range', 'stream-up', 'text']) {
      assert.doesNotThrow(() => formatAlert({ ...junk, kind } as unknown as Alert, UTC));
    }
    assert.doesNotThrow(() => formatAlert(null as unknown as Alert));
    assert.equal(formatAlert(alert({ deviceName: 'A\nB' }), UTC).plain.split('\n').length, 1, 'a newline in a name');
  });
});

describe('formatDigest', () => {
  it('one line per alert under a header with the count', () => {
    const d = formatDigest([alert({}), alert({ kind: 'camera-offline', severity: 'critical', deviceName: 'Garage' })], UTC);
    assert.equal(d.included, 2);
    assert.equal(
      d.html,
      '🔔 <b>2 alerts</b>\n🏃 <b>Front Door</b>: Motion · <i>Fri 27 Nov, 01:28:58</i>\n📴 ‼️ <b>Garage</b>: went offline · <i>Fri 27 Nov, 01:28:58</i>',
    );
    assert.deepEqual(formatDigest([], UTC), { html: '', included: 0 });
  });

  it('stays within 4096 chars and reports how many alerts it holds', () => {
    const alerts = Array.from({ length: 100 }, (_, i) =>
      alert({ kind: 'text', deviceName: `Camera & <${i}>`, text: `${'long text '.repeat(10)} #${i}` }),
    );
    const d = formatDigest(alerts, UTC);
    assert.ok(d.html.length <= 4096, `${d.html.length}`);
    assert.ok(d.included > 10 && d.included < 100, `${d.included}`);
    const lines = d.html.split('\n');
    assert.equal(lines.length, d.included + 1);
    assert.equal(lines[0], `🔔 <b>${d.included} of 100 alerts</b>`);
    assert.ok(lines[d.included]!.includes(`&lt;${d.included - 1}&gt;`), 'in order, none skipped');
    assertWellFormed(d.html);
    const huge = formatDigest([alert({ kind: 'text', text: '<'.repeat(10_000) }), alert({})], UTC);
    assert.equal(huge.included, 2, 'one long alert does not crowd out the rest');
    assert.ok(huge.html.length <= 4096);
  });
});
