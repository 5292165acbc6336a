// Bundles the operations page into dist/ (index.html, app.js, app.css), the files the server serves at `/admin`.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, '..');

/** Points workspace packages at their TypeScript sources, so the page builds without building them first. */
const workspaceSources = {
  name: 'workspace-sources',
  setup(builder) {
    builder.onResolve({ filter: /^@presence\/protocol$/ }, (args) => ({
      path: join(packages, args.path.slice('@presence/'.length), 'src', 'index.ts'),
    }));
  },
};

/**
 * Builds the operations page and returns the output folder. The chart library and the styles go into the
 * bundle, so the page loads nothing from anywhere but the service.
 *
 * @param {{ outdir?: string, minify?: boolean }} [options]
 * @returns {Promise<string>}
 */
export async function buildAdmin(options = {}) {
  const outdir = options.outdir ?? join(here, 'dist');
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: { app: join(here, 'src', 'main.ts') },
    outdir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    plugins: [workspaceSources],
    logLevel: 'warning',
  });
  await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildAdmin();
  console.log(`operations page built into ${outdir}`);
}
