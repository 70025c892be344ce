/** The version record deploy leaves on a runtime, the local state rollback uses, and the module check. */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { NodeSet } from '../../../cli/deploy/admin-api';
import { missingModules } from '../../../cli/deploy/deploy';
import {
  RECORD_ID,
  previousFile,
  readPrevious,
  readRecord,
  stagePrevious,
  stateDirFor,
  withRecord,
  withoutRecord,
} from '../../../cli/deploy/deploy-state';
import type { FlowNode } from '../../../cli/flows/flow-file';
import { tempDir } from '../../support/tmp';

const flow: FlowNode[] = [
  { id: 't', type: 'tab', label: 'Main' },
  { id: 'a', type: 'inject', z: 't', x: 100, y: 300, wires: [] },
];

describe('version record', () => {
  it('is a comment on the first tab whose info carries the record; reading it back and removing it', () => {
    const record = { flow: 'cloud', version: '1.2.0', deployedAt: '2025-01-01T00:00:00.000Z' };
    const deployed = withRecord(flow, record);
    const node = deployed.find((n) => n.id === RECORD_ID)!;
    assert.equal(node.type, 'comment');
    assert.equal(node.z, 't');
    assert.equal(node.name, 'deployed: cloud flow 1.2.0');
    assert.ok((node.y as number) > 300, 'below the tab’s nodes');
    assert.deepEqual(readRecord(deployed), record);
    assert.deepEqual(withoutRecord(deployed), flow);
    assert.equal(readRecord(flow), undefined);
    assert.equal(readRecord([{ ...node, info: 'edited by hand' }]), undefined);
    assert.deepEqual(
      readRecord(withRecord(deployed, { ...record, version: '1.3.0' })),
      { ...record, version: '1.3.0' },
      'replaced, not added',
    );
  });
});

describe('local state', () => {
  it('lives per runtime and role; a staged save replaces previous.json only when committed', () => {
    const base = tempDir();
    const dir = stateDirFor('http://127.0.0.1:1880/admin', 'cloud', base);
    assert.equal(dir, join(base, '127.0.0.1-1880', 'cloud'));
    assert.equal(stateDirFor('https://pi.local/admin', 'pi', base), join(base, 'pi.local-443', 'pi'));
    const saved = { url: 'u', role: 'cloud', savedAt: 'now', rev: 'r1', flows: flow };
    stagePrevious(dir, saved).discard();
    assert.equal(readPrevious(dir), undefined);
    stagePrevious(dir, saved).commit();
    assert.deepEqual(readPrevious(dir), saved);
    stagePrevious(dir, { ...saved, rev: 'r2' }).discard();
    assert.equal(readPrevious(dir)!.rev, 'r1');
    assert.ok(existsSync(previousFile(dir)) && readFileSync(previousFile(dir), 'utf8').endsWith('\n'));
  });
});

describe('module check', () => {
  const sets: NodeSet[] = [
    { id: 'node-red/inject', name: 'inject', types: ['inject', 'comment'], enabled: true, module: 'node-red', version: '4.1.15' },
    {
      id: 'picam-guardian/sqlite-events',
      name: 'sqlite-events',
      types: ['sqlite-events'],
      enabled: true,
      module: 'picam-guardian',
      version: '0.1.0',
    },
  ];
  const nodes: FlowNode[] = [
    { id: 't', type: 'tab' },
    { id: 'i', type: 'inject', z: 't' },
    { id: 's', type: 'sqlite-events', z: 't' },
    { id: 'b', type: 'aedes broker', z: 't' },
  ];

  it('names the missing module, the version mismatch and the missing type', () => {
    const meta = { version: '1.0.0', modules: { 'node-red': '>=4.1.0', 'picam-guardian': '>=0.2.0', 'node-red-contrib-aedes': '^0.6.0' } };
    assert.deepEqual(missingModules('cloud', meta, nodes, '4.1.15', sets), [
      'the runtime has picam-guardian 0.1.0; the cloud flow needs picam-guardian >=0.2.0',
      'the runtime lacks module node-red-contrib-aedes (the cloud flow needs node-red-contrib-aedes ^0.6.0)',
    ]);
    assert.deepEqual(missingModules('cloud', { version: '1.0.0', modules: { 'node-red': '>=5.0.0' } }, nodes.slice(0, 2), '4.1.15', sets), [
      'the runtime has node-red 4.1.15; the cloud flow needs node-red >=5.0.0',
    ]);
    assert.deepEqual(missingModules('cloud', { version: '1.0.0', modules: {} }, [{ id: 'x', type: 'mystery' }], '4.1.15', sets), [
      'the runtime has no node type "mystery"',
    ]);
    const disabled = sets.map((s) => (s.module === 'picam-guardian' ? { ...s, enabled: false } : s));
    assert.deepEqual(
      missingModules('cloud', { version: '1.0.0', modules: { 'picam-guardian': '*' } }, nodes.slice(0, 3), '4.1.15', disabled),
      ['module picam-guardian is installed on the runtime but disabled'],
    );
  });
});
