/**
 * While a VBC01 camera is being started, what it is doing: the runtime's GET /api/live/:cameraId
 * polled once a second, each state in words (asking the camera, waiting for video, playing,
 * the camera did not answer).
 */
import type { LiveCameraState, LiveStateName } from '../../nodes/lib/contract/live';
import { getOptional } from './api';

const POLL_MS = 1000;

export const LIVE_STATE_TEXT: Record<LiveStateName, string> = {
  idle: 'Starting the live stream…',
  asking: 'Asking the camera to stream…',
  waiting: 'Waiting for video from the camera…',
  playing: 'The camera is streaming: connecting…',
  stalled: "The camera's video stalled: waiting for it…",
  failed: 'The camera did not answer',
  stopped: 'The live stream stopped',
};

/** The words for a state: a failure says its reason. */
export function liveStateText(s: Pick<LiveCameraState, 'state' | 'reason'>): string {
  if (s.state === 'failed' && s.reason) return `${s.reason.charAt(0).toUpperCase()}${s.reason.slice(1)}`;
  return LIVE_STATE_TEXT[s.state] ?? s.state;
}

export class LiveStateWatch {
  private timer?: number;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly show: (text: string) => void,
  ) {
    this.show(LIVE_STATE_TEXT.idle);
    void this.poll();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async poll(): Promise<void> {
    const s = await getOptional<LiveCameraState>(this.url).catch(() => undefined);
    if (this.stopped) return;
    // A state left over from an earlier stream says nothing about this one.
    if (s && s.state !== 'stopped' && s.state !== 'failed') this.show(liveStateText(s));
    this.timer = window.setTimeout(() => void this.poll(), POLL_MS);
  }
}
