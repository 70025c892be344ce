/**
 * nodes/lib/settings.ts: one table of shared settings, one parser per kind.
 * A bad value stops the start with a message naming the variable; the defaults
 * the editor shows, the flow's `${ENV}` values and the code's fallbacks are the
 * same numbers because they come from (or are checked against) that table.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { settingsFor } from '../../../cli/runtime/roles';
import { readFlow } from '../../../cli/flows/flow-file';
import { DEFAULTS, fillEditorDefaults, parseBoolean, parseDbUrl, parseList, parseNumber, SETTINGS } from '../../../nodes/lib/settings';
import { DEFAULT_RETENTION } from '../../../nodes/lib/store/store';
import { DEFAULT_CLOCK_WINDOW } from '../../../nodes/mqtt-processor/device-time';

const root = join(__dirname, '..', '..', '..');

/** A node's editor file as written (nodes/) or as Node-RED loads it (dist/nodes/, made by the build). */
const editorFile = (dir: 'nodes' | 'dist/nodes', nodeType: string) => readFileSync(join(root, dir, nodeType, `${nodeType}.html`), 'utf8');

/** The `defaults: { name: { value: X } }` an editor file declares for `property`. */
const editorDefault = (html: string, property: string): string | undefined =>
  new RegExp(`\\b${property}\\s*:\\s*\\{\\s*value:\\s*'?(\\{\\{default:\\w+\\}\\}|[^,'}\\s]*)`).exec(html)?.[1];

