/**
 * Alert settings and retention on the Admin page (issue 23), in Chromium against a real cloud
 * runtime with Telegram (the fake Bot API): an admin limits Telegram to one camera and the
 * other camera's motion stops reaching the chat at once, and still after a restart (the setting
 * lives in the store); the audit shows the change; retention days are kept and shown; bad input
 * answers 400 with the reason. The bot token typed on the page is sent once and then shown only
 * as set, masked, never its value (and "Use the environment's" brings the environment's back).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, skipWithoutChromium } from '../../support/browser';
import { apiLogin, connectCamera, OPERATOR, VIEWER, withViewerAndOperator } from '../../support/access';
import { API_ROUTES } from '../../../nodes/lib/contract/api-routes';
import { API_AUTH, cloudRoleEnv, LOGINS, RUNTIME_START_MS, startCli } from '../../support/cli';
import { freePort } from '../../support/ports';
import { FakeTelegram } from '../../support/fake-telegram';
import { activity, topics } from '../../support/fixtures';
import { tempDir } from '../../support/tmp';
import { waitFor } from '../../support/wait';

const CHAT = 5151;
const PORCH = { id: 'porch-cam', name: 'Porch Cam' };
const GARDEN = { id: 'garden-cam', name: 'Garden Cam' };

async function logIn(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/dashboard/`);
  await page.getByLabel('User name').fill(LOGINS.api.username);
  await page.getByLabel('Password').fill(LOGINS.api.password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.locator('#app-view').waitFor({ state: 'visible' });
  await page.getByRole('link', { name: 'Admin' }).click();
}

describe('alert settings and retention on the Admin page', { skip: skipWithoutChromium }, () => {
  const dataDir = tempDir('picam-admin-settings-');
  // A runtime process of its own (the CLI, as users start it): the test restarts it, and Node-RED
  // runs once per process.
  let runtime: { url: string; stop(): Promise<unknown> };
  let ports: { http: number; mqtt: number; ws: number };
  let browser: Browser;
  let fake: FakeTelegram;
  const cameras = new Map<string, MqttClient>();
  let n = 0;

  const start = async () => {
    ports = { http: await freePort(), mqtt: await freePort(), ws: await freePort() };
    const cli = startCli(
      ['start', '--role', 'cloud'],
      cloudRoleEnv(dataDir, ports, {
        ...withViewerAndOperator(),
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_ROOT: fake.url,
        TELEGRAM_CHAT_IDS: String(CHAT),
        PICAM_TIME_ZONE: 'UTC',
      }),
    );
    runtime = { url: `http://127.0.0.1:${ports.http}`, stop: () => cli.stop() };
    await waitFor(
      'the store’s users read',
      async () => ((await fetch(`${runtime.url}/api/first-run`).catch(() => undefined))?.status === 200 ? true : undefined),
      RUNTIME_START_MS,
    );
    for (const c of [PORCH, GARDEN]) {
      cameras.set(c.id, await connectCamera(ports.mqtt, c));
    }
  };
  const stop = async () => {
    for (const c of cameras.values()) await c.endAsync();
    cameras.clear();
    await runtime?.stop();
  };
  /**
   * Motion alerts of one camera: a message of its own ("Motion at Garden Cam") or a line of a
   * digest ("Garden Cam: Motion"). Counted per line: a digest holding the porch's motion and the
   * garden's "back online" is no motion of the garden's.
   */
  const motionsOf = (name: string) => {
    const line = new RegExp(`^\\W*(Motion at ${name}\\b|${name}: Motion\\b)`);
    return fake.sent(CHAT).flatMap((m) => (m.plain ?? '').split('\n')).filter((l) => line.test(l)).length;
  };
  /** A motion event; resolves once the store has it (the alert nodes had it in the same pass). */
  const motion = async (camera: { id: string }) => {
    const eventId = `evt-${camera.id}-${++n}`;
    await cameras
      .get(camera.id)!
      .publishAsync(topics.start(camera.id, 'picam'), JSON.stringify(activity(eventId, Math.floor(Date.now() / 1000))), {
        qos: 1,
      });
    await waitFor(`event ${eventId} stored`, async () => {
      const res = await fetch(`${runtime.url}/api/events?camera=${camera.id}&limit=50`, { headers: { authorization: API_AUTH } });
      return (await res.text()).includes(eventId) ? true : undefined;
    });
  };

  before(async () => {
    fake = await FakeTelegram.start();
    await start();
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await stop();
    await fake?.stop();
  });

  it('stops a camera left out on the page from alerting, at once and after a restart, and audits the change', async () => {
    await motion(PORCH);
    await motion(GARDEN);
    await fake.waitFor(() => motionsOf(PORCH.name) === 1 && motionsOf(GARDEN.name) === 1, 30_000, 'both cameras alert by default');

    const page = await (await browser.newContext()).newPage();
    await logIn(page, runtime.url);
    const form = page.getByRole('form', { name: 'Alert settings of telegram' });
    await form.getByText(/sends to 1 chat/).waitFor();
    await form.getByLabel('Cameras that alert').fill(GARDEN.id);
    await form.getByLabel('Cooldown (s)').fill('0');
    await form.getByRole('button', { name: 'Save telegram' }).click();
    await page.getByText('telegram saved.').waitFor();

    await motion(PORCH);
    await motion(GARDEN);
    await fake.waitFor(() => motionsOf(GARDEN.name) === 2, 30_000, "the garden camera's second motion");
    assert.equal(motionsOf(PORCH.name), 1, 'the porch camera no longer alerts');

    await page.getByRole('button', { name: 'Refresh the audit' }).click();
    await waitFor('the audit shows the change', async () => {
      await page.getByRole('button', { name: 'Refresh the audit' }).click();
      const text = (await page.locator('#audit-table').textContent()) ?? '';
      return text.includes('change alert settings') && text.includes(`cameras ${GARDEN.id}`) ? true : undefined;
    });

    await stop();
    await start();
    await motion(PORCH);
    await motion(GARDEN);
    await fake.waitFor(() => motionsOf(GARDEN.name) === 3, 30_000, "the garden camera's motion after the restart");
    assert.equal(motionsOf(PORCH.name), 1, 'the setting survived the restart');
    const again = await (await browser.newContext()).newPage();
    await logIn(again, runtime.url);
    assert.equal(
      await again.getByRole('form', { name: 'Alert settings of telegram' }).getByLabel('Cameras that alert').inputValue(),
      GARDEN.id,
    );
  });

  it('keeps retention days set on the page and shows the defaults beside them', async () => {
    const page = await (await browser.newContext()).newPage();
    await logIn(page, runtime.url);
    const form = page.getByRole('form', { name: 'Retention' });
    await form.getByLabel('Keep events (days)').fill('12');
    await form.getByRole('button', { name: 'Save retention' }).click();
    await page.getByText('Retention saved.').waitFor();
    const r = (await (await fetch(`${runtime.url}/api/settings/retention`, { headers: { authorization: API_AUTH } })).json()) as {
      overrides: { eventsDays?: number };
      defaults: { eventsDays: number };
    };
    assert.equal(r.overrides.eventsDays, 12);
    assert.ok(r.defaults.eventsDays > 0);
    assert.match((await form.getByLabel('Keep sensor readings (days)').getAttribute('placeholder')) ?? '', /\(default\)/);
  });

  it('answers bad settings with 400 and the reason, and keeps what was set', async () => {
    const put = (path: string, body: unknown) =>
      fetch(`${runtime.url}${path}`, {
        method: 'PUT',
        headers: { authorization: API_AUTH, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, error: ((await res.json()) as { error?: string }).error ?? '' }));
    const cases: [string, unknown, RegExp][] = [
      ['/api/settings/retention', { eventsDays: -1 }, /eventsDays must be a whole number from 0/],
      ['/api/settings/retention', { forever: 1 }, /unknown setting "forever"/],
      ['/api/settings/alerts/carrier-pigeon', {}, /unknown alert channel "carrier-pigeon"/],
      ['/api/settings/alerts/telegram', { quietStart: '25:00', quietEnd: '06:00' }, /HH:MM/],
      ['/api/settings/alerts/telegram', { quietStart: '22:00' }, /both quietStart and quietEnd/],
      ['/api/settings/alerts/telegram', { modes: ['SLEEPY'] }, /modes must be a list/],
      ['/api/settings/alerts/telegram', ['not', 'an', 'object'], /JSON object/],
    ];
    for (const [path, body, reason] of cases) {
      const answer = await put(path, body);
      assert.equal(answer.status, 400, `${path} ${JSON.stringify(body)}`);
      assert.match(answer.error, reason);
    }
    const alerts = (await (await fetch(`${runtime.url}/api/settings/alerts`, { headers: { authorization: API_AUTH } })).json()) as {
      channels: { channel: string; overrides: { cameras?: string[] } }[];
    };
    assert.deepEqual(alerts.channels.find((c) => c.channel === 'telegram')?.overrides.cameras, [GARDEN.id], 'nothing lost');
  });

  it('refuses an operator and a viewer every settings route with 403, and shows them no settings', async () => {
    const routes = API_ROUTES.filter((r) => r.path.startsWith('/api/settings/'));
    assert.equal(routes.length, 5);
    for (const who of [OPERATOR, VIEWER]) {
      const login = await apiLogin(runtime.url, who);
      for (const r of routes) {
        const res = await fetch(`${runtime.url}${r.path.replace(':channel', 'telegram')}`, {
          method: r.method,
          headers: {
            cookie: login.cookie,
            'x-csrf-token': login.csrf,
            'content-type': 'application/json',
            'x-requested-with': 'picam-dashboard',
          },
          body: r.method === 'GET' ? undefined : JSON.stringify({ eventsDays: 1 }),
        });
        assert.equal(res.status, 403, `${who.username}: ${r.method} ${r.path}`);
        assert.match(((await res.json()) as { error: string }).error, /needs the admin role/);
      }
    }
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${runtime.url}/dashboard/`);
    await page.getByLabel('User name').fill(OPERATOR.username);
    await page.getByLabel('Password').fill(OPERATOR.password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('#app-view').waitFor({ state: 'visible' });
    assert.equal(await page.getByRole('form', { name: 'Retention' }).isVisible(), false);
    assert.equal(await page.locator('#alert-settings').isVisible(), false);
  });

  it('takes a bot token typed on the page, then shows it only as set and masked, never its value', async () => {
    const token = '5550001:AAFakeTokenForThePageOnly_0123456789';
    const page = await (await browser.newContext()).newPage();
    const answers: string[] = [];
    page.on('response', (res) => {
      if (res.url().includes('/api/'))
        void res.text().then(
          (t) => answers.push(t),
          () => undefined,
        );
    });
    await logIn(page, runtime.url);
    const form = () => page.getByRole('form', { name: 'Connection of telegram' });
    await form().locator('[data-field-state="botToken"]', { hasText: "the environment's" }).waitFor();
    await form().getByLabel('Bot token').fill(token);
    await form().getByRole('button', { name: 'Save telegram connection' }).click();
    await page.getByText('telegram connection saved.').waitFor();

    await form().locator('[data-field-state="botToken"]', { hasText: 'set on this page (…6789)' }).waitFor();
    assert.equal(await form().getByLabel('Bot token').inputValue(), '', 'the field is empty again');
    assert.equal(await form().getByLabel('Bot token').getAttribute('type'), 'password');
    const secretPart = token.split(':')[1]!;
    assert.ok(!(await page.content()).includes(secretPart), 'the page never shows the token');
    const again = await (await browser.newContext()).newPage();
    await logIn(again, runtime.url);
    await again
      .getByRole('form', { name: 'Connection of telegram' })
      .locator('[data-field-state="botToken"]', { hasText: 'set on this page (…6789)' })
      .waitFor();
    assert.ok(!(await again.content()).includes(secretPart), 'nor after a reload');

    // Back to the environment's token (the one this runtime's alerts use).
    await form().getByRole('button', { name: "Use the environment's bot token" }).click();
    await page.getByText("telegram: the environment's bot token again.").waitFor();
    await form().locator('[data-field-state="botToken"]', { hasText: "the environment's" }).waitFor();
    assert.ok(answers.length > 0 && answers.every((t) => !t.includes(secretPart)), 'no API answer carried the token');
  });
});
