/**
 * How one kind of live source is started and stopped for a bridge stream: the camera session
 * (camera-session.ts) owns the states, timers and viewers; a driver only makes its source send
 * to the stream's ports and stop again. Two kinds: a VBC01 asked over MQTT (vbc01-driver.ts)
 * and an RTSP stream copied by ffmpeg (rtsp-driver.ts).
 */
import type { LiveStream, LiveStreamOptions } from '../lib/live/bridge-types';

/** What a driver tells its session. */
export interface DriverHost {
  /** the source took the request (the broker took stream/play; ffmpeg runs): waiting for video */
  asked(): void;
  /** the source cannot stream: the session ends as failed with this one-line reason */
  failed(reason: string): void;
}

/** The bridge's checks that depend on the kind of source (which SSRCs; RTCP back or not). */
export type SourceChecks = Pick<LiveStreamOptions, 'videoSsrc' | 'audioSsrc' | 'sendRtcp'>;

export interface StreamDriver {
  /** for logs: "VBC01", "RTSP" */
  readonly kind: string;
  readonly checks: SourceChecks;
  /** keepalives sent to the camera so far (a VBC01 only) */
  readonly keepalivesSent?: number;
  /** Starts the source sending to `stream`'s ports (called once, after the stream opened). */
  begin(stream: LiveStream, host: DriverHost): void;
  /** The session ended: stop the source (stream/stop, the copy killed); resolves once it is stopped. */
  end(): Promise<void>;
  /** Why there is no video `seconds` after begin. */
  noAnswer(seconds: number): string;
  /** Why the video stopped for `seconds` while playing. */
  stoppedSending(seconds: number): string;
  /** command-sender's report on one of our commands (only a VBC01 has commands). */
  commandOutcome?(requestId: string, outcome: string, why?: string): void;
}

/** Makes the driver of one camera's stream (`streamId`: the session's, for the camera's commands). */
export type DriverFactory = (cameraId: string, streamId: string) => StreamDriver;