describe('settings: one table of defaults', () => {
  it('gives each setting the same default in the editor, the role and the code', () => {
    const role = settingsFor({});
    for (const [name, s] of Object.entries(SETTINGS)) {
      const [nodeType, property] = s.property;
      // The editor Node-RED serves (needs the build; npm test builds first).
      assert.equal(
        editorDefault(editorFile('dist/nodes', nodeType), property),
        String(s.value),
        `dist ${nodeType}.html default of ${property}`,
      );
      // As written: taken from the table, or (not yet converted) the same number.
      const written = editorDefault(editorFile('nodes', nodeType), property);
      assert.ok(written === `{{default:${name}}}` || written === String(s.value), `${nodeType}.html default of ${property} is ${written}`);
      assert.equal(role.flowEnv[s.env], String(s.value), `the role's ${s.env}`);
    }
    assert.deepEqual(DEFAULT_RETENTION, {
      activity: DEFAULTS.retainActivityDays,
      status: DEFAULTS.retainStatusDays,
      sensors: DEFAULTS.retainSensorDays,
      sensorMinutes: DEFAULTS.retainSensorMinuteDays,
      sensorHours: DEFAULTS.retainSensorHourDays,
      deadLetters: DEFAULTS.retainDeadLetterDays,
    });
    assert.deepEqual(DEFAULT_CLOCK_WINDOW, { pastMs: DEFAULTS.clockPastHours * 3600_000, futureMs: DEFAULTS.clockFutureSeconds * 1000 });
  });

  it('has the build write the table into every editor file, leaving no placeholder', () => {
    const nodeTypes = readdirSync(join(root, 'nodes'), { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'lib')
      .map((d) => d.name);
    let placeholders = 0;
    for (const nodeType of nodeTypes) {
      const source = editorFile('nodes', nodeType);
      placeholders += source.match(/\{\{default:/g)?.length ?? 0;
      const built = editorFile('dist/nodes', nodeType);
      assert.doesNotMatch(built, /\{\{default:/, `dist/nodes/${nodeType}/${nodeType}.html still has a placeholder`);
      assert.equal(
        built,
        fillEditorDefaults(source, nodeType),
        `dist/nodes/${nodeType}/${nodeType}.html is the source with the table's defaults`,
      );
    }
    assert.ok(placeholders >= 8, `the editors take their defaults from the table (${placeholders} placeholders)`);
    const fromTable = fillEditorDefaults('retainDays: { value: {{default:retainActivityDays}} }', 'x.html');
    assert.equal(fromTable, `retainDays: { value: ${SETTINGS.retainActivityDays.value} }`);
  });

  it('stops the build on a placeholder naming no setting, naming the file', () => {
    assert.throws(
      () => fillEditorDefaults('a: { value: {{default:retainActivityDayz}} }', 'nodes/x/x.html'),
      /nodes\/x\/x\.html: \{\{default:retainActivityDayz\}\} is not a setting/,
    );
  });

  it('has the shipped cloud flow read every one it holds from the environment, never a number of its own', () => {
    const flow = readFlow(join(root, 'flows', 'cloud.json'));
    for (const s of Object.values(SETTINGS)) {
      const [nodeType, property] = s.property;
      for (const node of flow.filter((n) => n.type === nodeType))
        assert.equal((node as Record<string, unknown>)[property], `\${${s.env}}`, `${node.id}.${property}`);
    }
  });

  it('stops the start on a bad value, naming the variable, instead of falling back silently', () => {
    const cases: Array<[Record<string, string>, RegExp]> = [
      [{ PICAM_DEBOUNCE_SECONDS: 'soon' }, /PICAM_DEBOUNCE_SECONDS must be a number \(got "soon"\)/],
      [{ PICAM_RETAIN_ACTIVITY_DAYS: '-1' }, /PICAM_RETAIN_ACTIVITY_DAYS must be at least 0 \(got "-1"\)/],
      [{ PICAM_UPLOAD_MAX_MB: '0' }, /PICAM_UPLOAD_MAX_MB must be at least 1/],
      [{ PICAM_CLOCK_PAST_HOURS: '12h' }, /PICAM_CLOCK_PAST_HOURS must be a number/],
      [{ PICAM_DB_READ_CONNECTIONS: '0' }, /PICAM_DB_READ_CONNECTIONS must be at least 1 \(got "0"\)/],
      [{ PICAM_DB_READ_CONNECTIONS: '17' }, /PICAM_DB_READ_CONNECTIONS must be at most 16 \(got "17"\)/],
      [{ PICAM_DB_READ_CONNECTIONS: '2.5' }, /PICAM_DB_READ_CONNECTIONS must be a whole number/],
    ];
    for (const [env, message] of cases) {
      const { problems } = settingsFor(env);
      assert.ok(
        problems.some((p) => message.test(p)),
        `${JSON.stringify(env)}: ${problems.join('; ')}`,
      );
    }
    assert.equal(settingsFor({ PICAM_DEBOUNCE_SECONDS: ' 45 ' }).flowEnv.PICAM_DEBOUNCE_SECONDS, '45');
    assert.equal(settingsFor({ PICAM_RETAIN_SENSOR_DAYS: '' }).flowEnv.PICAM_RETAIN_SENSOR_DAYS, '7', 'empty means the default');
  });
});

describe('settings: parsers', () => {
  it('reads numbers, refusing what is not one', () => {
    assert.equal(parseNumber('X', undefined, 7), 7);
    assert.equal(parseNumber('X', '', 7), 7);
    assert.equal(parseNumber('X', '2.5', 7), 2.5);
    assert.equal(parseNumber('X', 3, 7), 3);
    assert.throws(() => parseNumber('X', '   ', 7), /X must be a number/);
    assert.throws(() => parseNumber('X', 'Infinity', 7), /X must be a number/);
    assert.throws(() => parseNumber('X', '1.5', 7, { integer: true }), /X must be a whole number/);
  });

  it('reads booleans one way everywhere, refusing anything else', () => {
    for (const v of [true, 'true', 'TRUE', '1', 'yes', 'on', ' On ']) assert.equal(parseBoolean('B', v, false), true, String(v));
    for (const v of [false, 'false', '0', 'no', 'off']) assert.equal(parseBoolean('B', v, true), false, String(v));
    assert.equal(parseBoolean('B', undefined, true), true);
    assert.equal(parseBoolean('B', '', false), false);
    assert.throws(() => parseBoolean('usetls', 'maybe', false), /usetls must be true or false \(got "maybe"\)/);
  });

  it('reads lists, dropping empty items', () => {
    assert.deepEqual(parseList(' a, b ,,c,'), ['a', 'b', 'c']);
    assert.deepEqual(parseList('', ['x']), ['x']);
    assert.deepEqual(parseList(undefined), []);
  });

  it('PICAM_DB_URL: empty keeps SQLite; a postgres URL is taken; anything else is refused without repeating it', () => {
    assert.equal(parseDbUrl(undefined), '');
    assert.equal(parseDbUrl('  '), '');
    assert.equal(parseDbUrl('postgres://u:s3cret@db:5432/picam'), 'postgres://u:s3cret@db:5432/picam');
    assert.equal(parseDbUrl('postgresql://db/picam'), 'postgresql://db/picam');
    for (const bad of ['mysql://u:s3cret@db/picam', 'u:s3cret@db', 's3cret']) {
      assert.throws(
        () => parseDbUrl(bad),
        (err: Error) => /PICAM_DB_URL/.test(err.message) && !err.message.includes('s3cret'),
      );
    }
    const { problems } = settingsFor({ PICAM_DB_URL: 'mysql://u:s3cret@db/picam' });
    assert.ok(
      problems.some((p) => /PICAM_DB_URL must be a postgres:\/\/ URL/.test(p)) && !problems.join().includes('s3cret'),
      problems.join('\n'),
    );
  });
});
