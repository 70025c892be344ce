/**
 * Where alerts go, set on the admin page (issue 23: a fresh install set up from the browser):
 * the shipped cloud flow, run by the CLI with NO Telegram token, chats or webhook URL in its
 * environment. An admin saves a bot token and a chat, and the next motion reaches the fake Bot
 * API with that token (and the bot takes commands with it); a webhook URL, and the next motion reaches a local receiver at it; both
 * without a redeploy and still after a restart. Secrets are write-only (GET answers "set" and a
 * hint), sealed in the store, absent from the audit and from everything the runtime logs;
 * viewers and operators get 403; bad values get 400 with the reason; clearing a field brings
 * back the environment's (none: the node is off again).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { apiLogin, connectCamera, OPERATOR, VIEWER, withViewerAndOperator } from '../../support/access';
import { API_AUTH, cloudRoleEnv, RUNTIME_START_MS, startCli, type CliProcess } from '../../support/cli';
import { FakeTelegram } from '../../support/fake-telegram';
import { activity, topics } from '../../support/fixtures';
import { freePort } from '../../support/ports';
import { PushService } from '../../support/push-services';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const TOKEN = '7654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw';
const CHAT = 4242;
const CAMERA = { id: 'door-cam', name: 'Door Cam' };
const HOOK_SECRET = 's3cr3t-hook-key';

/** Every file under `dir`, as text (the store, its WAL, whatever the runtime wrote). */
function filesUnder(dir: string): Array<[string, string]> {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [[path, readFileSync(path).toString('latin1')] as [string, string]];
  });
}

