import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CameraMode } from '../../../nodes/lib/types';
import { parseChatIds } from '../../../nodes/telegram-alert/chats';
import { answerCommand, parseCommand, type CameraInfo, type CommandContext } from '../../../nodes/telegram-alert/commands';

const CAMERAS: CameraInfo[] = [
  { id: 'cam-front', name: 'Front Door', online: true, mode: 'ARMED' },
  { id: 'cam-garden', name: 'Garden', online: false, mode: 'LIVESTREAMONLY', desiredMode: 'ARMED' },
  { id: 'cam-garage', name: 'Garage <side>', online: true },
];

function context(snapshots = true) {
  const modes: Array<[string, CameraMode]> = [];
  const asked: string[] = [];
  const ctx: CommandContext = {
    format: { timeZone: 'UTC' },
    cameras: async () => CAMERAS,
    recentEvents: async () => [
      { cameraId: 'cam-front', cameraName: 'Front Door', activityType: 'PERSON', startMs: Date.UTC(2026, 10, 27, 1, 2, 3) },
    ],
    setMode: (id, mode) => modes.push([id, mode]),
    requestSnapshot: (c) => (snapshots ? (asked.push(c.id), true) : false),
  };
  return { ctx, modes, asked };
}

const ask = (text: string, ctx: CommandContext) => answerCommand(parseCommand(text)!, ctx);

describe('telegram commands', () => {
  it('parses commands, with arguments and a bot name, and ignores other text and other bots', () => {
    assert.deepEqual(parseCommand('/arm Front Door'), { name: 'arm', args: 'Front Door' });
    assert.deepEqual(parseCommand('/STATUS@picam_bot', 'picam_bot'), { name: 'status', args: '' });
    assert.equal(parseCommand('/status@other_bot', 'picam_bot'), undefined);
    assert.equal(parseCommand('hello'), undefined);
  });

  it('/status lists every camera with its state and the last events, escaping names', async () => {
    const reply = await ask('/status', context().ctx);
    assert.match(reply, /🟢 Front Door: online, ARMED/);
    assert.match(reply, /🔴 Garden: offline, LIVESTREAMONLY \(asked for ARMED\)/);
    assert.match(reply, /Garage &lt;side&gt;: online, mode unknown/);
    assert.match(reply, /Front Door: person, Fri 27 Nov, 01:02:03/);
  });

  it('/arm and /disarm set the mode of all cameras, or one found by name, id or a unique start', async () => {
    const all = context();
    assert.match(await ask('/arm', all.ctx), /^Arming: Front Door, Garden, Garage &lt;side&gt;/);
    assert.deepEqual(all.modes, [
      ['cam-front', 'ARMED'],
      ['cam-garden', 'ARMED'],
      ['cam-garage', 'ARMED'],
    ]);
    const one = context();
    await ask('/disarm gard', one.ctx);
    assert.deepEqual(one.modes, [['cam-garden', 'LIVESTREAMONLY']]);
    const byId = context();
    await ask('/arm cam-front', byId.ctx);
    assert.deepEqual(byId.modes, [['cam-front', 'ARMED']]);
  });

  it('says what it could not find, and changes nothing', async () => {
    const c = context();
    assert.match(await ask('/arm Kitchen', c.ctx), /No camera called "Kitchen". Cameras: Front Door, Garden, Garage &lt;side&gt;/);
    assert.match(await ask('/arm ga', c.ctx), /could be Garden or Garage/);
    assert.deepEqual(c.modes, []);
  });

  it('/snapshot asks a camera node, or says none can', async () => {
    const c = context();
    assert.match(await ask('/snapshot front door', c.ctx), /Asking Front Door for a picture/);
    assert.deepEqual(c.asked, ['cam-front']);
    assert.match(await ask('/snapshot front door', context(false).ctx), /No camera node here can take a picture of Front Door/);
    assert.match(await ask('/snapshot', c.ctx), /Which camera\?/);
  });

  it('answers /help and unknown commands with the list', async () => {
    assert.match(await ask('/help', context().ctx), /\/status/);
    assert.match(await ask('/reboot', context().ctx), /I don't know \/reboot/);
  });
});

describe('chat ids', () => {
  it('reads users, groups and channels, and refuses anything else', () => {
    assert.deepEqual(parseChatIds('42, -1001234567890 @picam_alerts 42'), { ids: ['42', '-1001234567890', '@picam_alerts'] });
    assert.match(parseChatIds('42, bob').invalid!, /not a chat id: bob/);
    assert.deepEqual(parseChatIds(''), { ids: [] });
  });
});
