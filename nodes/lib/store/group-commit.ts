/**
 * Group commit for callers that each want "my items are committed": calls that
 * arrive while a transaction runs, or in the same tick, are committed together
 * in the next one, and each call resolves with its own results. The commit is
 * the wait, as in the batch writer: nothing is held back when nothing runs.
 *
 * A failed transaction is tried again call by call, so one call that can never
 * be written (its own bad item) fails alone and its neighbours are committed;
 * a failure that is not one call's (a full disk) fails each of them in turn.
 */
type Commit<I, R> = (groups: I[]) => Promise<R[]>;

interface Waiting<I, R> {
  items: I;
  resolve: (r: R) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<I, R> {
  private waiting: Array<Waiting<I, R>> = [];
  private running = false;

  /** `commit` writes the groups in one transaction and returns their results in order. */
  constructor(private readonly commit: Commit<I, R>) {}

  add(items: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ items, resolve, reject });
      if (this.waiting.length === 1 && !this.running) queueMicrotask(() => void this.run());
    });
  }

  private async run(): Promise<void> {
    if (this.running || this.waiting.length === 0) return;
    this.running = true;
    const group = this.waiting;
    this.waiting = [];
    try {
      await this.commitGroup(group);
    } finally {
      this.running = false;
      // What arrived during the commit is due now: the commit was its wait.
      if (this.waiting.length > 0) void this.run();
    }
  }

  private async commitGroup(group: Array<Waiting<I, R>>): Promise<void> {
    try {
      const results = await this.commit(group.map((w) => w.items));
      group.forEach((w, i) => w.resolve(results[i]!));
      return;
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
    }
    for (const w of group) {
      try {
        w.resolve((await this.commit([w.items]))[0]!);
      } catch (err) {
        w.reject(err);
      }
    }
  }
}
