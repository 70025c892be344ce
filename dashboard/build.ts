/**
 * Bundles the dashboard for the browser (called by tsup.config.ts after the
 * Node build): dashboard/src/main.ts and everything it imports (uPlot, hls.js)
 * into dist/dashboard/, so the page works offline with no CDN. ES modules with
 * code splitting: hls.js, the largest part, loads only when a recording plays. And first.js,
 * which sends the first view's requests while app.js loads (first-view.ts).
 */
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';

export async function buildDashboard(root: string, outDir = join(root, 'dist', 'dashboard')): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  const common: BuildOptions = {
    outdir: outDir,
    bundle: true,
    platform: 'browser',
    // What Chromium, Firefox and Safari of the last few years run.
    target: ['chrome100', 'firefox100', 'safari15'],
    minify: true,
    // No source maps in the package: a browser has no use for them, and the sources are in the repository.
    sourcemap: false,
    tsconfig: join(root, 'dashboard', 'tsconfig.json'),
    logLevel: 'warning',
    legalComments: 'linked',
  };
  const app = await build({
    ...common,
    entryPoints: { app: join(root, 'dashboard', 'src', 'main.ts') },
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
  });
  // The first view's early requests (first-view.ts): one small classic script of its own, no chunk to wait for.
  await build({ ...common, entryPoints: { first: join(root, 'dashboard', 'src', 'early-requests.ts') }, format: 'iife' });
  cpSync(join(root, 'dashboard', 'static'), outDir, { recursive: true });
  namePreloads(join(outDir, 'index.html'), staticImports(app.metafile!, outDir));
}

/** The chunks app.js imports before it can run (code shared with the chunks it loads later). */
function staticImports(meta: Metafile, outDir: string): string[] {
  const entry = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith('main.ts'));
  return (entry?.[1].imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => relative(outDir, i.path));
}

/**
 * The page names them in its head (`modulepreload`), so the browser fetches them beside app.js
 * instead of after reading it: one round trip less before the first view.
 */
function namePreloads(html: string, chunks: string[]): void {
  const links = chunks.map((c) => `<link rel="modulepreload" href="${c}" />`).join('\n    ');
  const page = readFileSync(html, 'utf8');
  if (!page.includes(PRELOADS)) throw new Error(`${html} has no ${PRELOADS} to put the chunks' preloads in`);
  writeFileSync(html, page.replace(PRELOADS, links));
}

const PRELOADS = '<!-- modulepreload: the chunks app.js imports (build.ts) -->';
