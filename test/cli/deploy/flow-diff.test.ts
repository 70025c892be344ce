/** What `deploy` shows before it changes a runtime: nodes added, changed and removed. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { diffFlows, formatDiff, isEmptyDiff } from '../../../cli/deploy/flow-diff';
import type { FlowNode } from '../../../cli/flows/flow-file';

const running: FlowNode[] = [
  { id: 't', type: 'tab', label: 'Main' },
  { id: 'a', type: 'inject', z: 't', name: 'tick', repeat: '5', wires: [['b']] },
  { id: 'b', type: 'debug', z: 't', wires: [] },
  { id: 'broker', type: 'mqtt-broker', name: 'cloud broker', broker: 'localhost' },
];

describe('flow diff', () => {
  it('matches nodes by id and names the properties that changed', () => {
    const next: FlowNode[] = [
      running[0]!,
      { ...running[1]!, repeat: '10', wires: [['c']] },
      { id: 'c', type: 'function', z: 't', name: 'shape', wires: [[]] },
      { id: 'broker', type: 'mqtt-broker', name: 'cloud broker', broker: 'localhost' },
    ];
    const diff = diffFlows(running, next);
    assert.deepEqual(diff.added, [{ id: 'c', type: 'function', name: 'shape' }]);
    assert.deepEqual(diff.changed, [{ id: 'a', type: 'inject', name: 'tick', properties: ['repeat', 'wires'] }]);
    assert.deepEqual(diff.removed, [{ id: 'b', type: 'debug' }]);
    assert.deepEqual(formatDiff(diff), [
      '  + c (function "shape")',
      '  ~ a (inject "tick"): repeat, wires',
      '  - b (debug)',
      '1 added, 1 changed, 1 removed',
    ]);
  });

  it('ignores key order and credentials (the Admin API never returns them)', () => {
    const fromFile = running.map((n) =>
      n.id === 'broker'
        ? { broker: 'localhost', name: 'cloud broker', type: 'mqtt-broker', id: 'broker', credentials: { user: '${MQTT_USERNAME}' } }
        : n,
    );
    const diff = diffFlows(running, fromFile);
    assert.ok(isEmptyDiff(diff));
    assert.deepEqual(formatDiff(diff), ['no node changes']);
  });

  it('sees a tab renamed by its label', () => {
    const diff = diffFlows(running, [{ id: 't', type: 'tab', label: 'Renamed' }, ...running.slice(1)]);
    assert.deepEqual(diff.changed, [{ id: 't', type: 'tab', name: 'Renamed', properties: ['label'] }]);
  });
});
