/**
 * sensehat-out in a real Node-RED runtime, drawing on the recorded memory
 * matrix (test/support/recorded-led.ts), on the simulated one `auto` picks
 * here, and failing cleanly where sysfs shows a Sense HAT that sense-hat-led
 * cannot open. catch, complete and status nodes watch it as a flow would.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ledIndex } from '../../../nodes/sensehat-out/memory-led-driver';
import sensehatOut from '../../../nodes/sensehat-out/sensehat-out';
import { fakeSysfs, recordLed, type RecordedLed } from '../../support/recorded-led';
import { tempDir } from '../../support/tmp';
import { Collector, helper, node, until, useNodeRed } from '../../support/node-helper';

useNodeRed();

const dir = tempDir();
let led: RecordedLed | undefined;
afterEach(() => {
  led?.restore();
  led = undefined;
});

/** A caught error's text (the catch node stores it as "Error: …"). */
const reason = (caught: Record<string, any>) => String(caught.error.message).replace(/^Error: /, '');

const RED = [255, 0, 0];
const BLUE = [0, 0, 255];
const OFF = [0, 0, 0];

/** sensehat-out `led` (simulated unless told), its output, and what catch, complete and status nodes see of it. */
async function load(props: Record<string, unknown> = {}) {
  await helper.load(sensehatOut, [
    { id: 'st', type: 'status', scope: ['led'], wires: [['statuses']] },
    { id: 'cc', type: 'catch', scope: ['led'], uncaught: false, wires: [['caught']] },
    { id: 'cp', type: 'complete', scope: ['led'], uncaught: false, wires: [['completed']] },
    { id: 'led', type: 'sensehat-out', driver: 'simulated', queueSize: 10, outputs: 1, ...props, wires: [['out']] },
    ...['out', 'statuses', 'caught', 'completed'].map((id) => ({ id, type: 'helper' })),
  ]);
  const f = {
    out: new Collector('out'),
    statuses: new Collector('statuses'),
    caught: new Collector('caught'),
    completed: new Collector('completed'),
    send: (msg: Record<string, unknown>) => node('led').receive(msg),
    /** waits for a status whose text matches */
    status: (re: RegExp) => until(`status ${re}`, () => f.statuses.msgs.find((m) => re.test(m.status?.text ?? ''))),
  };
  return f;
}

