/**
 * The supervised stream: one source process (rpicam-vid or ffmpeg) owning the
 * camera, whose H.264 goes to the relay (ffmpeg publishing to the RTSP server)
 * and, when analysis is on, to the analyser (ffmpeg decoding JPEGs and grey
 * motion frames).
 *
 * - The relay fails alone when the RTSP server refuses or goes away: it is
 *   restarted with backoff while the source keeps running (the camera stays
 *   open; the new relay starts at the next key frame).
 * - No new frame from the relay for stallTimeoutMs, or a source that exits:
 *   everything is stopped and started again, with backoff; but while the tap's
 *   copy still grows (the camera delivers), only the relay is.
 * - The analyser failing never touches the stream: it restarts with backoff.
 * - With `recordTo`, a tap (ffmpeg copying the H.264 as MPEG-TS to a local UDP port, for the Pi's
 *   own recorder) runs beside the relay: it does not need the uplink, so the Pi keeps recording
 *   while the relay backs off (issue 19). It fails alone too, and restarts with backoff.
 */
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { backoffMs } from '../backoff';
import { describeExit, spawnChild, type Child } from '../child-process';
import { analyserCommand, relayCommand, sourceCommand, tapCommand, type Command } from './commands';
import { redactText } from '../redact';
import { greyFrames, H264Fanout, type Outlet } from './pipes';
import { ProgressParser, type FfmpegProgress } from './progress';
import type { AnalysisConfig, GreyFrame, PipelineState, PipelineStats, StreamConfig } from './types';

export interface PipelineEvents {
  state: [state: PipelineState, detail?: string];
  stats: [stats: PipelineStats];
  /** raw bytes of the analyser's MJPEG output, not split into frames */
  mjpegChunk: [chunk: Buffer];
  grey: [frame: GreyFrame];
  /** something worth logging that does not change the state (analyser restarts, dropped data) */
  warning: [message: string];
}

export interface PipelineOptions {
  /** SIGTERM to SIGKILL (default 3000 ms) */
  graceMs?: number;
  /** longest the source waits for a slow relay before the relay loses data (default 1000 ms) */
  relayPauseMaxMs?: number;
}

/** A process that ran this long before it failed starts its backoff again from the beginning. */
const STABLE_MS = 10_000;

type Attempt = 'run' | 'relay' | 'analyser' | 'tap';

interface Run {
  source: Child;
  fanout: H264Fanout;
  relay?: { child: Child; outlet: Outlet };
  analyser?: { child: Child; outlet: Outlet };
  tap?: { child: Child; outlet: Outlet };
}

export class Pipeline extends EventEmitter<PipelineEvents> {
  private running = false;
  private run?: Run;
  private readonly dying = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private watchdog?: NodeJS.Timeout;
  private readonly attempts: Record<Attempt, number> = { run: 0, relay: 0, analyser: 0, tap: 0 };
  private current: PipelineState = 'stopped';
  private progress: Pick<PipelineStats, 'fps' | 'bitrateKbps' | 'frames' | 'dropped'> = { fps: 0, bitrateKbps: 0, frames: 0, dropped: 0 };
  private lastAdvanceAt = 0;
  /** the relay's input rate, measured here: ffmpeg reports bitrate=N/A for RTSP outputs */
  private rate = { bytes: 0, at: 0, kbps: 0 };
  private streamingSince?: number;
  private restarts = 0;
  private lastError?: string;
  private stderrTail: string[] = [];

  constructor(
    private readonly cfg: StreamConfig,
    private readonly opts: PipelineOptions = {},
  ) {
    super();
  }

  get stats(): PipelineStats {
    const uptimeMs = this.current === 'streaming' && this.streamingSince ? Date.now() - this.streamingSince : 0;
    const { current: state, restarts, lastError, stderrTail } = this;
    return { state, ...this.progress, uptimeMs, restarts, lastError, stderrTail: [...stderrTail] };
  }

  /** The running processes' ids (for diagnostics and tests). */
  get pids(): { source?: number; relay?: number; analyser?: number; tap?: number } {
    const r = this.run;
    return { source: r?.source.pid, relay: r?.relay?.child.pid, analyser: r?.analyser?.child.pid, tap: r?.tap?.child.pid };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.setState('starting');
    this.launch();
  }

  /** Ends every process (SIGTERM, then SIGKILL) and clears every timer; safe to call twice. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.endRun();
    await Promise.all(this.dying);
    // start() may have been called while the processes were ending.
    if (!this.running) this.setState('stopped');
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /** Starts a run once the previous one's processes are gone: the camera opens only once. */
  private launch(): void {
    void Promise.all(this.dying).then(() => {
      if (this.running && !this.run) this.startRun();
    });
  }

