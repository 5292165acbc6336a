// Bundles the demo into dist/ (index.html, app.js, styles.css), the files the server serves at `/`.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, '..');

/** Points workspace packages at their TypeScript sources, so the demo builds without building them first. */
const workspaceSources = {
  name: 'workspace-sources',
  setup(builder) {
    builder.onResolve({ filter: /^@presence\/(client|protocol)$/ }, (args) => ({
      path: join(packages, args.path.slice('@presence/'.length), 'src', 'index.ts'),
    }));
  },
};

/**
 * Builds the demo and returns the output folder.
 *
 * @param {{ outdir?: string, minify?: boolean }} [options]
 * @returns {Promise<string>}
 */
export async function buildDemo(options = {}) {
  const outdir = options.outdir ?? join(here, 'dist');
  await mkdir(outdir, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.ts')],
    outfile: join(outdir, 'app.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: options.minify ?? true,
    plugins: [workspaceSources],
    logLevel: 'warning',
  });
  await Promise.all(
    ['index.html', 'styles.css'].map((file) => copyFile(join(here, file), join(outdir, file))),
  );
  return outdir;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outdir = await buildDemo();
  console.log(`demo built into ${outdir}`);
}
