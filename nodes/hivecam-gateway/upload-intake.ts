/**
 * One upload from arrival to the database, whichever route it came by (the
 * VBC01 fileservice PUT or the older /hivecam/upload): the body is written to
 * a temporary ZIP under the limits, handed to the route's `accept`, and the
 * temporary removed. Every refusal on the way is reported once, with the ids
 * known at that point.
 */
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import type { AcceptedUpload } from './accept-upload';
import { receiveUpload, type ReceivedUpload, type ReceiveOptions, type UploadIds } from './upload-receiver';

export interface UploadIntake {
  /** the receiver's limits and its camera check */
  receive: Omit<ReceiveOptions, 'rawZip'>;
  /** an upload refused while receiving or accepting */
  rejected(ids: Partial<UploadIds>, err: Error): void;
  /** an upload stored */
  accepted(upload: AcceptedUpload): void;
}

/**
 * `known`: the ids as the request's path or query gave them, for reporting a
 * body refused before its own ids were read. `rawZip`: the body is the ZIP
 * whatever its Content-Type says (a presigned PUT).
 */
export async function takeUpload(
  req: IncomingMessage,
  query: URLSearchParams,
  known: Partial<UploadIds>,
  rawZip: boolean,
  accept: (received: ReceivedUpload) => Promise<AcceptedUpload>,
  intake: UploadIntake,
): Promise<AcceptedUpload> {
  let received: ReceivedUpload;
  try {
    received = await receiveUpload(req, query, { ...intake.receive, rawZip });
  } catch (err) {
    intake.rejected(known, err as Error);
    throw err;
  }
  try {
    const accepted = await accept(received);
    intake.accepted(accepted);
    return accepted;
  } catch (err) {
    intake.rejected(received, err as Error);
    throw err;
  } finally {
    await rm(received.zipPath, { force: true });
  }
}
