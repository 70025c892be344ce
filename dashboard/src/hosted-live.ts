/**
 * Live video of a camera hosted by a Pi (`{pi}.{camera}`, docs/ipcam.md "On the
 * Pi"): the cloud cannot reach the camera, so its Pi relays it to MediaMTX, and
 * only while asked. While the player is open this asks (`POST
 * /api/control/live/{id}`) at once and again every seconds/2; the Pi stops
 * relaying `seconds` after the last request, so a closed tab ends the relay by
 * itself. The player meanwhile plays WHEP from MediaMTX's path `{pi}.{camera}`,
 * trying again every few seconds until the Pi's stream appears there.
 */
import { API_PATHS, apiUrl } from '../../nodes/lib/contract/api-paths';
import { LIVE_RELAY_DEFAULT_SECONDS } from '../../nodes/lib/contract/live-relay';
import { ApiFailure, post } from './api';

/** How often the player looks for the relayed stream while the Pi starts it. */
export const RELAY_RETRY_MS = 2000;

/**
 * A camera hosted by a Pi (`{pi}.{camera}`: the dot is in no plain device id, nodes/lib/hosted-devices.ts,
 * which the browser bundle cannot import: it pulls in Node's types): its live video exists only while asked for.
 */
export const isHostedCamera = (cameraId: string): boolean => /^[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_-]{1,64}$/.test(cameraId);

export class HostedRelay {
  private timer?: number;
  private stopped = false;

  constructor(
    private readonly deviceId: string,
    private readonly say: (text: string, state: 'busy' | 'down') => void,
    private readonly seconds = LIVE_RELAY_DEFAULT_SECONDS,
  ) {}

  /** Asks now, then every seconds/2 until stop(). Resolves false when the cloud refused (the reason is shown). */
  async start(): Promise<boolean> {
    this.say('Asking the Pi to relay…', 'busy');
    const refused = await this.ask();
    if (refused) {
      this.stop();
      this.say(`No live video: ${refused}`, 'down');
      return false;
    }
    if (!this.stopped) this.timer = window.setInterval(() => void this.ask(), (this.seconds * 1000) / 2);
    return !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** What to say while the Pi's stream has not appeared yet. */
  waiting(why: string): string {
    return `Asking the Pi to relay… (${why}; looking again in ${RELAY_RETRY_MS / 1000} s)`;
  }

  /** Why the cloud refused (4xx: asking again would not help), else undefined (accepted, or try again later). */
  private async ask(): Promise<string | undefined> {
    try {
      await post(apiUrl(API_PATHS.controlLive, { id: this.deviceId }), { seconds: this.seconds });
      return undefined;
    } catch (err) {
      if (err instanceof ApiFailure && err.status >= 400 && err.status < 500) return err.message;
      return undefined; // the server is away a moment: the next request (or the retrying player) covers it
    }
  }
}
