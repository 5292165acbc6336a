import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const packages = join(here, '..', '..', '..');

/** Points workspace packages at their TypeScript sources, so the page builds without building them first. */
const workspaceSources: Plugin = {
  name: 'workspace-sources',
  setup(builder) {
    builder.onResolve({ filter: /^@presence\/(client|protocol)$/ }, (args) => ({
      path: join(packages, args.path.slice('@presence/'.length), 'src', 'index.ts'),
    }));
  },
};

/** The test page's HTML: it loads `app.js` from the same folder. */
export const PAGE_HTML =
  '<!doctype html><html lang="en"><meta charset="utf-8"><title>@presence/react test page</title>' +
  '<div id="root"></div><script type="module" src="app.js"></script></html>';

/**
 * Bundles the test page (React in its production build, the bindings, the SDK) in memory: the test serves
 * it straight from here, so nothing is written to disk.
 */
export async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [join(here, 'app.ts')],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [workspaceSources],
    logLevel: 'warning',
  });
  const [output] = result.outputFiles;
  if (!output) throw new Error('esbuild produced no output');
  return output.text;
}
