/**
 * node-red-node-pi-sense-hat's LED command syntax (its sensehat.js/sensehat.py)
 * parsed into operations, and the drivers that carry them out: the memory
 * matrix against sense-hat-led's pixel map, the board adapter against a fake
 * sense-hat-led module.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { COLOUR_NAMES, parseColour } from '../../../nodes/sensehat-out/colours';
import { parseLedCommands, scrollSpeedSeconds, type LedOperation, type TextOptions } from '../../../nodes/sensehat-out/led-commands';
import {
  applyOperation,
  findLedFramebuffer,
  MemoryLedDriver,
  senseHatLedDriver,
  type SenseHatLed,
} from '../../../nodes/sensehat-out/led-driver';
import { LedQueue } from '../../../nodes/sensehat-out/led-queue';
import { fakeSysfs } from '../../support/recorded-led';
import { tempDir } from '../../support/tmp';

const ops = (payload: unknown, options?: TextOptions): LedOperation[] => {
  const r = parseLedCommands(payload, options);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.operations;
};
const error = (payload: unknown, options?: TextOptions): string => {
  const r = parseLedCommands(payload, options);
  assert.ok(!r.ok, `expected an error for ${JSON.stringify(payload)}`);
  return r.error;
};
const pixels = (payload: string) => {
  const [op, ...rest] = ops(payload);
  assert.equal(rest.length, 0);
  assert.equal(op?.op, 'pixels');
  return op.op === 'pixels' ? op.pixels.map((p) => `${p.x},${p.y}=${p.colour.join('/')}`) : [];
};
const text = (line: string, style = { colour: [255, 255, 255], background: [0, 0, 0], scrollSpeed: 0.1 }) => ({
  op: [...line].length > 1 ? 'scroll' : 'letter',
  text: line,
  style,
});

describe('LED commands: pixels', () => {
  it('sets one pixel, x the column and y the row', () => {
    assert.deepEqual(pixels('3,4,red'), ['3,4=255/0/0']);
  });

  it('expands * to the whole row, column or matrix', () => {
    assert.deepEqual(
      pixels('*,2,blue'),
      [0, 1, 2, 3, 4, 5, 6, 7].map((x) => `${x},2=0/0/255`),
    );
    assert.deepEqual(
      pixels('5,*,lime'),
      [0, 1, 2, 3, 4, 5, 6, 7].map((y) => `5,${y}=0/255/0`),
    );
    assert.equal(pixels('*,*,off').length, 64);
  });

  it('expands ranges in either order', () => {
    const expected = ['1,5', '1,6', '2,5', '2,6', '3,5', '3,6'].map((p) => `${p}=0/255/0`);
    assert.deepEqual(pixels('1-3,5-6,#00ff00'), expected);
    assert.deepEqual(pixels('3-1,6-5,#00ff00'), expected);
    assert.deepEqual(pixels('*,0-1,red').length, 16);
  });

  it('takes every colour form of the stock node', () => {
    assert.deepEqual(pixels('0,0,Aquamarine'), ['0,0=127/255/212']);
    assert.deepEqual(pixels('0,0,#0f0'), ['0,0=0/255/0']);
    assert.deepEqual(pixels('0,0,#AA9900'), ['0,0=170/153/0']);
    assert.deepEqual(pixels('0,0,10,20,30'), ['0,0=10/20/30']);
    assert.deepEqual(pixels('0,0,off'), ['0,0=0/0/0']);
    assert.deepEqual(pixels('0,0,amber'), ['0,0=255/210/0'], 'CheerLights names');
    assert.deepEqual(pixels('0,0,warmwhite'), ['0,0=253/245/230']);
    assert.equal(COLOUR_NAMES.length, 150, 'the stock colours.js table');
    assert.deepEqual(parseColour([1, 2, 3]), [1, 2, 3]);
  });

  it('takes several pixels on one line; a later setting of the same pixel wins', () => {
    assert.deepEqual(pixels('0,0,red,0,7,#00ff00,7,7,yellow,7,0,0,0,255'), ['0,0=255/0/0', '0,7=0/255/0', '7,7=255/255/0', '7,0=0/0/255']);
    assert.deepEqual(pixels('0,0,red,1,1,red,0,0,blue'), ['1,1=255/0/0', '0,0=0/0/255']);
  });
});

describe('LED commands: rotation, flips, light', () => {
  it('rotates by 0, 90, 180 or 270, any case', () => {
    for (const d of [0, 90, 180, 270]) assert.deepEqual(ops(`R${d}`), [{ op: 'rotate', degrees: d }]);
    assert.deepEqual(ops('r90'), [{ op: 'rotate', degrees: 90 }]);
  });

  it('flips horizontally and vertically', () => {
    assert.deepEqual(ops('FH\nfv'), [
      { op: 'flip', axis: 'H' },
      { op: 'flip', axis: 'V' },
    ]);
  });

  it('D0 is low light on, D1 normal brightness (as the stock helper sets low_light)', () => {
    assert.deepEqual(ops('D0\nd1'), [
      { op: 'lowLight', on: true },
      { op: 'lowLight', on: false },
    ]);
  });
});

describe('LED commands: text', () => {
  it('scrolls anything else in white on black at speed 3 (0.1 s a column)', () => {
    assert.deepEqual(ops('Hello'), [text('Hello')]);
    for (const line of ['R45', 'R90 ', '1,2,3', 'Hello, world', 'FX', 'D2']) assert.deepEqual(ops(line), [text(line)], line);
  });

  it('shows a single character without scrolling; "A " scrolls', () => {
    assert.equal(ops('A')[0]?.op, 'letter');
    assert.equal(ops('A ')[0]?.op, 'scroll');
  });

  it('shows a number payload as text', () => {
    assert.deepEqual(ops(21.5), [text('21.5')]);
    assert.deepEqual(ops(7), [text('7')]);
  });

  it('takes msg.color (or colour), msg.background and msg.speed', () => {
    const style = { colour: [255, 0, 0], background: [0, 0, 128], scrollSpeed: 0.04 };
    assert.deepEqual(ops('Hi', { color: 'red', background: '#000080', speed: 5 }), [text('Hi', style)]);
    assert.deepEqual(ops('Hi', { colour: '255,0,0', background: [0, 0, 128], speed: '5' }), [text('Hi', style)]);
    assert.deepEqual(ops('Hi', { color: '', colour: 'red', speed: 5, background: 'navy' }), [text('Hi', style)]);
  });

  it('maps speed 1–5 as the stock node does', () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(scrollSpeedSeconds), [0.16, 0.13, 0.1, 0.07, 0.04]);
    assert.deepEqual(ops('Hi', { speed: 2.7 })[0], text('Hi', { colour: [255, 255, 255], background: [0, 0, 0], scrollSpeed: 0.13 }));
  });
});

describe('LED commands: messages and errors', () => {
  it('keeps the order of several lines, skips blank ones and takes CRLF', () => {
    assert.deepEqual(
      ops('*,*,off\r\nR180\n\n0,0,red\nHi').map((o) => o.op),
      ['pixels', 'rotate', 'pixels', 'scroll'],
    );
    assert.deepEqual(ops(''), []);
  });

  it('names the line of a bad pixel command, and refuses the whole message', () => {
    assert.match(error('0,0,red\n8,0,red'), /^line 2 "8,0,red": x 8 is off the matrix/);
    assert.match(error('0,9-3,red'), /line 1 "0,9-3,red": y 9-3 is off the matrix/);
    assert.match(error('0,0,purpel'), /line 1 "0,0,purpel": unknown colour "purpel"/);
    assert.match(error('0,0,300,0,0'), /"300,0,0": red, green and blue go from 0 to 255/);
    assert.match(error('0,0,#abcd'), /"#abcd" is not a colour/);
  });

  it('refuses bad text options only when there is text', () => {
    assert.match(
      error('0,0,red\nHi', { speed: 'fast' }),
      /^line 2 "Hi" is text, but msg.speed must be 1 \(slowest\) to 5 \(fastest\), not "fast"/,
    );
    assert.match(error('Hi', { speed: 7 }), /msg.speed must be 1/);
    assert.match(error('Hi', { color: 'blurple' }), /msg.color: unknown colour "blurple"/);
    assert.match(error('Hi', { background: '#12' }), /msg.background: "#12" is not a colour/);
    assert.deepEqual(ops('0,0,red', { color: 'blurple', speed: 9 }).length, 1);
  });

  it('refuses payloads that are no commands', () => {
    assert.match(error({ a: 1 }), /msg.payload must be a string of LED commands or a number, not object/);
    assert.match(error(Buffer.from('R90')), /not a Buffer/);
    assert.match(error(null), /not null/);
    assert.match(error(true), /not boolean/);
  });
});

describe('LED drivers', () => {
  it('the memory matrix rotates and flips like sense-hat-led', async () => {
    const m = new MemoryLedDriver({ timeScale: 0 });
    for (const op of ops('0,0,red\n1,0,blue')) await applyOperation(m, op);
    await m.setRotation(90); // pos(0,0) at 90° is LED 56: the picture turns with the frame
    assert.deepEqual(m.led(0, 7), [255, 0, 0]);
    assert.deepEqual(m.pixel(0, 0), [255, 0, 0]);
    await m.setRotation(0);
    await m.flipH();
    assert.deepEqual(
      [m.led(7, 0), m.led(6, 0)],
      [
        [255, 0, 0],
        [0, 0, 255],
      ],
    );
    await m.flipV();
    assert.deepEqual(m.led(7, 7), [255, 0, 0]);
    await applyOperation(m, ops('*,*,green')[0]!);
    assert.equal(m.calls.at(-1)?.method, 'clear', 'a one-colour fill is one clear');
    await m.showMessage('Hi', { colour: [255, 255, 255], background: [0, 0, 9], scrollSpeed: 0.1 });
    assert.deepEqual(m.state().text, 'Hi');
    assert.deepEqual(m.state().pixels[0], [0, 0, 9]);
  });

  it('the queue runs jobs in order and refuses more than its limit', async () => {
    const order: string[] = [];
    const q = new LedQueue(async (o) => void order.push(o.map((x) => x.op).join()), 1);
    const settled: string[] = [];
    assert.ok(q.push({ operations: ops('R90'), settle: () => settled.push('a') }));
    assert.ok(q.push({ operations: ops('FH'), settle: () => settled.push('b') }));
    assert.equal(q.push({ operations: ops('D0'), settle: () => settled.push('c') }), false);
    await q.idle();
    assert.deepEqual(
      [order, settled],
      [
        ['rotate', 'flip'],
        ['a', 'b'],
      ],
    );
  });

  it('finds the framebuffer named RPi-Sense FB in sysfs', () => {
    const root = fakeSysfs(join(tempDir(), 'sys'), 'fb2');
    assert.equal(findLedFramebuffer(root), 'fb2');
    assert.equal(findLedFramebuffer(join(root, 'nowhere')), undefined);
  });

  it('adapts sense-hat-led: callbacks, errors, one call at a time across instances', async () => {
    const dir = tempDir();
    const sys = fakeSysfs(join(dir, 'sys'));
    mkdirSync(join(dir, 'dev'));
    const log: string[] = [];
    const fake = {
      setPixel: (x: number, y: number, c: number[], cb: (e?: unknown) => void) => (log.push(`setPixel ${x},${y},${c}`), cb()),
      clear: (c: number[], cb: (e?: unknown) => void) => (log.push(`clear ${c}`), cb(c[0] === 1 ? new Error('EIO') : null)),
      showMessage: (t: string, s: number, _c: number[], _b: number[], cb: (e?: unknown) => void) => {
        log.push(`showMessage ${t} ${s}`);
        setTimeout(() => (log.push('scrolled'), cb()), 30);
      },
      set lowLight(on: boolean) {
        throw new Error(`ioctl failed (${on})`);
      },
    } as unknown as SenseHatLed;
    assert.match(
      (senseHatLedDriver({ sysfsRoot: sys, devRoot: join(dir, 'dev'), load: () => fake }) as { error: string }).error,
      /^no Sense HAT LED matrix: cannot open .*fb1: ENOENT/,
    );
    writeFileSync(join(dir, 'dev', 'fb1'), Buffer.alloc(128));
    const open = () => senseHatLedDriver({ sysfsRoot: sys, devRoot: join(dir, 'dev'), load: () => fake });
    const [a, b] = [open(), open()];
    assert.ok(a.ok && b.ok);
    const style = {
      colour: [255, 255, 255] as [number, number, number],
      background: [0, 0, 0] as [number, number, number],
      scrollSpeed: 0.1,
    };
    await Promise.all([a.driver.showMessage('Hi', style), b.driver.setPixel(1, 2, [3, 4, 5])]);
    assert.deepEqual(log, ['showMessage Hi 0.1', 'scrolled', 'setPixel 1,2,3,4,5']);
    await assert.rejects(a.driver.clear([1, 0, 0]), /sense-hat-led clear: EIO/);
    await assert.rejects(a.driver.setLowLight(true), /sense-hat-led lowLight: ioctl failed \(true\)/);
    await a.driver.close();
    await assert.rejects(a.driver.clear([0, 0, 0]), /closed/);
    const missing = senseHatLedDriver({ sysfsRoot: join(dir, 'nosys') });
    assert.match((missing as { error: string }).error, /no framebuffer named "RPi-Sense FB"/);
  });
});
