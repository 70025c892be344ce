/**
 * Hosted cameras follow their host (nodes/lib/hosted-devices.ts). A Pi reports
 * the IP cameras on its LAN; when the Pi itself goes (its Last Will, or its
 * own `disconnected`), nothing more can come from them, so they are marked
 * disconnected too and get their offline alert after the usual grace period.
 * When the Pi returns, the cameras it took down with it are restored to
 * connected: whatever changed meanwhile follows from the Pi's outbox, which
 * replays the cameras' own messages after the Pi's connection.
 *
 * Only what this runtime saw is known: after a restart a camera marked
 * down with its host is restored by its own next connection message.
 */
import { splitHostedId } from '../lib/hosted-devices';

export class HostedCameras {
  /** hosted camera id → connected (true), disconnected by itself (false) or with its host ('host') */
  private readonly state = new Map<string, boolean | 'host'>();

  /** A hosted camera's own connection message. */
  camera(deviceId: string, connected: boolean): void {
    if (splitHostedId(deviceId)) this.state.set(deviceId, connected);
  }

  /** A host went: the cameras that were connected, now down with it. */
  hostDown(hostId: string): string[] {
    return this.ofHost(hostId, (s) => s === true, 'host');
  }

  /** A host came back: the cameras it took down, now connected again. */
  hostUp(hostId: string): string[] {
    return this.ofHost(hostId, (s) => s === 'host', true);
  }

  private ofHost(hostId: string, match: (s: boolean | 'host') => boolean, next: boolean | 'host'): string[] {
    const changed: string[] = [];
    for (const [id, s] of this.state) {
      if (splitHostedId(id)?.hostId !== hostId || !match(s)) continue;
      this.state.set(id, next);
      changed.push(id);
    }
    return changed;
  }
}
