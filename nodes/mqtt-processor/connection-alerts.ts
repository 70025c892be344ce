/**
 * Online/offline alerts with flap suppression: an offline alert waits
 * `debounceMs`; a reconnect inside that window cancels it, and then no online
 * alert is due either, because nobody was told the camera had gone.
 *
 * `connected` and `disconnected` return the alert that is due at once; an
 * offline alert due later goes to `announce`. What the user was told is
 * stored (camera_registry.connection_alert), so a restart inside the window
 * resumes the wait (`pending`) instead of forgetting the alert (issue 13, 17).
 */
export type ConnectionAlertKind = 'camera-online' | 'camera-offline';

interface DeviceLink {
  /** what the user was last told */
  announced?: 'online' | 'offline';
  offlineTimer?: NodeJS.Timeout;
}

export class ConnectionAlerts {
  private readonly devices = new Map<string, DeviceLink>();
  private suppressedCount = 0;

  constructor(
    private readonly debounceMs: number,
    private readonly announce: (deviceId: string, kind: ConnectionAlertKind, atMs: number) => void,
  ) {}

  /** What the user was told before a restart (from the database): no repeat alert for it. */
  assume(deviceId: string, state: 'online' | 'offline'): void {
    this.link(deviceId).announced = state;
  }

  connected(deviceId: string): ConnectionAlertKind | undefined {
    const link = this.link(deviceId);
    if (link.offlineTimer) {
      clearTimeout(link.offlineTimer);
      link.offlineTimer = undefined;
      this.suppressedCount++;
      return undefined;
    }
    if (link.announced === 'online') return undefined;
    link.announced = 'online';
    return 'camera-online';
  }

  disconnected(deviceId: string, atMs: number): ConnectionAlertKind | undefined {
    const link = this.link(deviceId);
    if (link.offlineTimer || link.announced === 'offline') return undefined;
    if (this.debounceMs <= 0) {
      link.announced = 'offline';
      return 'camera-offline';
    }
    this.wait(deviceId, link, atMs, this.debounceMs);
    return undefined;
  }

  /**
   * After a restart: the device went offline at `atMs` and nobody was told yet.
   * The offline alert follows after what is left of the debounce, `delayMs`.
   */
  pending(deviceId: string, atMs: number, delayMs: number): void {
    const link = this.link(deviceId);
    if (link.offlineTimer || link.announced === 'offline') return;
    this.wait(deviceId, link, atMs, Math.max(0, delayMs));
  }

  private wait(deviceId: string, link: DeviceLink, atMs: number, delayMs: number): void {
    link.offlineTimer = setTimeout(() => {
      link.offlineTimer = undefined;
      link.announced = 'offline';
      this.announce(deviceId, 'camera-offline', atMs);
    }, delayMs);
  }

  /** flaps whose alerts were suppressed since start */
  get suppressed(): number {
    return this.suppressedCount;
  }

  close(): void {
    for (const link of this.devices.values()) clearTimeout(link.offlineTimer);
    this.devices.clear();
  }

  private link(deviceId: string): DeviceLink {
    let link = this.devices.get(deviceId);
    if (!link) {
      link = {};
      this.devices.set(deviceId, link);
    }
    return link;
  }
}
