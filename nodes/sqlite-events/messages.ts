/** Input shapes accepted by sqlite-events, checked before they reach the store. */
import type { NodeMessageInFlow } from 'node-red';
import type { RecordKind } from '../lib/types';
import type { QueryParams, QueryScope } from '../lib/store/queries';
import { cameraLimitOf } from '../lib/access/camera-limit';

const RECORD_KINDS: readonly RecordKind[] = [
  'connection',
  'connection-alert',
  'heartbeat',
  'activity-start',
  'activity-stop',
  'camera-state',
  'sensor',
  'command',
  'stream-health',
  'dead-letter',
];

/** Shape check only: mqtt-processor already validated the fields. */
export function isStoreRecord(value: unknown): boolean {
  if (!value || typeof value !== 'object') return false;
  const r = value as { kind?: unknown; deviceId?: unknown; timeMs?: unknown };
  if (!RECORD_KINDS.includes(r.kind as RecordKind)) return false;
  if (typeof r.timeMs !== 'number') return false;
  return r.kind === 'dead-letter' || typeof r.deviceId === 'string';
}

/**
 * What to ask: the node's configured query, or `msg.query.kind`/`msg.topic` when
 * configured "from msg". Parameters merge an `http in` request's path and query
 * string with `msg.query`, so `http in → sqlite-events → http response` needs
 * no glue. The scope is the login the runtime's guard let in (its camera limit,
 * on the Express response's locals): not something a request or a flow can set.
 */
export function queryRequest(configured: string, msg: NodeMessageInFlow): { kind: string; params: QueryParams; scope: QueryScope } {
  const m = msg as NodeMessageInFlow & {
    query?: QueryParams & { kind?: string };
    req?: { params?: QueryParams; query?: QueryParams; res?: { locals?: Record<string, unknown> } };
  };
  const fromMsg = m.query && typeof m.query === 'object' ? m.query : {};
  const kind = configured === 'msg' || !configured ? String(fromMsg.kind ?? msg.topic ?? '') : configured;
  const params: QueryParams = { ...(m.req?.query ?? {}), ...(m.req?.params ?? {}), ...fromMsg };
  return { kind, params, scope: { cameras: cameraLimitOf(m.req?.res?.locals) } };
}
