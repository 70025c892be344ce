/**
 * "Alert me only for people" (issue 20): the rule alone, and in a real Node-RED
 * runtime from a camera's MQTT activity to the fake Telegram: the person's event
 * is sent, a plain motion start (what a lighting change or a shadow gives a camera
 * without the detector's person) and a car are held back with the reason.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { labelRuleVerdict, parseLabelRule } from '../../../../nodes/lib/alerts/label-rule';
import { alertNodeConfig } from '../../../../nodes/lib/alerts/alert-node';
import type { Alert } from '../../../../nodes/lib/types';
import databaseNode from '../../../../nodes/picam-database/picam-database';
import processorNode from '../../../../nodes/mqtt-processor/mqtt-processor';
import alertNode from '../../../../nodes/telegram-alert/telegram-alert';
import botNode from '../../../../nodes/telegram-bot/telegram-bot';
import { FakeTelegram } from '../../../support/fake-telegram';
import { Collector, helper, node, until, useNodeRed } from '../../../support/node-helper';
import { tempDir } from '../../../support/tmp';

const person = { label: 'person', score: 0.61, box: { x: 30, y: 35, w: 12, h: 60 } };
const activity = (fields: Partial<Alert>): Partial<Alert> => ({ kind: 'activity', deviceId: 'pi-1', deviceName: 'Driveway', ...fields });

describe('label rule', () => {
  it('lets through only the labels asked for, per camera or for all; other alerts pass', () => {
    const all = parseLabelRule('person');
    assert.equal(labelRuleVerdict(all, activity({ activityType: 'MOTION_SMART', detection: person })), undefined);
    assert.equal(labelRuleVerdict(all, activity({ activityType: 'MOTION' })), 'only person: the detector saw nothing it counts');
    assert.equal(labelRuleVerdict(all, activity({ detection: { ...person, label: 'car' } })), 'only person: the detector saw car');
    assert.equal(labelRuleVerdict(all, { kind: 'stream-down', deviceId: 'pi-1' }), undefined, 'not an activity');
    const perCamera = parseLabelRule('pi-1 = person; Garden = person, dog');
    assert.equal(labelRuleVerdict(perCamera, activity({ deviceId: 'other' })), undefined, 'a camera the rule does not name');
    assert.equal(
      labelRuleVerdict(perCamera, activity({ deviceId: 'g', deviceName: 'Garden', detection: { ...person, label: 'dog' } })),
      undefined,
    );
    assert.equal(parseLabelRule('  '), undefined);
  });

  it('refuses an unknown label or a missing camera with the reason, at deploy', () => {
    assert.throws(() => parseLabelRule('persons'), /unknown label\(s\) persons/);
    assert.throws(() => parseLabelRule('=person'), /camera id before "=" is missing/);
    assert.throws(() => alertNodeConfig({ database: 'db', onlyLabels: 'driveway=' }), /no label given/);
  });
});

describe('telegram-alert with "only person", fed by mqtt-processor', () => {
  const dir = tempDir();
  let fake: FakeTelegram;
  useNodeRed();
  beforeEach(async () => {
    fake = await FakeTelegram.start();
  });
  afterEach(() => fake.stop());

  it('sends the person, holds back a plain motion (a lighting change) and a car, saying why', async () => {
    const flow = [
      { id: 'db', type: 'picam-database', file: join(dir, 'labels.db'), synchronous: 'NORMAL', retainActivityDays: 0 },
      { id: 'bot', type: 'telegram-bot', apiRoot: fake.url, timeoutSeconds: 2, polling: false },
      { id: 'p', type: 'mqtt-processor', prefix: 'prod', deviceTypes: 'hive-cam,picam', database: '', wires: [[], ['ta'], [], []] },
      {
        id: 'ta',
        type: 'telegram-alert',
        bot: 'bot',
        database: 'db',
        chatIds: '42',
        cooldownSeconds: 0,
        quietAction: 'silent',
        timeZone: 'UTC',
        onlyLabels: 'person',
        wires: [['reports'], [], []],
      },
      { id: 'reports', type: 'helper' },
    ];
    await helper.load([databaseNode, botNode, processorNode, alertNode], flow, { bot: { token: fake.token } });
    const reports = new Collector('reports');
    const now = Math.floor(Date.now() / 1000);
    const start = (eventId: string, extra: object) =>
      node('p').receive({
        topic: 'prod/device/message/picam/pi-1/activity/start',
        payload: JSON.stringify({ eventId, activityType: 'MOTION', timestamp: now, confidence: 0.7, ...extra }),
      });
    start('evt_light', {});
    start('evt_car', { detection: { label: 'car', score: 0.7, box: { x: 1, y: 60, w: 20, h: 15 } } });
    start('evt_person', { activityType: 'MOTION_SMART', detection: person });
    const sent = await until('the person sent', () => reports.msgs.find((m) => m.payload.status === 'sent'), 15_000);
    assert.equal(sent.payload.eventId, 'evt_person');
    const held = await until('two held back', () => {
      const s = reports.msgs.filter((m) => m.payload.status === 'suppressed');
      return s.length === 2 ? s : undefined;
    });
    assert.deepEqual(held.map((m) => [m.payload.eventId, m.payload.reason]).sort(), [
      ['evt_car', 'only person: the detector saw car'],
      ['evt_light', 'only person: the detector saw nothing it counts'],
    ]);
    assert.equal(fake.sent(42).length, 1, 'one message: the person');
    assert.match(fake.sent(42)[0]!.plain ?? '', /Driveway|pi-1/);
  });
});
