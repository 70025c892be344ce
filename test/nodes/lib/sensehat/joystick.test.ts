import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, readdirSync, readlinkSync, rmSync, writeSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  findJoystick,
  JOYSTICK_NAME,
  JoystickReader,
  parseEvents,
  recordSize,
  type JoystickStatus,
} from '../../../../nodes/lib/sensehat/joystick';
import type { JoystickPayload } from '../../../../nodes/lib/sensehat/types';
import { BTN, EV_KEY, EV_MSC, EV_SYN, encodeEvents, KEY, keyPacket, type WordSize } from '../../../support/evdev';
import { FakeSysfs } from '../../../support/fake-sysfs';

const KEYS = ['UP', 'DOWN', 'LEFT', 'RIGHT', 'ENTER'] as const;
const LAYOUTS: WordSize[] = [64, 32];

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A board with other input devices around the joystick, as a Pi has. */
function pi(): { fake: FakeSysfs; joystick: number } {
  const fake = new FakeSysfs();
  fake.addInput('vc4-hdmi-0');
  fake.addInput('gpio_keys');
  const joystick = fake.addInput(JOYSTICK_NAME).n;
  fake.addInput('Logitech USB Keyboard');
  return { fake, joystick };
}

function reader(fake: FakeSysfs, layout: WordSize = 64) {
  const r = new JoystickReader({ sysRoot: fake.sys, devRoot: fake.dev, layout, retryBaseMs: 10, retryMaxMs: 40, pollMs: 5 });
  const keys: JoystickPayload[] = [];
  const statuses: JoystickStatus[] = [];
  r.on('key', (k) => keys.push(k));
  r.on('status', (s) => statuses.push(s));
  return { r, keys, statuses };
}

/** The kinds of live resource a reader could leave behind (others, like the runner's pipes, come and go). */
function resources(): string[] {
  return process
    .getActiveResourcesInfo()
    .filter((kind) => ['FileHandle', 'FSReqPromise', 'FSReqCallback', 'Timeout'].includes(kind))
    .sort();
}

/** This process's fds open on files under `dir` (Linux: FileHandles do not show among active resources). */
function fdsUnder(dir: string): number[] {
  const fds: number[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // the fd readdir itself used, closed by now
      throw err;
    }
    if (target.startsWith(dir)) fds.push(Number(fd));
  }
  return fds;
}

describe('findJoystick', () => {
  it('finds the joystick among other input devices', async () => {
    const { fake, joystick } = pi();
    assert.equal(await findJoystick(fake.sys, fake.dev), fake.inputPath(joystick));
  });

  it('returns undefined without the joystick or without an input subsystem', async () => {
    const fake = new FakeSysfs();
    fake.addInput('gpio_keys');
    assert.equal(await findJoystick(fake.sys, fake.dev), undefined);
    assert.equal(await findJoystick(fake.sys + '/nowhere', fake.dev), undefined);
  });
});

describe('parseEvents', () => {
  for (const layout of LAYOUTS) {
    it(`maps both key code sets to keys, with press/held/release (${layout}-bit layout)`, () => {
      for (const codes of [KEY, BTN]) {
        const bytes = Buffer.concat(
          KEYS.flatMap((k) => [keyPacket(codes[k], 1, layout), keyPacket(codes[k], 2, layout), keyPacket(codes[k], 0, layout)]),
        );
        const { events, carry } = parseEvents(bytes, layout);
        assert.deepEqual(
          events,
          KEYS.flatMap((key) => [
            { key, state: 1 },
            { key, state: 2 },
            { key, state: 0 },
          ]),
        );
        assert.equal(carry.length, 0);
      }
    });

    it(`ignores non-key events and unknown keys (${layout}-bit layout)`, () => {
      const bytes = Buffer.concat([
        encodeEvents([{ type: EV_SYN, code: 0, value: 0 }], layout),
        keyPacket(KEY.UP, 1, layout, true), // with an EV_MSC/MSC_SCAN first
        encodeEvents([{ type: EV_MSC, code: KEY.DOWN, value: 1 }], layout), // the code of DOWN, but not a key event
        encodeEvents([{ type: EV_KEY, code: 30, value: 1 }], layout), // KEY_A
        encodeEvents([{ type: 3 /* EV_ABS */, code: 0, value: 2 }], layout),
      ]);
      assert.deepEqual(parseEvents(bytes, layout).events, [{ key: 'UP', state: 1 }]);
    });

    it(`keeps a record split across reads for the next chunk, at every split point (${layout}-bit layout)`, () => {
      const bytes = Buffer.concat([keyPacket(BTN.LEFT, 1, layout), keyPacket(KEY.ENTER, 0, layout)]);
      for (let cut = 0; cut <= bytes.length; cut++) {
        const first = parseEvents(bytes.subarray(0, cut), layout);
        const second = parseEvents(bytes.subarray(cut), layout, first.carry);
        assert.equal(first.carry.length, cut % recordSize(layout), `carry at ${cut}`);
        assert.deepEqual(
          [...first.events, ...second.events],
          [
            { key: 'LEFT', state: 1 },
            { key: 'ENTER', state: 0 },
          ],
        );
        assert.equal(second.carry.length, 0);
      }
    });
  }

  it("'auto' goes by this process's word size", () => {
    const is64 = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(process.arch);
    assert.equal(recordSize('auto'), is64 ? 24 : 16);
    assert.equal(recordSize(64), 24);
    assert.equal(recordSize(32), 16);
  });
});

