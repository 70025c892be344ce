/**
 * Online/offline alerts with flap suppression: an offline alert waits
 * `debounceMs`; a reconnect inside that window cancels it, and then no online
 * alert is due either, because nobody was told the camera had gone.
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

  connected(deviceId: string, atMs: number): void {
    const link = this.link(deviceId);
    if (link.offlineTimer) {
      clearTimeout(link.offlineTimer);
      link.offlineTimer = undefined;
      this.suppressedCount++;
      return;
    }
    if (link.announced !== 'online') {
      link.announced = 'online';
      this.announce(deviceId, 'camera-online', atMs);
    }
  }

  disconnected(deviceId: string, atMs: number): void {
    const link = this.link(deviceId);
    if (link.offlineTimer || link.announced === 'offline') return;
    if (this.debounceMs <= 0) {
      link.announced = 'offline';
      this.announce(deviceId, 'camera-offline', atMs);
      return;
    }
    link.offlineTimer = setTimeout(() => {
      link.offlineTimer = undefined;
      link.announced = 'offline';
      this.announce(deviceId, 'camera-offline', atMs);
    }, this.debounceMs);
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
