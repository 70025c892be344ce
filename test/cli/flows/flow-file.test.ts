/**
 * The flow files' stable format, the checks a flow passes before it is
 * deployed, the version metadata, and the semver subset the module check uses.
 */
import assert from 'node:assert/strict';
import { settingsFor } from '../../../cli/runtime/roles';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  CORE_TYPES,
  FLOW_ROLES,
  OTHER_MODULE_TYPES,
  checkFlow,
  editorConfigRefs,
  formatFlow,
  metaFileFor,
  modulesFor,
  packageInfo,
  parseFlow,
  readFlow,
  readFlowMeta,
  sortFlow,
  type FlowNode,
} from '../../../cli/flows/flow-file';
import { formatFlows } from '../../../cli/deploy/deploy';
import { satisfies } from 'semver';
import { tempDir } from '../../support/tmp';
import { layoutProblems } from '../../support/flow-layout';

const root = join(__dirname, '..', '..', '..');
const flowFile = (role: string) => join(root, 'flows', `${role}.json`);
const installedVersion = (module: string) =>
  (JSON.parse(readFileSync(join(root, 'node_modules', module, 'package.json'), 'utf8')) as { version: string }).version;

describe('the committed flow files', () => {
  for (const role of FLOW_ROLES) {
    it(`flows/${role}.json is in the stable format, so an edit reads well in a diff`, () => {
      const text = readFileSync(flowFile(role), 'utf8');
      assert.equal(
        formatFlow(parseFlow(text, role)),
        text,
        `reformat with: picam-guardian format-flows (or npx tsx cli/picam-guardian.ts format-flows)`,
      );
    });

    // The editor is where makers meet the project first.
    it(`flows/${role}.json reads well in the editor: every node in a group, none drawn over another, no wire across groups`, () => {
      assert.deepEqual(layoutProblems(readFlow(flowFile(role))), []);
    });

    it(`flows/${role}.json says what each group does, and crosses between groups only with link nodes`, () => {
      const flow = readFlow(flowFile(role));
      const byId = new Map(flow.map((n) => [n.id, n]));
      for (const group of flow.filter((n) => n.type === 'group')) {
        const members = (group.nodes as string[]).map((id) => byId.get(id)!);
        assert.ok(typeof group.name === 'string' && group.name, `${group.id} has a name`);
        assert.ok(
          members.some((n) => n.type === 'comment' && n.name),
          `${group.id} (${group.name}) has a comment`,
        );
      }
      for (const out of flow.filter((n) => n.type === 'link out')) {
        for (const to of out.links as string[]) {
          const target = byId.get(to)!;
          assert.equal(target.type, 'link in', `${out.id} links to a link in`);
          assert.ok((target.links as string[]).includes(out.id), `${to} lists ${out.id} back (as the editor writes it)`);
          assert.notEqual(target.g, out.g, `${out.id} → ${to} crosses groups (a wire would do inside one)`);
        }
        assert.equal(out.mode, 'link');
      }
    });

    it(`flows/${role}.json shows failures: a catch and a status node for the whole tab, in a group of their own`, () => {
      const flow = readFlow(flowFile(role));
      const byId = new Map(flow.map((n) => [n.id, n]));
      const watchers = flow.filter((n) => (n.type === 'catch' || n.type === 'status') && n.scope === null);
      assert.deepEqual(watchers.map((n) => n.type).sort(), ['catch', 'status']);
      const group = byId.get(watchers[0]!.g as string)!;
      assert.equal(group.name, 'Failures');
      const catchNode = watchers.find((n) => n.type === 'catch')!;
      assert.equal(catchNode.uncaught, false);
      // A caught error is not logged by Node-RED: the catch node must lead somewhere (test/e2e/cloud.test.ts: to the log).
      assert.ok((catchNode.wires as string[][]).flat().length > 0, 'the catch node is wired');
      for (const n of watchers) assert.equal(n.g, group.id);
    });

    it(`flows/${role}.json passes the checks: known types, config nodes present, no secrets`, () => {
      const pkg = packageInfo();
      const knownTypes = new Set([...CORE_TYPES, ...pkg.types, ...Object.values(OTHER_MODULE_TYPES).flat()]);
      const check = checkFlow(readFlow(flowFile(role)), { knownTypes });
      assert.deepEqual(check.problems, []);
      assert.ok(check.envVars.includes('MQTT_PASSWORD'), 'site values come from ${VAR}s');
    });

    it(`every \${VAR} flows/${role}.json reads is documented in ${role}/${role}.env.example and set by the role`, () => {
      const template = readFileSync(join(root, role, `${role}.env.example`), 'utf8');
      const { flowEnv } = settingsFor({ PICAM_ROLE: role, PICAM_MQTT_HOST: 'cloud.example' });
      for (const name of checkFlow(readFlow(flowFile(role))).envVars) {
        assert.match(template, new RegExp(`\\b${name}\\b`), `${name} is explained in the ${role} env template`);
        assert.ok(
          name in flowEnv || ['MQTT_USERNAME', 'MQTT_PASSWORD'].includes(name),
          `${name} has a value or a required check in cli/runtime/roles.ts`,
        );
      }
    });

    it(`flows.meta.json gives the ${role} flow a version and exactly the modules its node types come from`, () => {
      const meta = readFlowMeta(metaFileFor(flowFile(role)), role);
      const derived = modulesFor(readFlow(flowFile(role)));
      assert.deepEqual(derived.unknown, []);
      assert.deepEqual(Object.keys(meta.modules).sort(), Object.keys(derived.modules).sort());
      // The ranges admit what this repository installs, so the flows run on what we test.
      const pkg = packageInfo();
      for (const [module, range] of Object.entries(meta.modules)) {
        const version = module === pkg.name ? pkg.version : installedVersion(module);
        assert.ok(satisfies(version, range), `${module} ${version} satisfies ${range}`);
      }
    });

    it(`flows/CHANGELOG.md has an entry for the ${role} flow's current version`, () => {
      const { version } = readFlowMeta(metaFileFor(flowFile(role)), role);
      const log = readFileSync(join(root, 'flows', 'CHANGELOG.md'), 'utf8');
      const section = log.split(/^## /m).find((s) => s.startsWith(`${role}\n`));
      assert.ok(section, `a "## ${role}" section`);
      assert.match(section, new RegExp(`^### ${version.replace(/\./g, '\\.')}$`, 'm'));
    });
  }

  it(
    'flows.meta.json is not copied to examples/ (Node-RED would list it as a flow to import)',
    { skip: !existsSync(join(root, 'examples')) },
    () => {
      assert.ok(!existsSync(join(root, 'examples', 'flows.meta.json')));
    },
  );
});

describe('stable format', () => {
  const flow: FlowNode[] = [
    { id: 'n2', type: 'debug', z: 't1', wires: [], name: 'second' },
    { id: 'cfg', type: 'mqtt-broker', broker: 'x' },
    { id: 't2', type: 'tab', label: 'B' },
    { wires: [['n2', 'n0']], z: 't1', type: 'inject', id: 'n1', props: [{ p: 'payload', v: '1' }, { p: 'topic' }] },
    { id: 't1', type: 'tab', label: 'A' },
    { id: 'n0', type: 'debug', z: 't2', wires: [] },
  ];

  it('puts tabs first in their own order (the editor tab order), then nodes by tab and id, config nodes leading', () => {
    assert.deepEqual(
      sortFlow(flow).map((n) => n.id),
      ['t2', 't1', 'cfg', 'n1', 'n2', 'n0'],
    );
  });

  it('orders keys: id, type, z, name/label, then alphabetically, nested objects too; arrays keep their order', () => {
    const text = formatFlow(flow);
    const nodes = JSON.parse(text) as FlowNode[];
    assert.deepEqual(Object.keys(nodes.find((n) => n.id === 'n2')!), ['id', 'type', 'z', 'name', 'wires']);
    assert.deepEqual(Object.keys(nodes.find((n) => n.id === 'n1')!), ['id', 'type', 'z', 'props', 'wires']);
    assert.deepEqual(nodes.find((n) => n.id === 'n1')!.wires, [['n2', 'n0']]);
    assert.ok(text.endsWith('}\n]\n') && text.includes('\n  {\n    "id": "t2"'), 'two-space JSON with a trailing newline');
  });

  it('is idempotent and independent of the input order', () => {
    const once = formatFlow(flow);
    assert.equal(formatFlow(JSON.parse(once) as FlowNode[]), once);
    const shuffled = [...flow].reverse().filter((n) => n.type !== 'tab');
    const tabs = flow.filter((n) => n.type === 'tab');
    assert.equal(formatFlow([...shuffled, ...tabs]), once);
  });
});

describe('stable format of a laid-out flow', () => {
  // As the editor exports it: groups before or after their members, keys in any order.
  const laidOut: FlowNode[] = [
    { id: 'b', type: 'link in', z: 't', g: 'g2', name: 'in', links: ['a'], wires: [['c']], x: 400, y: 60, l: true },
    {
      id: 'g1',
      type: 'group',
      z: 't',
      name: 'first',
      style: { label: true, fill: '#e3f3d3' },
      nodes: ['n', 'a'],
      x: 4,
      y: 19,
      w: 257,
      h: 82,
    },
    { x: 100, y: 60, wires: [['a']], type: 'inject', id: 'n', z: 't', g: 'g1' },
    { id: 'a', type: 'link out', z: 't', g: 'g1', mode: 'link', links: ['b'], wires: [], x: 220, y: 60 },
    { id: 'c', type: 'debug', z: 't', g: 'g2', wires: [], x: 600, y: 60 },
    { id: 'g2', type: 'group', z: 't', name: 'second', style: { label: true }, nodes: ['c', 'b'], x: 324, y: 19, w: 402, h: 82 },
    { id: 't', type: 'tab', label: 'T' },
  ];

  it('keeps groups, their member lists in order, g and link lists through a round trip', () => {
    const text = formatFlow(laidOut);
    const back = JSON.parse(text) as FlowNode[];
    const byId = new Map(back.map((n) => [n.id, n]));
    for (const node of laidOut) assert.deepEqual(byId.get(node.id), node, `${node.id} unchanged but for key order`);
    assert.deepEqual(byId.get('g1')!.nodes, ['n', 'a'], 'member order is kept (it is meaning to nobody, but a diff would show it)');
    assert.equal(formatFlow(back), text);
    assert.deepEqual(layoutProblems(laidOut), [], 'the sample is laid out cleanly');
    assert.deepEqual(layoutProblems(back), []);
  });

  it('the checks find a group and its members that disagree, and scopes naming missing nodes', () => {
    const broken = laidOut.map((n) => (n.id === 'g1' ? { ...n, nodes: ['n', 'gone'] } : n.id === 'c' ? { ...n, g: 'nowhere' } : n));
    const { problems } = checkFlow([...broken, { id: 's', type: 'status', z: 't', scope: ['gone'], wires: [] }], { configRefs: {} });
    assert.deepEqual(problems.sort(), [
      'node "a" (link out): its group "g1" does not list it',
      'node "c" (debug): its group "nowhere" is not in the flow',
      'node "g1" (group "first"): lists "gone", which is not in the flow',
      'node "g2" (group "second"): lists "c", which is not in this group',
      'node "s" (status): watches "gone", which is not in the flow',
    ]);
  });

  it('the layout check finds nodes outside groups, drawn over each other, and wires across groups', () => {
    const flow = laidOut.map((n) => (n.id === 'n' ? { ...n, wires: [['a', 'c']] } : n.id === 'c' ? { ...n, x: 410 } : n));
    const problems = layoutProblems([...flow, { id: 'loose', type: 'debug', z: 't', wires: [], x: 900, y: 300 }]);
    assert.ok(problems.includes('b and c are drawn over each other'), problems.join('\n'));
    assert.ok(problems.includes('n is wired across groups to c (use a link out / link in pair)'));
    assert.ok(problems.includes('loose is in no group'));
  });
});

describe('picam-guardian format-flows', () => {
  it('reports an unformatted file with --check, rewrites it without, and reports failed checks', () => {
    const file = join(tempDir(), 'flow.json');
    const nodes: FlowNode[] = [
      { id: 'n', z: 't', type: 'debug', wires: [] },
      { id: 't', type: 'tab' },
    ];
    writeFileSync(file, JSON.stringify(nodes));
    const lines: string[] = [];
    assert.equal(
      formatFlows([file], true, (l) => lines.push(l)),
      1,
    );
    assert.match(lines[0]!, /flow\.json: not in the stable format/);
    assert.equal(
      formatFlows([file], false, (l) => lines.push(l)),
      0,
    );
    assert.equal(readFileSync(file, 'utf8'), formatFlow(nodes));
    assert.equal(
      formatFlows([file], true, (l) => lines.push(l)),
      0,
    );
    writeFileSync(file, formatFlow([...nodes, { id: 'x', type: 'no-such-type', z: 't' }]));
    assert.equal(
      formatFlows([file], true, (l) => lines.push(l)),
      1,
    );
    assert.match(lines.at(-1)!, /unknown node type "no-such-type"/);
  });
});

describe('reading a flow file', () => {
  it('says when a file is not JSON, not an array, or holds something that is not a node', () => {
    assert.throws(() => parseFlow('{"id":', 'x.json'), /x\.json is not valid JSON/);
    assert.throws(() => parseFlow('{"id":"a"}', 'x.json'), /x\.json is not a Node-RED flow \(expected a JSON array of nodes\)/);
    assert.throws(() => parseFlow('[{"id":"a","type":"tab"}, 3]', 'x.json'), /entry 1 is not a node/);
    assert.throws(() => readFlow('/nonexistent/flow.json'), /does not exist/);
  });
});

describe('checks', () => {
  const base: FlowNode[] = [
    { id: 't', type: 'tab' },
    { id: 'db', type: 'picam-database', file: '${PICAM_DB_FILE}' },
    { id: 'broker', type: 'mqtt-broker', broker: '${PICAM_MQTT_HOST}', credentials: { user: '${MQTT_USERNAME}', password: '' } },
    { id: 'in', type: 'mqtt in', z: 't', broker: 'broker', topic: 'prod/#', wires: [['store']] },
    { id: 'store', type: 'sqlite-events', z: 't', database: 'db', wires: [[]] },
  ];

  it('passes a good flow and lists the ${VAR}s it reads (whole values only, credentials too)', () => {
    const check = checkFlow([...base, { id: 'c', type: 'comment', z: 't', info: 'see ${NOT_A_VALUE} in text' }]);
    assert.deepEqual(check.problems, []);
    assert.deepEqual(check.envVars, ['MQTT_USERNAME', 'PICAM_DB_FILE', 'PICAM_MQTT_HOST']);
  });

  it('finds missing config nodes and config nodes of the wrong type', () => {
    const flow = base.map((n) => (n.id === 'in' ? { ...n, broker: 'gone' } : n.id === 'store' ? { ...n, database: 'broker' } : n));
    const { problems } = checkFlow(flow);
    assert.ok(
      problems.some((p) => /node "in" \(mqtt in\): broker refers to config node "gone", which is not in the flow/.test(p)),
      problems.join('\n'),
    );
    assert.ok(
      problems.some((p) => /node "store" \(sqlite-events\): database refers to "broker" of type mqtt-broker, not picam-database/.test(p)),
    );
  });

  it('finds wires and tabs that point nowhere, and duplicate ids', () => {
    const flow = [
      ...base,
      { id: 'x', type: 'debug', z: 'no-tab', wires: [] },
      { id: 'y', type: 'inject', z: 't', wires: [['missing']] },
      base[1]!,
    ];
    const { problems } = checkFlow(flow);
    assert.ok(problems.some((p) => /node "x" .*tab or subflow "no-tab" is not in the flow/.test(p)));
    assert.ok(problems.some((p) => /node "y" .*wired to "missing"/.test(p)));
    assert.ok(problems.some((p) => /node "db" .*used twice/.test(p)));
  });

  it('refuses credentials that are not ${VAR} references, without repeating the secret', () => {
    const flow = base.map((n) => (n.id === 'broker' ? { ...n, credentials: { user: '${MQTT_USERNAME}', password: 'hunter2' } } : n));
    const { problems } = checkFlow(flow);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /node "broker" \(mqtt-broker\): credentials\.password holds a value, not a \$\{VAR\} reference/);
    assert.ok(!problems[0]!.includes('hunter2'));
  });

  it('reports unknown node types when the known ones are given', () => {
    const { problems } = checkFlow([...base, { id: 'u', type: 'node-red-contrib-nope', z: 't' }], { knownTypes: CORE_TYPES });
    assert.ok(problems.some((p) => p.includes('unknown node type "node-red-contrib-nope"')));
    assert.ok(problems.some((p) => p.includes('unknown node type "sqlite-events"')));
  });

  it("reads config references from a node's editor definition, not its credentials", () => {
    const html = `RED.nodes.registerType('x', { defaults: { name: { value: '' }, db: { value: '', type: 'picam-database', required: true } },
      credentials: { token: { type: 'password' } }, oneditprepare() { $('#y').typedInput({ type: 'msg' }); } });`;
    assert.deepEqual(editorConfigRefs(html), { db: 'picam-database' });
  });
});

describe('semantic versions (the semver package)', () => {
  /** A flow metadata file with one module range, read as deploy reads it. */
  const metaWith = (range: string) => {
    const file = join(tempDir(), 'cloud.meta.json');
    writeFileSync(file, JSON.stringify({ cloud: { version: '1.2.0', modules: { 'node-red': range } } }));
    return () => readFlowMeta(file, 'cloud');
  };

  it('accepts every npm range spelling in flow metadata, and refuses what npm refuses', () => {
    for (const range of ['^4.1.0', '>= 4.1.0', '4.1.0 - 5', '>=4.1.0 <6 || 6.x', '4.1.x', '*'])
      assert.equal(metaWith(range)().modules['node-red'], range);
    for (const range of ['latest', '>>4', '4.1.0 -']) assert.throws(metaWith(range), /invalid version range/, range);
  });
});