describe('JoystickReader', () => {
  for (const layout of LAYOUTS) {
    it(`streams key events from the device, also a record written in two parts (${layout}-bit layout)`, async () => {
      const { fake, joystick } = pi();
      const fd = fake.openInput(joystick);
      const { r, keys, statuses } = reader(fake, layout);
      try {
        r.start();
        r.start(); // a second start does nothing
        await until('connected', () => statuses.some((s) => s.state === 'connected'));
        assert.deepEqual(statuses, [{ state: 'connected', device: fake.inputPath(joystick) }]);
        writeSync(fd, Buffer.concat([keyPacket(KEY.UP, 1, layout), keyPacket(KEY.UP, 2, layout)]));
        await until('two keys', () => keys.length === 2);
        const release = keyPacket(BTN.UP, 0, layout);
        writeSync(fd, release.subarray(0, 7));
        await new Promise((res) => setTimeout(res, 30)); // several polls see only the partial record
        assert.equal(keys.length, 2);
        writeSync(fd, release.subarray(7));
        await until('the release', () => keys.length === 3);
        assert.deepEqual(keys, [
          { key: 'UP', state: 1 },
          { key: 'UP', state: 2 },
          { key: 'UP', state: 0 },
        ]);
      } finally {
        await r.close();
        closeSync(fd);
      }
    });
  }

  it('reports a device that disappears, keeps looking, and resumes when it is back', async () => {
    const { fake, joystick } = pi();
    let fd = fake.openInput(joystick);
    const { r, keys, statuses } = reader(fake);
    try {
      r.start();
      await until('connected', () => statuses.length === 1);
      writeSync(fd, keyPacket(KEY.LEFT, 1, 64));
      await until('a key', () => keys.length === 1);

      // Unplugged: the node goes, and the open device reads as ended.
      fake.removeInput(joystick);
      closeSync(fd);
      await until('lost and missing', () => statuses.filter((s) => s.state === 'missing').length >= 3);
      const lost = statuses[1]!;
      assert.equal(lost.state, 'lost');
      assert.ok(lost.state === 'lost' && lost.device === fake.inputPath(joystick) && lost.retryInMs > 0);
      assert.match(lost.state === 'lost' ? lost.error.message : '', /event2: end of file/);
      assert.deepEqual(fdsUnder(fake.dev), [], 'the dead device was closed');
      const missing = statuses.slice(2);
      assert.ok(
        missing.every((s) => s.state === 'missing' && /no input device named "Raspberry Pi Sense HAT Joystick"/.test(s.error.message)),
      );

      // Back, as another event number.
      const back = fake.addInput(JOYSTICK_NAME, 7).n;
      fd = fake.openInput(back);
      await until('connected again', () => statuses.at(-1)?.state === 'connected');
      assert.deepEqual(statuses.at(-1), { state: 'connected', device: fake.inputPath(back) });
      writeSync(fd, keyPacket(BTN.RIGHT, 1, 64));
      await until('a key after the return', () => keys.length === 2);
      assert.deepEqual(keys[1], { key: 'RIGHT', state: 1 });
    } finally {
      await r.close();
      closeSync(fd);
    }
  });

  it('reports a joystick it cannot open, and opens it once it can', async () => {
    const { fake, joystick } = pi();
    rmSync(fake.inputPath(joystick)); // listed in sysfs, but no device node (yet)
    const { r, keys, statuses } = reader(fake);
    let fd: number | undefined;
    try {
      r.start();
      await until('missing', () => statuses.length >= 2);
      assert.ok(statuses.every((s) => s.state === 'missing' && s.error.message.includes('ENOENT')));
      execFileSync('mkfifo', [fake.inputPath(joystick)]);
      fd = fake.openInput(joystick);
      await until('connected', () => statuses.at(-1)?.state === 'connected');
      writeSync(fd, keyPacket(KEY.DOWN, 1, 64));
      await until('a key', () => keys.length === 1);
    } finally {
      await r.close();
      if (fd !== undefined) closeSync(fd);
    }
  });

  it('close() leaves no open file or timer, whether reading or waiting to retry, and is safe twice', async () => {
    const before = resources();
    const { fake, joystick } = pi();
    const fd = fake.openInput(joystick);

    const reading = reader(fake);
    reading.r.start();
    await until('connected', () => reading.statuses.length === 1);
    await new Promise((res) => setTimeout(res, 20)); // polling an idle device
    assert.equal(fdsUnder(fake.dev).length, 2, "the reader's fd and the test's");
    await reading.r.close();
    await reading.r.close();
    assert.deepEqual(resources(), before, 'after closing a connected reader');
    assert.deepEqual(fdsUnder(fake.dev), [fd], "only the test's own fd is left");

    fake.removeInput(joystick);
    const waiting = reader(fake);
    waiting.r.start();
    await until('missing', () => waiting.statuses.length === 1);
    await waiting.r.close();
    assert.deepEqual(resources(), before, 'after closing a reader waiting to retry');
    const seen = waiting.statuses.length;
    await new Promise((res) => setTimeout(res, 60));
    assert.equal(waiting.statuses.length, seen, 'no retry after close');

    const closedEarly = reader(fake);
    await closedEarly.r.close();
    closedEarly.r.start(); // after close: does nothing
    assert.deepEqual(resources(), before, 'start after close');
    closeSync(fd);
  });
});
