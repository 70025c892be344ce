/**
 * `deploy` and `rollback` to several runtimes (issue 21: a cluster's runtimes run one flow, and
 * HAProxy sends a request to any of them). `--url` given more than once, or a list separated by
 * commas or spaces (also in PICAM_DEPLOY_URL).
 *
 * A deploy first checks every runtime as a dry run would, without printing it: reachable, the
 * login accepted, the modules there, no downgrade and no other flow. If any refuses, nothing is
 * deployed anywhere. Then each runtime in turn, its lines under a heading, and one line per
 * runtime at the end. A runtime that fails then (someone deployed meanwhile, the connection
 * dropped) does not stop the others: leaving the rest on the old flow would split the cluster
 * further. The command then fails (exit 1) naming it, and `deploy` again with its URL alone
 * retries it.
 */
import { DeployError, deploy, rollback, type DeployOptions, type DeployResult, type RollbackOptions } from './deploy';

/** The runtimes' addresses: each `--url` value and PICAM_DEPLOY_URL may hold several. */
export function parseUrls(values: readonly string[]): string[] {
  const urls = values.flatMap((v) => v.split(/[\s,]+/)).filter(Boolean);
  const seen = new Set<string>();
  for (const url of urls) {
    const key = url.replace(/\/+$/, '');
    if (seen.has(key)) throw new DeployError(`${url} is listed twice`);
    seen.add(key);
  }
  return urls;
}

export interface ManyIo {
  out(line: string): void;
}

/** What happened on one runtime. */
export interface RuntimeOutcome {
  url: string;
  result?: DeployResult;
  error?: Error;
}

/** Thrown when a runtime failed: the message says which, for the command's one-line error. */
export class SomeRuntimesFailed extends DeployError {
  constructor(readonly outcomes: RuntimeOutcome[]) {
    const failed = outcomes.filter((o) => o.error);
    super(
      `${failed.length} of ${outcomes.length} runtimes failed: ${failed.map((o) => `${o.url}: ${o.error!.message}`).join('; ')}` +
        (failed.length < outcomes.length ? ' (the others were deployed: deploy again to the failed ones alone)' : ''),
    );
  }
}

const outcomeLine = (o: RuntimeOutcome): string => {
  if (o.error) return `  ${o.url}: FAILED: ${o.error.message}`;
  const r = o.result!;
  return `  ${o.url}: ${r.deployed ? `deployed ${r.version} (rev ${r.rev.slice(0, 12)})` : `not deployed, at ${r.version} (rev ${r.rev.slice(0, 12)})`}`;
};

/** Deploys `o` to every URL; resolves to each runtime's outcome, or throws when any failed. */
export async function deployToAll(urls: readonly string[], o: Omit<DeployOptions, 'url'>, io: ManyIo): Promise<RuntimeOutcome[]> {
  if (o.rev !== undefined) throw new DeployError('--rev names one runtime’s revision: give it with one --url only');
  // Every runtime checked first: one that refuses stops the deploy before anything changed.
  const refusals: string[] = [];
  for (const url of urls) {
    await deploy({ ...o, url, dryRun: true, log: () => undefined }).catch((err: Error) => refusals.push(`${url}: ${err.message}`));
  }
  if (refusals.length > 0) throw new DeployError(`nothing deployed: ${refusals.join('; ')}`);
  if (o.dryRun) io.out(`dry run on ${urls.length} runtimes: nothing deployed`);
  const outcomes: RuntimeOutcome[] = [];
  for (const [i, url] of urls.entries()) {
    io.out(`== runtime ${i + 1} of ${urls.length}: ${url}`);
    try {
      outcomes.push({ url, result: await deploy({ ...o, url, log: io.out }) });
    } catch (err) {
      io.out(`failed: ${(err as Error).message}`);
      outcomes.push({ url, error: err as Error });
    }
  }
  const done = outcomes.filter((x) => x.result?.deployed).length;
  io.out(`${o.dryRun ? 'dry run' : `deployed to ${done} of ${urls.length} runtimes`}:`);
  for (const x of outcomes) io.out(outcomeLine(x));
  if (outcomes.some((x) => x.error)) throw new SomeRuntimesFailed(outcomes);
  return outcomes;
}

/** Rolls back every URL in turn (each to the flows its own last deploy replaced); throws when any failed. */
export async function rollbackAll(urls: readonly string[], o: Omit<RollbackOptions, 'url'>, io: ManyIo): Promise<void> {
  const failed: string[] = [];
  for (const [i, url] of urls.entries()) {
    io.out(`== runtime ${i + 1} of ${urls.length}: ${url}`);
    await rollback({ ...o, url, log: io.out }).catch((err: Error) => {
      io.out(`failed: ${err.message}`);
      failed.push(`${url}: ${err.message}`);
    });
  }
  if (failed.length > 0) throw new DeployError(`${failed.length} of ${urls.length} runtimes failed: ${failed.join('; ')}`);
}
