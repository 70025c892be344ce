/**
 * `npm pack` of this package for the tests that install it the way users do. Under
 * `npm test` the PATH starts with node_modules/.bin, where Node-RED's own npm 10 sits;
 * that npm ran the `prepare` script (a full rebuild of dist/) despite --ignore-scripts,
 * pulling dist/ from under the tests running beside it. So the machine's npm is run, with
 * neither that PATH entry nor npm's npm_* variables.
 */
import { execFileSync } from 'node:child_process';
import { delimiter, join, sep } from 'node:path';

type Env = Record<string, string | undefined>;

const root = join(__dirname, '..', '..');

/** The environment of the machine's npm: no npm_* variables, no node_modules/.bin on the PATH; plus `extra`. */
export function withoutNpmVariables(extra: Env = {}): Env {
  const env: Env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.PATH = (env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes(`node_modules${sep}.bin`))
    .join(delimiter);
  return { ...env, ...extra };
}

/** Packs the package into `destination`; the tarball's path. */
export function packModule(destination: string): string {
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', destination], {
    cwd: root,
    encoding: 'utf8',
    env: withoutNpmVariables(),
  });
  return join(destination, out.trim().split('\n').at(-1)!);
}

/** The files `npm pack` would put in the tarball. */
export function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    env: withoutNpmVariables(),
  });
  const json = out.slice(out.search(/^\[/m));
  return new Set((JSON.parse(json) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((f) => f.path));
}
