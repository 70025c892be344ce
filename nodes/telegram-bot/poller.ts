/**
 * Long-polls one bot token for commands. Telegram lets only one client poll a
 * token (a second gets 409 Conflict and the two knock each other out), so this
 * process keeps one poller per token however many config nodes name it.
 */
import { longPoll, TelegramApiError, type Api, type Update } from 'node-telegram-bot-api';
import { backoffMs } from '../lib/backoff';
import type { PollerState } from '../lib/alerts/telegram-bot-node';

export interface PollerEvents {
  update(update: Update): void | Promise<void>;
  state(state: PollerState, detail?: string): void;
}

/** token → the id of the config node polling it, process-wide */
const claims = new Map<string, string>();

export class CommandPoller {
  private abort?: AbortController;
  private loop?: Promise<void>;

  constructor(
    private readonly api: Pick<Api, 'getUpdates'>,
    private readonly token: string,
    private readonly owner: string,
    private readonly events: PollerEvents,
    private readonly pollSeconds = 25,
  ) {}

  /** false when another config node in this process already polls the token */
  start(): boolean {
    const holder = claims.get(this.token);
    if (holder && holder !== this.owner) return false;
    claims.set(this.token, this.owner);
    if (this.loop) return true;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
    return true;
  }

  /** Ends the held getUpdates request and waits for the loop to finish. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
    if (claims.get(this.token) === this.owner) claims.delete(this.token);
    this.events.state('stopped');
  }

  private async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        this.events.state('polling');
        const updates = longPoll(
          this.api as Api,
          {
            timeout: this.pollSeconds,
            allowedUpdates: ['message', 'callback_query'], // commands, and presses of the alerts' buttons
            onError: (err) => this.events.state('retrying', (err as Error).message),
          },
          signal,
        );
        for await (const update of updates) {
          failures = 0;
          try {
            await this.events.update(update);
          } catch (err) {
            this.events.state('polling', `a command failed: ${(err as Error).message}`);
          }
        }
      } catch (err) {
        if (signal.aborted) return;
        // longPoll retries transient errors itself; what reaches us is 4xx.
        failures++;
        const api = err instanceof TelegramApiError ? err : undefined;
        if (api?.errorCode === 409) this.events.state('conflict', api.description);
        else if (api?.errorCode === 401 || api?.errorCode === 404) this.events.state('unauthorized', api.description);
        else this.events.state('retrying', (err as Error).message);
        await sleep(backoffMs(failures, { baseMs: 2000, maxMs: 60_000 }), signal);
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