describe('sensehat-out node', () => {
  it('draws pixels as commanded, reports the matrix state and completes the message', async () => {
    led = recordLed();
    const f = await load();
    f.send({ payload: '*,*,off\n0,0,red\n7,7,#00ff00\n2-3,4,blue', topic: 'door' });
    const msg = await f.out.first();
    assert.equal(msg.topic, 'door', 'the state goes out on the same message');
    const { pixels, rotation, lowLight, text } = msg.payload;
    assert.equal(pixels.length, 64);
    assert.deepEqual([pixels[0], pixels[63], pixels[34], pixels[35], pixels[1]], [RED, [0, 255, 0], BLUE, BLUE, OFF]);
    assert.deepEqual([rotation, lowLight, text], [0, false, undefined]);
    assert.deepEqual(led.kinds, ['simulated']);
    assert.deepEqual(led.calls(), [
      'clear([0,0,0])',
      'setPixel(0, 0, [255,0,0])',
      'setPixel(7, 7, [0,255,0])',
      'setPixel(2, 4, [0,0,255])',
      'setPixel(3, 4, [0,0,255])',
    ]);
    await f.completed.first();
    assert.equal(f.caught.msgs.length, 0);
  });

  it('rotates with the picture, draws later pixels in the rotated frame, flips and dims', async () => {
    led = recordLed();
    const f = await load();
    f.send({ payload: '0,0,red\nR90\n1,0,blue' });
    const turned = (await f.out.first()).payload;
    assert.equal(turned.rotation, 90);
    assert.deepEqual(turned.pixels[ledIndex(0, 0, 90)], RED, 'the red pixel turned with the frame (LED 56)');
    assert.deepEqual(turned.pixels[ledIndex(1, 0, 90)], BLUE);
    assert.deepEqual(turned.pixels[0], OFF);
    f.send({ payload: 'r0\nFH\nD0' });
    const [, flipped] = await f.out.wait(2);
    assert.deepEqual([flipped!.payload.pixels[7], flipped!.payload.pixels[6]], [RED, BLUE]);
    assert.deepEqual([flipped!.payload.rotation, flipped!.payload.lowLight], [0, true]);
  });

  it('shows a scroll to its end before the next message draws', async () => {
    led = recordLed(0.1); // "Hello" at speed 3: 29 steps × 0.1 s × 0.1 ≈ 290 ms
    const f = await load();
    const start = Date.now();
    f.send({ payload: 'Hello', color: 'red', background: 'navy', speed: 3 });
    f.send({ payload: '3,3,yellow' });
    const [scrolled, drawn] = await f.out.wait(2);
    assert.ok(Date.now() - start >= 250, `the pixel came ${Date.now() - start} ms after the scroll began`);
    assert.equal(scrolled!.payload.text, 'Hello');
    assert.deepEqual(scrolled!.payload.pixels[0], [0, 0, 128], 'the background stays');
    assert.equal(drawn!.payload.text, undefined);
    assert.deepEqual(drawn!.payload.pixels[27], [255, 255, 0]);
    assert.deepEqual(led.calls(), [
      'showMessage("Hello", {"colour":[255,0,0],"background":[0,0,128],"scrollSpeed":0.1})',
      'setPixel(3, 3, [255,255,0])',
    ]);
  });

  it('fails a bad command with its line, draws nothing of it, and goes on', async () => {
    led = recordLed();
    const f = await load();
    f.send({ payload: '0,0,red\n9,9,blue', n: 1 });
    const caught = await f.caught.first();
    assert.match(reason(caught), /^line 2 "9,9,blue": x 9 is off the matrix/);
    assert.equal(caught.n, 1);
    f.send({ payload: 'Hi', speed: 'fast' });
    assert.match(reason((await f.caught.wait(2))[1]!), /msg.speed must be 1 \(slowest\) to 5 \(fastest\)/);
    f.send({ payload: '0,0,green' });
    assert.deepEqual((await f.out.first()).payload.pixels[0], [0, 128, 0]);
    assert.deepEqual(led.calls(), ['setPixel(0, 0, [0,128,0])']);
  });

  it('refuses a message when the queue is full; close drops those waiting and calls their done', async () => {
    led = recordLed(1); // a real-time scroll: seconds
    const f = await load({ queueSize: 1 });
    f.send({ payload: 'A long message', n: 1 });
    f.send({ payload: '0,0,red', n: 2 });
    f.send({ payload: '1,1,red', n: 3 });
    const full = await f.caught.first();
    assert.equal(full.n, 3);
    assert.match(reason(full), /^LED queue full: 1 waiting behind the message being shown \(queue size 1\); message dropped$/);
    const started = Date.now();
    await (node('led') as unknown as { close(removed: boolean): Promise<void> }).close(false);
    const done = await f.completed.wait(2);
    assert.deepEqual(done.map((m) => m.n).sort(), [1, 2], 'the scroll cut short and the waiting message are done');
    assert.ok(Date.now() - started < 1000, 'close does not wait for the scroll');
    assert.equal(f.out.msgs.length, 0, 'no state for what was not shown');
    assert.equal(f.caught.msgs.length, 1, 'dropping at close is no error');
    assert.deepEqual(led.calls().at(-1), 'close()');
  });

  it('fails a message the matrix cannot draw, shows why, and clears it when drawing works again', async () => {
    led = recordLed();
    const f = await load();
    const setPixel = led.driver.setPixel.bind(led.driver);
    led.driver.setPixel = async () => Promise.reject(new Error('sense-hat-led setPixel: EIO'));
    f.send({ payload: '0,0,red' });
    assert.equal(reason(await f.caught.first()), 'sense-hat-led setPixel: EIO');
    const failed = await f.status(/^simulated LED matrix: sense-hat-led setPixel: EIO/);
    assert.equal(failed.status.fill, 'red');
    led.driver.setPixel = setPixel;
    f.send({ payload: '0,0,red' });
    await f.out.first();
    await f.status(/^simulated LED matrix · 1 shown/);
  });

  it('sends no state when its output is off, and still completes', async () => {
    led = recordLed();
    const f = await load({ outputs: 0 });
    f.send({ payload: 'R180' });
    await f.completed.first();
    assert.equal(f.out.msgs.length, 0);
    assert.equal(led.driver.state().rotation, 180);
  });
});

describe('sensehat-out choosing its matrix', () => {
  it('auto, on this machine without a Sense HAT, draws on the simulated matrix and says so', async () => {
    const f = await load({ driver: 'auto' });
    f.send({ payload: '0,0,red' });
    assert.deepEqual((await f.out.first()).payload.pixels[0], RED);
    const status = await f.status(/^simulated LED matrix \(no Sense HAT found\)/);
    assert.equal(status.status.fill, 'yellow');
  });

  it('auto picks the board when sysfs has a framebuffer named RPi-Sense FB', async () => {
    led = recordLed();
    const f = await load({ driver: 'auto', sysfsRoot: fakeSysfs(join(dir, 'sys-found')) });
    assert.deepEqual(led.kinds, ['sensehat']);
    f.send({ payload: '*,*,blue' });
    assert.deepEqual((await f.out.first()).payload.pixels[9], BLUE);
    await f.status(/^LED matrix \(test\)/);
  });

  it('auto with a framebuffer sense-hat-led cannot open: a clear error on the status and each message, no crash', async () => {
    const f = await load({ driver: 'auto', sysfsRoot: fakeSysfs(join(dir, 'sys-unusable')) });
    const why = /^no Sense HAT LED matrix: sense-hat-led: Cannot detect RPi-Sense FB device/;
    f.send({ payload: '0,0,red', n: 1 });
    f.send({ payload: 'Hi', n: 2 });
    const [first, second] = await f.caught.wait(2);
    assert.match(reason(first!), why);
    assert.equal(second!.n, 2, 'the node is still there for the next message');
    const status = await f.status(why);
    assert.deepEqual([status.status.fill, status.status.shape], ['red', 'ring']);
    assert.equal(f.out.msgs.length, 0);
  });

  it('sensehat without the board is an error, never a simulation', async () => {
    const f = await load({ driver: 'sensehat', sysfsRoot: join(dir, 'no-sys') });
    f.send({ payload: '0,0,red' });
    assert.match(reason(await f.caught.first()), /^no Sense HAT LED matrix: no framebuffer named "RPi-Sense FB"/);
  });
});
