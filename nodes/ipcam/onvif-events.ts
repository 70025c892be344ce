/**
 * The camera's own motion events over ONVIF (Events service, PullPoint):
 * CreatePullPointSubscription, then PullMessages in a loop (a long poll),
 * Renew before the subscription runs out, Unsubscribe on close.
 *
 * Two topics mean motion: tns1:VideoSource/MotionAlarm (State) and
 * tns1:RuleEngine/CellMotionDetector/Motion (IsMotion). Each video source's
 * state is kept; the camera "sees motion" while any of them says true.
 *
 * A failure (ONVIF off, wrong login, clock skew, no Events service) is one line
 * on the state and retried with backoff; nothing throws out of here.
 */
import { backoffMs, type BackoffOptions } from '../lib/backoff';
import { first, OnvifError, OnvifSession, texts, unescapeXml, where, type OnvifTarget } from './onvif';

export interface OnvifEventsState {
  subscribed: boolean;
  /** one line: why the camera's events are not coming */
  error?: string;
  /** the same in a few words, for the node's status */
  brief?: string;
}

export interface OnvifEventsHandlers {
  /** the camera's motion, all its video sources together: true when one starts, false when all ended */
  motion(active: boolean): void;
  state(state: OnvifEventsState): void;
}

export interface OnvifEventsOptions {
  target: OnvifTarget;
  /** how long one PullMessages waits on the camera for events (seconds, default 10) */
  pullSeconds?: number;
  /** the subscription's lifetime, renewed at half of it (seconds, default 60) */
  terminationSeconds?: number;
  backoff: BackoffOptions;
}

export interface MotionNotice {
  /** the video source (or rule) it is about */
  source: string;
  motion: boolean;
}

const ACTION = {
  pull: 'http://www.onvif.org/ver10/events/wsdl/PullPointSubscription/PullMessagesRequest',
  renew: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/RenewRequest',
  unsubscribe: 'http://docs.oasis-open.org/wsn/bw-2/SubscriptionManager/UnsubscribeRequest',
};

/** Name/Value pairs of the SimpleItems in a piece of an event message. */
function simpleItems(xml: string): Map<string, string> {
  const items = new Map<string, string>();
  for (const m of xml.matchAll(/<(?:[A-Za-z0-9_-]+:)?SimpleItem\b([^>]*)>/g)) {
    const name = /\bName="([^"]*)"/.exec(m[1]!)?.[1];
    const value = /\bValue="([^"]*)"/.exec(m[1]!)?.[1];
    if (name !== undefined && value !== undefined) items.set(name, unescapeXml(value));
  }
  return items;
}

/** The motion notices in a PullMessagesResponse; other topics (tampering, inputs…) are skipped. */
export function motionNotices(xml: string): MotionNotice[] {
  const notices: MotionNotice[] = [];
  for (const message of texts(xml, 'NotificationMessage')) {
    const topic = (first(message, 'Topic') ?? '').replace(/\s+/g, '');
    const key = /VideoSource\/MotionAlarm$/.test(topic)
      ? 'State'
      : /RuleEngine\/CellMotionDetector\/Motion$/.test(topic)
        ? 'IsMotion'
        : undefined;
    if (!key) continue;
    const value = simpleItems(first(message, 'Data') ?? '')
      .get(key)
      ?.toLowerCase();
    if (value !== 'true' && value !== 'false') continue;
    const source = [...simpleItems(first(message, 'Source') ?? '').values()].join('/') || topic;
    notices.push({ source: `${key}:${source}`, motion: value === 'true' });
  }
  return notices;
}

