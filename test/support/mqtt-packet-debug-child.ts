/**
 * For quiet-debug.test.ts: loads aedes (argv[2] `quiet`: through picam-broker's loadAedes,
 * `plain`: a plain require), turns mqtt-packet's parser logging on now (`debug.enable`), and
 * has aedes's own mqtt-packet parse one PUBACK. The `debug` package logs to stderr.
 */
import { createRequire } from 'node:module';
import { loadAedes } from '../../nodes/picam-broker/quiet-debug';

const aedesPath = require.resolve('aedes');
// `loaded-first`: someone else loaded aedes before the broker did (node-red-contrib-aedes).
const othersAedes = process.argv[3] === 'loaded-first' ? (require(aedesPath) as unknown) : undefined;
if (process.argv[2] === 'quiet') {
  const ours = loadAedes();
  if (othersAedes && ours === othersAedes) throw new Error('the broker got the aedes loaded before, its parser not quiet');
  if (othersAedes && require(aedesPath) !== othersAedes) throw new Error('the other user lost its aedes');
} else require(aedesPath);
const fromAedes = createRequire(aedesPath);
(require('debug') as { enable(ns: string): void }).enable(`${process.env.DEBUG ?? ''},mqtt-packet:parser`);
const mqttPacket = fromAedes('mqtt-packet') as { parser(): { on(e: string, f: (p: unknown) => void): void; parse(b: Buffer): void } };
const parser = mqttPacket.parser();
parser.on('packet', (p) => process.stdout.write(`${JSON.stringify(p)}\n`));
parser.parse(Buffer.from([0x40, 0x02, 0x00, 0x07]));