  private startRun(): void {
    const command = sourceCommand(this.cfg);
    // Without a relay (an IP camera: MediaMTX pulls it itself) the source reports the progress.
    const reports = !this.cfg.rtspUrl;
    const source = this.spawn(command, [command.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', reports ? 'pipe' : 'ignore']);
    const fanout = new H264Fanout(source.process.stdout as Readable, {
      maxPauseMs: this.opts.relayPauseMaxMs,
      onDrop: (o) => this.fire('warning', `${o.policy === 'pause' ? 'relay' : 'analyser'} fell behind: dropping until the next key frame`),
    });
    const run: Run = { source, fanout };
    this.run = run;
    const startedAt = Date.now();
    void source.exited.then((info) => {
      if (this.run !== run) return;
      this.fail(source, redactText(describeExit('source', info, source.stderrTail())), startedAt, 'run');
      this.restartAll();
    });
    if (reports) this.readProgress(run, source);
    else this.startRelay(run);
    if (this.cfg.analysis) this.startAnalyser(run, this.cfg.analysis);
    if (this.cfg.recordTo) this.startTap(run, this.cfg.recordTo);
    const every = Math.max(100, Math.min(1000, this.cfg.stallTimeoutMs / 4));
    this.watchdog = setInterval(() => this.checkStall(run), every);
  }

  private startRelay(run: Run): void {
    const child = this.spawn(relayCommand(this.cfg), ['pipe', 'ignore', 'pipe', 'pipe']);
    run.relay = { child, outlet: run.fanout.add(child.process.stdin!, 'pause') };
    this.readProgress(run, child);
    const startedAt = Date.now();
    this.onExit(run, 'relay', child, (reason) => {
      this.fail(child, reason, this.streamingSince ?? startedAt, 'relay');
      this.retry('relay', reason, () => {
        this.setState('starting');
        this.startRelay(run);
      });
    });
  }

  /** Follows the progress blocks a process writes on fd 3 (the relay's, or the source's when there is no relay). */
  private readProgress(run: Run, child: Child): void {
    this.progress = { fps: 0, bitrateKbps: 0, frames: 0, dropped: 0 };
    this.lastAdvanceAt = Date.now();
    this.rate = { bytes: 0, at: this.lastAdvanceAt, kbps: 0 };
    const parser = new ProgressParser((p) => this.onProgress(run, p));
    (child.process.stdio[3] as Readable | null)?.on('data', (d: Buffer) => parser.push(d));
  }

  private startAnalyser(run: Run, analysis: AnalysisConfig): void {
    const child = this.spawn(analyserCommand(this.cfg, analysis), ['pipe', 'pipe', 'pipe', 'pipe']);
    run.analyser = { child, outlet: run.fanout.add(child.process.stdin!, 'drop') };
    // A run being ended may still deliver a few frames: they are not this run's.
    child.process.stdout?.on('data', (chunk: Buffer) => this.run === run && this.fire('mjpegChunk', chunk));
    const grey = greyFrames(analysis.motionWidth, analysis.motionHeight, (frame) => this.run === run && this.fire('grey', frame));
    (child.process.stdio[3] as Readable | null)?.on('data', grey);
    const startedAt = Date.now();
    this.onExit(run, 'analyser', child, (reason) => {
      this.fire('warning', `${reason}; restarting it`);
      if (Date.now() - startedAt >= STABLE_MS) this.attempts.analyser = 0;
      this.retry('analyser', undefined, () => this.startAnalyser(run, analysis));
    });
  }

  /** The last time the tap's copy grew: the camera is delivering. */
  private tapAdvance = { bytes: 0, at: 0 };

  private noteTap(run: Run): void {
    const bytes = run.tap?.outlet.writtenBytes;
    if (bytes !== undefined && bytes !== this.tapAdvance.bytes) this.tapAdvance = { bytes, at: Date.now() };
  }

  private startTap(run: Run, recordTo: string): void {
    const child = this.spawn(tapCommand(this.cfg, recordTo), ['pipe', 'ignore', 'pipe']);
    // Dropped until the next key frame when it falls behind: the recording has a gap, the stream none.
    run.tap = { child, outlet: run.fanout.add(child.process.stdin!, 'drop') };
    const startedAt = Date.now();
    this.onExit(run, 'tap', child, (reason) => {
      this.fire('warning', `local recording ${reason}; restarting it`);
      if (Date.now() - startedAt >= STABLE_MS) this.attempts.tap = 0;
      this.retry('tap', undefined, () => this.startTap(run, recordTo));
    });
  }

  /** Calls `then` with the reason when this run's relay or analyser exits by itself (not when the run is ended). */
  private onExit(run: Run, part: 'relay' | 'analyser' | 'tap', child: Child, then: (reason: string) => void): void {
    void child.exited.then((info) => {
      const current = run[part];
      if (this.run !== run || current?.child !== child) return;
      run.fanout.remove(current.outlet);
      run[part] = undefined;
      then(redactText(describeExit(part, info, child.stderrTail())));
    });
  }

  private onProgress(run: Run, p: FfmpegProgress): void {
    if (this.run !== run || p.end) return;
    const now = Date.now();
    if (p.frame > this.progress.frames) this.lastAdvanceAt = now;
    const bytes = run.relay?.outlet.writtenBytes ?? p.totalSize ?? 0;
    if (now - this.rate.at >= 1000) this.rate = { bytes, at: now, kbps: ((bytes - this.rate.bytes) * 8) / (now - this.rate.at) };
    const bitrateKbps = p.bitrateKbps ?? Math.round(this.rate.kbps * 10) / 10;
    this.progress = { fps: p.fps, bitrateKbps, frames: p.frame, dropped: p.dropFrames };
    if (p.frame > 0 && this.current !== 'streaming') this.setState('streaming');
    this.fire('stats', this.stats);
  }

  private checkStall(run: Run): void {
    this.noteTap(run);
    // Only a running relay (or a source without one) reports frames: while it backs off there is nothing to judge by.
    if (this.run !== run || (!run.relay && this.cfg.rtspUrl) || Date.now() - this.lastAdvanceAt < this.cfg.stallTimeoutMs) return;
    const reason = `no new frame for ${Math.round((Date.now() - this.lastAdvanceAt) / 1000)} s`;
    if (run.relay && run.tap && Date.now() - this.tapAdvance.at < this.cfg.stallTimeoutMs) {
      // The camera still delivers (the tap's copy grows) and the relay alone hangs: a server that does not
      // answer (an uplink that drops packets). Only the relay goes (its exit retries it with backoff), so the
      // Pi goes on recording locally.
      this.lastError = `relay: ${reason}`;
      void run.relay.child.stop(this.opts.graceMs ?? 3000);
      this.lastAdvanceAt = Date.now();
      return;
    }
    this.lastError = reason;
    this.stderrTail = run.source.stderrTail().map(redactText);
    this.setState('stalled', reason);
    this.restartAll();
  }

  /** Records why a process ended; a long good run resets its backoff. */
  private fail(child: Child, reason: string, since: number, what: Attempt): void {
    this.lastError = reason;
    this.stderrTail = child.stderrTail().map(redactText);
    if (Date.now() - since >= STABLE_MS) this.attempts[what] = 0;
  }

  /** Stops the whole run and starts a new one after a backoff. */
  private restartAll(): void {
    this.endRun();
    this.retry('run', this.lastError ?? 'restarting', () => {
      this.setState('starting');
      this.launch();
    });
  }

  private retry(what: Attempt, reason: string | undefined, again: () => void): void {
    const delay = backoffMs(++this.attempts[what], this.cfg.backoff);
    if (what !== 'analyser' && what !== 'tap') this.restarts++;
    if (reason !== undefined) this.setState('backing-off', `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      if (this.running) again();
    }, delay);
    this.timers.add(timer);
  }

  /** Forgets the current run and ends its processes; stop() waits for them through `dying`. */
  private endRun(): void {
    clearInterval(this.watchdog);
    this.watchdog = undefined;
    const run = this.run;
    this.run = undefined;
    if (!run) return;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    run.fanout.close();
    const children = [run.source, run.relay?.child, run.analyser?.child, run.tap?.child].filter((c): c is Child => c !== undefined);
    // An ffmpeg blocked reading stdin only sees SIGTERM after its next read: EOF lets it end at once.
    for (const c of children) c.process.stdin?.destroy();
    const graceMs = this.opts.graceMs ?? 3000;
    const dead: Promise<void> = Promise.all(children.map((c) => c.stop(graceMs))).then(() => {
      this.dying.delete(dead);
    });
    this.dying.add(dead);
  }

  private spawn(cmd: Command, stdio: Array<'pipe' | 'ignore'>): Child {
    const child = spawnChild(cmd.command, cmd.args, { stdio, stderrLines: 20 });
    if (cmd.stdin !== undefined) child.process.stdin?.end(cmd.stdin);
    return child;
  }

  private setState(state: PipelineState, detail?: string): void {
    if (state === this.current && state !== 'backing-off') return;
    this.current = state;
    this.streamingSince = state === 'streaming' ? Date.now() : undefined;
    this.fire('state', state, detail);
    this.fire('stats', this.stats);
  }

  /** A listener that throws must not take the supervisor (or Node-RED) down with it. */
  private fire<K extends keyof PipelineEvents>(event: K, ...args: PipelineEvents[K]): void {
    try {
      (this.emit as (e: K, ...a: PipelineEvents[K]) => boolean)(event, ...args);
    } catch (err) {
      if (event !== 'warning') this.fire('warning', `a "${event}" listener failed: ${(err as Error).message}`);
    }
  }
}
