/**
 * The simulator's VBC01 cameras answer the platform's `stream/*` commands
 * (vbc01-protocol.md §6, §7) over a real aedes broker: video to the answer's
 * port on `stream/play`, keepalives counted, nothing left on `stream/stop`
 * or when the simulator stops.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { startSimulator, type Simulator } from '../../../cli/commands/simulator';
import { OutageBroker } from '../../support/aedes-broker';
import { skipWithoutFfmpeg } from '../../support/ffmpeg';
import { FakeMediaServer, receiverReport, vbc01Answer } from '../../support/vbc01-rtp';
import { isAlive } from '../../support/processes';
import { waitFor } from '../../support/wait';

describe('simulated VBC01 cameras on stream/play, keepalive and stop', { skip: skipWithoutFfmpeg }, () => {
  let broker: OutageBroker;
  let platform: MqttClient;
  let sim: Simulator | undefined;
  let server: FakeMediaServer;
  let rr: NodeJS.Timeout;
  const logs: string[] = [];
  const pids: number[] = [];
  let id = '';

  /** A platform command with the envelope of §6, QoS 1. */
  const command = (tail: string, extra: object) =>
    platform.publishAsync(
      `prod/honeycomb/${id}/stream/${tail}`,
      JSON.stringify({
        requestId: randomUUID(),
        creationTimestamp: new Date().toISOString(),
        sourceId: id,
        sourceType: 'hive-cam',
        ...extra,
      }),
      { qos: 1 },
    );

  before(async () => {
    broker = await OutageBroker.start();
    const url = `mqtt://127.0.0.1:${broker.port}`;
    platform = await mqtt.connectAsync(url, { clientId: 'platform', reconnectPeriod: 0 });
    server = await FakeMediaServer.start();
    rr = setInterval(() => server.camera && server.sendRtcp(receiverReport(0)), 200);
    sim = await startSimulator({ url, cameras: 1, pis: 0, log: (l) => logs.push(l), stream: { encoder: { size: '320x240' } } });
    id = sim.devices[0]!.id;
    sim.streamers.get(id)!.on('encoder', (pid: number) => pids.push(pid));
    // The camera subscribes after connecting: wait until the broker delivers to it.
    await waitFor('the camera subscribed', async () => {
      await command('keepalive', { streamId: 'probe', keepaliveCount: 0, messageType: 'keepalive' });
      return logs.some((l) => l.includes('keepalive for probe')) ? true : undefined;
    });
  });

  after(async () => {
    clearInterval(rr);
    await sim?.stop();
    await platform?.endAsync();
    await server?.close();
    await broker?.down();
  });

  it('streams on stream/play, counts keepalives, and stops on stream/stop with no ffmpeg left', async () => {
    const streamer = sim!.streamers.get(id)!;
    const streamId = randomUUID();
    await command('play', { streamId, sdpOffer: vbc01Answer(server.ports), messageType: 'play' });
    await waitFor('RTP from the camera', async () => (server.packets.length > 20 ? true : undefined));
    for (const keepaliveCount of [0, 1]) await command('keepalive', { streamId, keepaliveCount, messageType: 'keepalive' });
    await waitFor('two keepalives counted', async () => (streamer.stats().keepalives === 2 ? true : undefined));

    await command('stop', { streamId, messageType: 'stop' });
    await waitFor('the stream stopped', async () => (streamer.stats().stopReason === 'stream/stop' ? true : undefined));
    await waitFor('its ffmpeg gone', async () => (pids.filter(isAlive).length === 0 ? true : undefined));
    assert.equal(streamer.stats().state, 'idle');
  });

  it('refuses an answer without a=direction:passive, and says so in one line', async () => {
    const streamer = sim!.streamers.get(id)!;
    const sdpOffer = vbc01Answer(server.ports).replace('a=recvonly\r\na=direction:passive', 'a=recvonly');
    await command('play', { streamId: 'bad', sdpOffer, messageType: 'play' });
    await waitFor('the refusal', async () => streamer.stats().rejectedReason);
    assert.match(streamer.stats().rejectedReason!, /a=recvonly is not followed by a=direction:passive/);
    assert.ok(
      logs.some((l) => /stream\/play bad rejected, not streaming: .*direction:passive/.test(l)),
      logs.join('\n'),
    );
  });

  it('leaves no ffmpeg when the simulator stops mid-stream', async () => {
    const streamer = sim!.streamers.get(id)!;
    await command('play', { streamId: randomUUID(), sdpOffer: vbc01Answer(server.ports), messageType: 'play' });
    await waitFor('streaming again', async () => (streamer.stats().state === 'streaming' ? true : undefined));
    assert.ok(pids.some(isAlive));
    await sim!.stop();
    sim = undefined;
    assert.deepEqual(pids.filter(isAlive), []);
    assert.equal(streamer.stats().stopReason, 'closed');
  });
});
