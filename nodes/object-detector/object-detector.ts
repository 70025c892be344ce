/**
 * object-detector: a JPEG in (msg.payload), what the person detector sees in it
 * out: the same model the cameras use (nodes/lib/detect), for makers who wire
 * their own logic (a snapshot every minute → "is the car still there?").
 *
 * Pictures that arrive while the model is busy wait, at most 2; a newer one
 * replaces the oldest, which is dropped (its msg completes, the status counts it
 * and a throttled warning says so): the node never builds an unbounded backlog.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { best, keep, parseFilter } from '../lib/detect/filter';
import { DetectQueue, type QueuedFrame } from '../lib/detect/queue';
import { DEFAULT_FILTER, type Detection } from '../lib/detect/types';
import { detectorFactory } from './detector-factory';
import type { NodeConstructor } from '../lib/node-config';
import { compact, StatusReporter, ThrottledWarn } from '../lib/status';

interface ObjectDetectorDef extends NodeDef {
  threshold?: string | number;
  minBoxPercent?: string | number;
  labels?: string;
}

type Send = (msg: NodeMessage | NodeMessage[]) => void;
type Done = (err?: Error) => void;

/** What leaves the node: msg.payload. */
interface DetectionOutput {
  /** the detections the node's labels, threshold and box size keep, best first */
  detections: Detection[];
  /** the one that describes the picture best (a person first), or null */
  best: Detection | null;
  width: number;
  height: number;
  /** inference time (ms) */
  ms: number;
}

type Job = QueuedFrame & { msg: NodeMessageInFlow; send: Send; done: Done };

export default function register(RED: NodeAPI): void {
  function ObjectDetectorNode(this: Node, def: ObjectDetectorDef) {
    RED.nodes.createNode(this, def);
    const node = this;
    const status = new StatusReporter(node, 1000);
    let filter = DEFAULT_FILTER;
    try {
      filter = parseFilter({ threshold: def.threshold, minBoxPercent: def.minBoxPercent, labels: def.labels }, DEFAULT_FILTER);
    } catch (err) {
      status.now('error', (err as Error).message.slice(0, 90));
      node.on('input', (_m: NodeMessageInFlow, _s: Send, done: Done) => done(new Error(`object-detector: ${(err as Error).message}`)));
      return;
    }
    const warn = new ThrottledWarn((t) => node.warn(t));
    const show = () =>
      status.soon(() => {
        const s = queue.stats;
        const behind = s.behindMs >= 1000 ? `, ${(s.behindMs / 1000).toFixed(1)} s behind` : '';
        return [
          s.dropped ? 'warn' : 'ok',
          `${compact(s.analysed)} analysed, ${s.lastMs} ms${behind}${s.dropped ? `, ${compact(s.dropped)} dropped (busy)` : ''}`,
        ];
      });
    const queue: DetectQueue<Job> = new DetectQueue<Job>(detectorFactory.make(), {
      result: (job, r) => {
        const detections = keep(r.detections, filter);
        const payload: DetectionOutput = { detections, best: best(detections) ?? null, width: r.width, height: r.height, ms: r.ms };
        job.msg.payload = payload;
        (job.msg as NodeMessage & { detection?: Detection | null }).detection = payload.best;
        job.send(job.msg);
        job.done();
        show();
      },
      failed: (job, err) => {
        job.done(new Error(`object-detector: ${err.message}`));
        show();
      },
      dropped: (job) => {
        warn.warnNow('object-detector: a picture was dropped: a newer one came while the detector was busy (see the status)');
        job.done();
        show();
      },
    });
    status.now('ok', 'ready (the model loads with the first picture)');

    node.on('input', (msg: NodeMessageInFlow, send: Send, done: Done) => {
      if (!Buffer.isBuffer(msg.payload)) {
        done(new Error('object-detector: msg.payload must be a JPEG picture (a Buffer)'));
        return;
      }
      queue.offer({ jpeg: msg.payload, timeMs: Date.now(), msg, send, done });
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      queue.close();
      void queue.idle().then(() => {
        status.clear();
        done();
      });
    });
  }
  RED.nodes.registerType('object-detector', ObjectDetectorNode as unknown as NodeConstructor);
}
