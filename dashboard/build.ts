/**
 * Bundles the dashboard for the browser (called by tsup.config.ts after the
 * Node build): dashboard/src/main.ts and everything it imports (uPlot, hls.js)
 * into dist/dashboard/, so the page works offline with no CDN. ES modules with
 * code splitting: hls.js, the largest part, loads only when a recording plays.
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
    // Names that change with the content: the browser keeps them for good (dashboard-server.ts) and
    // asks the server nothing about them on the next visit.
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    metafile: true,
  });
  cpSync(join(root, 'dashboard', 'static'), outDir, { recursive: true });
  nameAssets(join(outDir, 'index.html'), app.metafile!, outDir);
}

/**
 * The page names the script and style sheet by their built names, and the chunks the script imports
 * before it can run (code shared with the chunks it loads later) in its head (`modulepreload`), so
 * the browser fetches them beside the script instead of after reading it: one round trip less
 * before the first view.
 */
function nameAssets(html: string, meta: Metafile, outDir: string): void {
  const [script, entry] = Object.entries(meta.outputs).find(([, o]) => o.entryPoint?.endsWith('main.ts'))!;
  const chunks = entry.imports.filter((i) => i.kind === 'import-statement').map((i) => relative(outDir, i.path));
  const links = chunks.map((c) => `<link rel="modulepreload" href="${c}" />`).join('\n    ');
  let page = readFileSync(html, 'utf8');
  for (const [slot, built] of [
    [PRELOADS, links],
    ['href="app.css"', `href="${relative(outDir, entry.cssBundle!)}"`],
    ['src="app.js"', `src="${relative(outDir, script)}"`],
  ] as const) {
    if (!page.includes(slot)) throw new Error(`${html} has no ${slot} to name the built assets in`);
    page = page.replace(slot, built);
  }
  writeFileSync(html, page);
}

const PRELOADS = '<!-- modulepreload: the chunks app.js imports (build.ts) -->';
