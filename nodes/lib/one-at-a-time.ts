/**
 * Tasks of one key run one after another, in the order asked; tasks of other keys run beside them.
 * Two parts of one event must not race to move files, nor two adds of one camera to start two
 * pipelines (the second overwrote the first, which ran on with nothing left to stop it).
 */
export class OneAtATime {
  private readonly busy = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const before = this.busy.get(key) ?? Promise.resolve();
    const run = before.then(task, task);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.busy.set(key, settled);
    void settled.then(() => this.busy.get(key) === settled && this.busy.delete(key));
    return run;
  }
}
