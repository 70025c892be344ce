/**
 * Watches one MediaMTX server: polls its paths, turns each poll into health
 * changes, stream-health records and stream-down/up alerts, and raises its
 * own alert when the server stays unreachable or refuses the credentials.
 * A failed poll changes nothing about the streams (every path would look
 * gone); polling simply goes on.
 */
import { MediamtxError, type MediamtxClient } from '../lib/mediamtx/client';
import { StreamHealth, type HealthChange } from '../lib/mediamtx/health';
import type { Alert, StreamHealthRecord } from '../lib/types';

export interface MonitorEvents {
  changes(changes: HealthChange[]): void;
  records(records: StreamHealthRecord[]): void;
  alerts(alerts: Alert[]): void;
  /** after every poll: undefined when it worked, else why not */
  polled(error: MediamtxError | undefined, online: number, total: number, version?: string): void;
}

export interface MonitorOptions {
  intervalMs: number;
  graceMs: number;
  /** how the server appears in its own alerts */
  serverName: string;
  now?: () => number;
}

export class HealthMonitor {
  readonly health: StreamHealth;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private failingSince?: number;
  private failureAlerted = false;
  /** the server's version, asked again after every failure (it may have been upgraded and restarted) */
  private version?: string;
  /** the on-demand paths at the last poll that could read them */
  private onDemand: ReadonlySet<string> = new Set();
  private readonly now: () => number;

  constructor(
    private readonly client: Pick<MediamtxClient, 'paths' | 'info'> & Partial<Pick<MediamtxClient, 'onDemandPaths'>>,
    private readonly opts: MonitorOptions,
    private readonly events: MonitorEvents,
  ) {
    this.health = new StreamHealth({ graceMs: opts.graceMs });
    this.now = opts.now ?? Date.now;
  }

  start(): void {
    void this.tick();
  }

  /** Polls now (a flow asked), without waiting for the schedule. */
  pollNow(): Promise<void> {
    return this.poll();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.closed) return;
    await this.poll();
    if (!this.closed) this.timer = setTimeout(() => void this.tick(), this.opts.intervalMs);
  }

  private async poll(): Promise<void> {
    const nowMs = this.now();
    let error: MediamtxError | undefined;
    try {
      this.version ??= (await this.client.info()).version;
      const paths = await this.client.paths();
      // The configuration list only marks idle on-demand paths: if it cannot be read, the last one known serves.
      this.onDemand = (await this.client.onDemandPaths?.().catch(() => undefined)) ?? this.onDemand;
      if (this.closed) return; // the node closed while the request ran
      const changes = this.health.update(paths, nowMs, this.onDemand);
      if (changes.length) this.events.changes(changes);
      this.events.records(
        this.health.summary().paths.map((p) => ({
          kind: 'stream-health',
          deviceId: p.name,
          deviceType: 'mediamtx',
          timeMs: nowMs,
          online: p.online,
          readers: p.readers,
          inboundKbps: p.inboundKbps,
          outboundKbps: p.outboundKbps,
          framesInError: p.framesInError,
          sourceType: p.sourceType,
        })),
      );
      this.recovered(nowMs);
    } catch (err) {
      if (this.closed) return;
      this.version = undefined;
      error = err instanceof MediamtxError ? err : new MediamtxError('bad-response', (err as Error).message);
      this.failed(error, nowMs);
    }
    const alerts = this.health.alerts(nowMs);
    if (alerts.length) this.events.alerts(alerts);
    const s = this.health.summary();
    this.events.polled(error, s.online, s.paths.length, this.version);
  }

  /** One alert when the server stays out of reach past the grace period; one more when it is back. */
  private failed(error: MediamtxError, nowMs: number): void {
    this.failingSince ??= nowMs;
    if (this.failureAlerted || nowMs - this.failingSince < this.opts.graceMs) return;
    this.failureAlerted = true;
    this.events.alerts([this.serverAlert(`${this.opts.serverName}: ${error.message}`, 'critical', nowMs)]);
  }

  private recovered(nowMs: number): void {
    if (this.failureAlerted) this.events.alerts([this.serverAlert(`${this.opts.serverName} answers again`, 'info', nowMs)]);
    this.failingSince = undefined;
    this.failureAlerted = false;
  }

  private serverAlert(text: string, severity: Alert['severity'], timeMs: number): Alert {
    return { kind: 'text', deviceId: 'mediamtx', deviceName: 'MediaMTX', deviceType: 'mediamtx', timeMs, severity, text };
  }
}
