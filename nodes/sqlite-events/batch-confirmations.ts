/**
 * Write confirmations per transaction instead of per record ("confirmations:
 * batch"). The cloud flow feeds the dashboard from the store's output 1: one
 * message per record cost each record three more trips through Node-RED (the
 * link out, the link in, the feed node), each with its hooks, metrics and a
 * setImmediate, about a tenth of the runtime's CPU per ingested message, and it
 * held the device's acknowledgement until the dashboard had seen the record.
 *
 * A committed batch completes its records' callbacks in one synchronous run
 * (BatchWriter.commit); what `add` collects in that run leaves as one message
 * on the microtask right after it. The message carries no receipt: the device's
 * acknowledgement waits for the COMMIT, not for the dashboard.
 */
import type { StoreRecord } from '../lib/types';

export class BatchConfirmations {
  private pending: StoreRecord[] | undefined;

  constructor(private readonly send: (records: StoreRecord[]) => void) {}

  /** `record` is committed: it leaves with the others committed in the same run. */
  add(record: StoreRecord): void {
    if (!this.pending) {
      this.pending = [];
      queueMicrotask(() => this.flush());
    }
    this.pending.push(record);
  }

  private flush(): void {
    const records = this.pending;
    this.pending = undefined;
    if (records?.length) this.send(records);
  }
}