describe('alert connections set on the admin page, over an environment without them', () => {
  const dataDir = tempDir('picam-alert-connection-');
  let fake: FakeTelegram;
  let hook: PushService;
  let cli: CliProcess;
  let url = '';
  let mqttPort = 0;
  let camera: MqttClient | undefined;
  let n = 0;
  const logs: string[] = [];

  const start = async () => {
    const ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    cli = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(dataDir, ports, {
        ...withViewerAndOperator(),
        // The bot's API address only: no token, no chats, no webhook URL.
        TELEGRAM_API_ROOT: fake.url,
        TELEGRAM_BOT_TOKEN: '',
        TELEGRAM_CHAT_IDS: '',
        PICAM_ALERT_WEBHOOK_URL: '',
        PICAM_TIME_ZONE: 'UTC',
        // Everything the nodes say, so the check that no secret is logged covers it.
        PICAM_LOG_LEVEL: 'debug',
      }),
    );
    url = `http://127.0.0.1:${ports.http}`;
    mqttPort = ports.mqtt;
    await waitFor(
      'the store’s users read',
      async () => ((await fetch(`${url}/api/first-run`).catch(() => undefined))?.status === 200 ? true : undefined),
      RUNTIME_START_MS,
    );
    camera = await connectCamera(mqttPort, CAMERA);
  };
  const stop = async () => {
    await camera?.endAsync();
    camera = undefined;
    await cli?.stop();
    logs.push(cli?.output() ?? '');
  };
  const output = () => logs.join('\n') + (cli?.output() ?? '');

  /** A motion event; resolves once the store has it (the alert nodes had it in the same pass). */
  const motion = async (): Promise<string> => {
    const eventId = `evt-door-${++n}`;
    await camera!.publishAsync(topics.start(CAMERA.id, 'picam'), JSON.stringify(activity(eventId, Math.floor(Date.now() / 1000))), {
      qos: 1,
    });
    await waitFor(`event ${eventId} stored`, async () => {
      const res = await fetch(`${url}/api/events?camera=${CAMERA.id}&limit=50`, { headers: { authorization: API_AUTH } });
      return (await res.text()).includes(eventId) ? true : undefined;
    });
    return eventId;
  };
  const put = async (channel: string, body: unknown, headers: Record<string, string> = { authorization: API_AUTH }) => {
    const res = await fetch(`${url}/api/settings/alerts/${channel}/connection`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  };
  const settingsText = async () => (await fetch(`${url}/api/settings/alerts`, { headers: { authorization: API_AUTH } })).text();
  const alertsTo = (chat: number) => fake.sent(chat).filter((m) => /Motion/.test(m.plain ?? ''));

  before(async () => {
    fake = await FakeTelegram.start({ token: TOKEN });
    hook = await PushService.start();
    await start();
  });
  after(async () => {
    await stop();
    await fake?.stop();
    await hook?.stop();
  });

  it('refuses viewers and operators with 403, and bad values with 400 and the reason', async () => {
    for (const who of [VIEWER, OPERATOR]) {
      const login = await apiLogin(url, who);
      const answer = await put(
        'telegram',
        { botToken: TOKEN },
        { cookie: login.cookie, 'x-csrf-token': login.csrf, 'x-requested-with': 'picam-dashboard' },
      );
      assert.equal(answer.status, 403, who.username);
      assert.match(answer.text, /needs the admin role/);
    }
    const cases: [string, unknown, RegExp][] = [
      ['telegram', { botToken: 'not-a-token' }, /bot token must look like 123456789:AA/],
      ['telegram', { botToken: '123:short' }, /bot token must look like/],
      ['telegram', { botToken: 12345 }, /bot token must be text/],
      ['telegram', { chatIds: 'family, 123' }, /not a chat id: family/],
      ['telegram', { token: TOKEN }, /unknown telegram setting "token" \(known: botToken, chatIds\)/],
      ['telegram', [TOKEN], /JSON object/],
      ['webhook', { url: 'ftp://hub.example/hook' }, /webhook URL must start with http:\/\/ or https:\/\//],
      ['webhook', { url: 'not a url' }, /webhook URL is not a URL/],
      ['ntfy', { server: 'https://user:pw@ntfy.example' }, /ntfy server must be a plain address, without a login/],
      ['ntfy', { topic: 'has space' }, /ntfy topic must be 1 to 64 letters/],
      ['pushover', { appToken: 'short' }, /Pushover API token must be 30 letters and digits/],
      ['webpush', { url: 'https://x.example' }, /webpush has no connection settings/],
      ['carrier-pigeon', {}, /unknown alert channel "carrier-pigeon"/],
    ];
    for (const [channel, body, reason] of cases) {
      const answer = await put(channel, body);
      assert.equal(answer.status, 400, `${channel} ${JSON.stringify(body)}: ${answer.text}`);
      assert.match((JSON.parse(answer.text) as { error: string }).error, reason);
      assert.ok(!answer.text.includes(TOKEN), 'no reason repeats the token');
    }
    assert.match(await settingsText(), /"botToken":\{"set":false\}/, 'nothing was kept');
  });

  it('sends Telegram alerts with the token and chat saved on the page, at once, and never shows the token', async () => {
    const before = await motion();
    // Off, not broken: no token anywhere yet.
    await waitFor('the alert was suppressed', async () => (output().includes('no bot token') ? true : undefined));
    assert.equal(fake.calls.filter((c) => c.method.toLowerCase().startsWith('send')).length, 0, `nothing sent for ${before}`);

    const saved = await put('telegram', { botToken: TOKEN, chatIds: String(CHAT) });
    assert.equal(saved.status, 200, saved.text);
    assert.ok(!saved.text.includes(TOKEN), 'the answer has no token');
    assert.match(saved.text, /"botToken":\{"set":true,"hint":"…Dsaw"\}/);

    await motion();
    await fake.waitFor(() => alertsTo(CHAT).length === 1, 30_000, 'the motion alert in the chat set on the page');
    const sends = fake.calls.filter((c) => c.method.toLowerCase() === 'sendmessage' || c.method.toLowerCase() === 'sendphoto');
    assert.ok(sends.length > 0 && sends.every((c) => c.token === TOKEN), 'sent with the page’s token');

    // The bot's command poller took the page's token too: /status from that chat is answered.
    fake.userSays(CHAT, '/status');
    await fake.waitFor(() => fake.sent(CHAT).some((m) => m.replyTo !== undefined), 30_000, 'the answer to /status');

    const page = await settingsText();
    assert.ok(!page.includes(TOKEN) && !page.includes(TOKEN.split(':')[1]!), 'GET never returns the token');
    assert.match(page, /"chatIds":\{"set":true,"value":"4242"\}/);

    const audit = await (await fetch(`${url}/api/audit`, { headers: { authorization: API_AUTH } })).text();
    assert.match(audit, /change alert connection/);
    assert.match(audit, /bot token changed; chat ids 4242/);
    assert.ok(!audit.includes(TOKEN.split(':')[1]!), 'the audit has no token');
  });

  it('posts to a webhook URL saved on the page, keeping its secret path out of every answer', async () => {
    const hookUrl = `${hook.base}/hook/${HOOK_SECRET}?sig=abc123`;
    const saved = await put('webhook', { url: hookUrl });
    assert.equal(saved.status, 200, saved.text);
    assert.ok(!saved.text.includes(HOOK_SECRET));
    const eventId = await motion();
    await waitFor('the webhook request', async () =>
      hook.requests.find((r) => r.url === `/hook/${HOOK_SECRET}?sig=abc123` && r.body.toString().includes(eventId)) ? true : undefined,
    );
    const page = await settingsText();
    assert.ok(!page.includes(HOOK_SECRET), 'GET never returns the URL');
    assert.match(page, new RegExp(`"url":\\{"set":true,"hint":"127\\.0\\.0\\.1:${hook.port}"\\}`));
    assert.match(page, new RegExp(`"sendsTo":"127\\.0\\.0\\.1:${hook.port} \\(admin page\\)"`), 'the node says where it sends now');
  });

  it('keeps both after a restart, sealed in the store', async () => {
    // The camera's cooldowns outlive the restart as well (they are in the store): off, so the
    // motion after the restart alerts at once.
    for (const channel of ['telegram', 'webhook']) {
      const noCooldown = await fetch(`${url}/api/settings/alerts/${channel}`, {
        method: 'PUT',
        headers: { authorization: API_AUTH, 'content-type': 'application/json' },
        body: JSON.stringify({ cooldownSeconds: 0 }),
      });
      assert.equal(noCooldown.status, 200, await noCooldown.text());
    }
    await stop();
    for (const [path, text] of filesUnder(dataDir)) {
      assert.ok(!text.includes(TOKEN.split(':')[1]!), `no plain token in ${path}`);
      assert.ok(!text.includes(HOOK_SECRET), `no plain webhook URL in ${path}`);
    }
    await start();
    const eventId = await motion();
    await fake.waitFor(() => alertsTo(CHAT).length === 2, 30_000, 'the alert after the restart');
    await waitFor('the webhook request after the restart', async () =>
      hook.requests.some((r) => r.body.toString().includes(eventId)) ? true : undefined,
    );
  });

  it("goes back to the environment's (none: off) when a field is cleared, and never logs a secret", async () => {
    const cleared = await put('telegram', { botToken: null });
    assert.equal(cleared.status, 200, cleared.text);
    assert.match(cleared.text, /"botToken":\{"set":false\}/);
    await motion();
    await waitFor('telegram off again', async () => (cli.output().includes('telegram-alert is off: no bot token') ? true : undefined));
    const audit = await (await fetch(`${url}/api/audit`, { headers: { authorization: API_AUTH } })).text();
    assert.match(audit, /bot token back to the environment's/);

    await stop();
    const out = output();
    assert.ok(out.length > 0);
    assert.ok(!out.includes(TOKEN.split(':')[1]!), 'the runtime never logged the token');
    assert.ok(!out.includes(HOOK_SECRET), 'the runtime never logged the webhook URL');
  });
});
