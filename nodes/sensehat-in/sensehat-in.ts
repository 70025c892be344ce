/**
 * sensehat-in: the Sense HAT's environment, motion and joystick as
 * node-red-node-pi-sense-hat's messages, read from TypeScript (no Python
 * helper, no sudo), with the temperature corrected for the CPU's heat.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { backoffMs } from '../lib/backoff';
import { numberSetting, type NodeConstructor } from '../lib/node-config';
import { BACKEND_CHOICES, openBackend, type BackendChoice } from '../lib/sensehat/backend';
import { JoystickReader } from '../lib/sensehat/joystick';
import { TemperatureCorrection } from '../lib/sensehat/temperature';
import type { SenseBackend } from '../lib/sensehat/types';
import { StatusReporter, ThrottledWarn } from '../lib/status';
import { readControl } from './control';
import { SenseStreams } from './streams';
import { parseBoolean } from '../lib/settings';

interface SensehatInDef extends NodeDef {
  backend: BackendChoice;
  i2cBus: string | number;
  sysfsRoot: string;
  devRoot: string;
  environment: boolean | string;
  environmentInterval: string | number;
  motion: boolean | string;
  motionInterval: string | number;
  joystick: boolean | string;
  colour: boolean | string;
  correction: boolean | string;
  correctionFactor: string | number;
  correctionSmoothing: string | number;
  cpuTempFile: string;
}

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;

export default function register(RED: NodeAPI): void {
  function SensehatIn(this: Node, def: SensehatInDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    const warn = new ThrottledWarn((t) => node.warn(t), 60_000);
    const choice: BackendChoice = BACKEND_CHOICES.includes(def.backend) ? def.backend : 'auto';
    const sysfsRoot = def.sysfsRoot || '/sys';
    let backend: SenseBackend | undefined;
    let streams: SenseStreams | undefined;
    let joystick: JoystickReader | undefined;
    let retryTimer: NodeJS.Timeout | undefined;
    let attempts = 0;
    let closed = false;
    const problems = new Map<string, string>();
    let sent = 0;

    let correction: TemperatureCorrection | undefined;
    try {
      correction = parseBoolean('correction', def.correction, true)
        ? new TemperatureCorrection({
            factor: numberSetting(def.correctionFactor, 1.5),
            smoothing: numberSetting(def.correctionSmoothing, 5),
            cpuTempFile: def.cpuTempFile || undefined,
          })
        : undefined;
    } catch (err) {
      node.error(`temperature correction off: ${(err as Error).message}`);
    }

    const showStatus = () => {
      if (!backend || !streams) return;
      const all = [...problems.values(), ...streams.issues];
      const streamsOn = [
        streams.settings.environment.on && backend.has.environment ? `env ${streams.settings.environment.intervalMs / 1000} s` : '',
        streams.settings.motion.on && backend.has.motion ? 'motion' : '',
        joystick ? 'joystick' : '',
      ].filter(Boolean);
      status.soon(() =>
        all.length
          ? ['warn', `${backend!.name}: ${all[0]}`.slice(0, 90)]
          : ['ok', `${backend!.name}: ${streamsOn.join(', ') || 'all streams off'} · ${sent} sent`],
      );
    };

    const emit = (topic: string, payload: unknown) => {
      sent++;
      node.send({ topic, payload });
      showStatus();
    };

    const start = async () => {
      retryTimer = undefined;
      status.now('busy', `looking for the Sense HAT (${choice})`);
      let opened: SenseBackend;
      try {
        opened = await openBackend(choice, { i2cBus: numberSetting(def.i2cBus, 1), sysfsRoot, log: (l) => node.log(l) });
      } catch (err) {
        if (closed) return;
        attempts++;
        const waitMs = backoffMs(attempts, { baseMs: 5000, maxMs: 5 * 60_000 });
        const why = (err as Error).message;
        node.warn(`no Sense HAT: ${why}; trying again in ${Math.round(waitMs / 1000)} s`);
        status.now('error', `no Sense HAT: ${why}`.slice(0, 90));
        retryTimer = setTimeout(() => void start(), waitMs);
        return;
      }
      if (closed) {
        await opened.close();
        return;
      }
      attempts = 0;
      backend = opened;
      const missing = (['environment', 'motion', 'colour'] as const).filter((s) => !opened.has[s]);
      node.log(`Sense HAT via ${opened.name}${missing.length ? `; not available: ${missing.join(', ')}` : ''}`);
      streams = new SenseStreams(
        opened,
        {
          environment: {
            on: parseBoolean('environment', def.environment, true),
            intervalMs: numberSetting(def.environmentInterval, 2) * 1000,
          },
          motion: { on: parseBoolean('motion', def.motion, false), intervalMs: numberSetting(def.motionInterval, 0.2) * 1000 },
          colour: parseBoolean('colour', def.colour, true),
          correction,
          cpuFromFile: !!def.cpuTempFile,
        },
        {
          environment: (p) => emit('environment', p),
          motion: (p) => emit('motion', p),
          problem: (stream, err) => {
            if (err) {
              problems.set(stream, `${stream}: ${err.message}`);
              warn.warnNow(`${stream} reading failed: ${err.message} (retrying at every tick)`);
            } else {
              problems.delete(stream);
              node.log(`${stream} readings are back`);
            }
            showStatus();
          },
        },
      );
      streams.start();
      if (parseBoolean('joystick', def.joystick, true) && opened.name !== 'simulated') startJoystick();
      showStatus();
    };

    const startJoystick = () => {
      joystick = new JoystickReader({ sysRoot: sysfsRoot, devRoot: def.devRoot || '/dev' });
      joystick.on('key', (payload) => emit('joystick', payload));
      joystick.on('problem', (message: string | undefined) => {
        if (message) problems.set('joystick', `joystick: ${message}`);
        else problems.delete('joystick');
        showStatus();
      });
      joystick.start();
    };

    node.on('input', (msg: NodeMessageInFlow, _send: Send, done: Done) => {
      const control = readControl(msg);
      if (!control.ok) {
        done(new Error(`sensehat-in: ${control.error}`));
        return;
      }
      if (!streams) {
        done(new Error('sensehat-in: no Sense HAT yet (see the node status)'));
        return;
      }
      for (const [stream, change] of control.changes) streams.set(stream, change);
      showStatus();
      if (control.readNow) void streams.readNow('environment').then(() => done(), done);
      else done();
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      clearTimeout(retryTimer);
      streams?.stop();
      status.clear();
      Promise.all([joystick?.close(), backend?.close()]).then(
        () => done(),
        (err: Error) => {
          node.error(`closing the Sense HAT: ${err.message}`);
          done();
        },
      );
    });

    void start();
  }
  RED.nodes.registerType('sensehat-in', SensehatIn as unknown as NodeConstructor);
}