/** The subscription's address, on the camera we talk to (a camera behind NAT may name its inside address). */
function subscriptionUrl(xml: string, t: OnvifTarget): string {
  const raw = first(first(xml, 'SubscriptionReference') ?? '', 'Address');
  let url: URL;
  try {
    url = new URL(unescapeXml(raw ?? ''));
  } catch {
    throw new OnvifError(`the camera at ${where(t)} gave no usable PullPoint subscription address`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new OnvifError(`the camera at ${where(t)} gave a PullPoint address that is not http`);
  // Our login goes to this address: keep it on the camera's own host and port.
  return `http://${t.host}:${t.port}${url.pathname}${url.search}`;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

/** Subscribes, pulls until closed, and tells motion changes; retried with backoff after any failure. */
export class OnvifEvents {
  private readonly stop = new AbortController();
  private readonly sources = new Map<string, boolean>();
  private motion = false;
  private running?: Promise<void>;
  private attempts = 0;

  constructor(
    private readonly o: OnvifEventsOptions,
    private readonly on: OnvifEventsHandlers,
  ) {}

  start(): void {
    this.running ??= this.loop();
  }

  /** Stops pulling and unsubscribes (best effort: the camera drops the subscription at its termination time anyway). */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private async loop(): Promise<void> {
    while (!this.stop.signal.aborted) {
      let subscription: string | undefined;
      const session = new OnvifSession(this.o.target, this.stop.signal);
      try {
        await session.syncClock();
        const events = await session.capability('Events');
        if (!events)
          throw new OnvifError(`the camera at ${where(this.o.target)} offers no ONVIF events (no Events service)`, 'none offered');
        subscription = await this.subscribe(session, events);
        this.attempts = 0;
        this.on.state({ subscribed: true });
        await this.pull(session, subscription);
      } catch (err) {
        if (this.stop.signal.aborted) break;
        this.forget();
        this.on.state({ subscribed: false, error: oneLine(err), brief: err instanceof OnvifError ? err.brief : undefined });
        await sleep(backoffMs(++this.attempts, this.o.backoff), this.stop.signal);
      } finally {
        if (subscription) await this.unsubscribe(session, subscription);
      }
    }
    this.forget();
  }

  private async subscribe(session: OnvifSession, eventsUrl: string): Promise<string> {
    const answer = await session.call(
      eventsUrl,
      `<tev:CreatePullPointSubscription><tev:InitialTerminationTime>PT${this.termination()}S</tev:InitialTerminationTime></tev:CreatePullPointSubscription>`,
      { signal: this.stop.signal },
    );
    return subscriptionUrl(answer, this.o.target);
  }

  private async pull(session: OnvifSession, url: string): Promise<void> {
    const pullSeconds = this.o.pullSeconds ?? 10;
    let renewAt = Date.now() + (this.termination() * 1000) / 2;
    while (!this.stop.signal.aborted) {
      const answer = await session.call(
        url,
        `<tev:PullMessages><tev:Timeout>PT${pullSeconds}S</tev:Timeout><tev:MessageLimit>32</tev:MessageLimit></tev:PullMessages>`,
        { header: addressing(ACTION.pull, url), signal: this.stop.signal, timeoutMs: (pullSeconds + 10) * 1000 },
      );
      // One by one: a motion that starts and ends within one answer is still an event.
      for (const n of motionNotices(answer)) this.note(n);
      if (Date.now() >= renewAt) {
        await session.call(url, `<wsnt:Renew><wsnt:TerminationTime>PT${this.termination()}S</wsnt:TerminationTime></wsnt:Renew>`, {
          header: addressing(ACTION.renew, url),
          signal: this.stop.signal,
        });
        renewAt = Date.now() + (this.termination() * 1000) / 2;
      }
    }
  }

  private async unsubscribe(session: OnvifSession, url: string): Promise<void> {
    // A session of its own: the loop's is stopped by now, and the camera should still hear this.
    const last = new OnvifSession(this.o.target);
    last.skewMs = session.skewMs;
    await last.call(url, '<wsnt:Unsubscribe/>', { header: addressing(ACTION.unsubscribe, url), timeoutMs: 3000 }).catch(() => undefined);
  }

  private termination(): number {
    return this.o.terminationSeconds ?? 60;
  }

  /** Keeps at most 64 sources (a camera has a handful), and tells only changes of the whole. */
  private note(n: MotionNotice): void {
    this.sources.delete(n.source);
    this.sources.set(n.source, n.motion);
    if (this.sources.size > 64) this.sources.delete(this.sources.keys().next().value!);
    this.tell();
  }

  /** Forgets every source's state (the subscription is gone: its motion cannot be followed). */
  private forget(): void {
    this.sources.clear();
    this.tell();
  }

  private tell(): void {
    const motion = [...this.sources.values()].some(Boolean);
    if (motion === this.motion) return;
    this.motion = motion;
    this.on.motion(motion);
  }
}

/** WS-Addressing headers: many cameras route a subscription's requests by them. */
function addressing(action: string, to: string): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<wsa:Action>${action}</wsa:Action><wsa:To>${esc(to)}</wsa:To>`;
}

function oneLine(err: unknown): string {
  const text = err instanceof OnvifError ? err.message : `ONVIF events failed (${(err as Error).message})`;
  return text.replace(/\s+/g, ' ').slice(0, 300);
}

/**
 * The check before a camera that takes its motion from ONVIF is saved: the
 * camera answers, takes the login, and lists an Events service. Undefined when
 * all is well, else the one-line reason.
 */
export async function checkOnvifEvents(target: OnvifTarget): Promise<{ error?: string; warnings: string[] }> {
  const session = new OnvifSession(target);
  try {
    await session.syncClock();
    const events = await session.capability('Events');
    if (!events) return { error: `the camera at ${where(target)} offers no ONVIF events (no Events service)`, warnings: [] };
    const skew = session.skewSeconds;
    const warnings =
      Math.abs(skew) > 5 ? [`the camera's clock is off by ${skew} s: set its time (NTP), or event times and logins may be wrong`] : [];
    return { warnings };
  } catch (err) {
    return { error: oneLine(err), warnings: [] };
  }
}
