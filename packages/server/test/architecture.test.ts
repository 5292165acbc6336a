import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The shape of the code, checked: the core depends on nothing but itself and the protocol, no module imports
 * itself back through a cycle, and no source file grows past the size a reader takes in at once.
 */

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['protocol', 'server', 'client', 'demo', 'react', 'admin'].map((p) =>
  join(ROOT, 'packages', p, 'src'),
);
const MAX_LINES = 400;

function sources(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports of a file, resolved to source paths (`./x.js` is `./x.ts` in the sources). */
function localImports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/g)].map(
    (m) => m[1] as string,
  );
  return specifiers.map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

const files = PACKAGES.flatMap(sources);
const rel = (path: string) => relative(ROOT, path);

describe('code shape', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThan(40);
  });

  it('keeps the core free of backends and transports', () => {
    const core = join(ROOT, 'packages/server/src/core');
    const outside = files
      .filter((f) => f.startsWith(core))
      .flatMap((f) =>
        localImports(f)
          .filter((target) => !target.startsWith(core))
          .map((t) => `${rel(f)} → ${rel(t)}`),
      );
    expect(outside).toEqual([]);
  });

  it('has no circular imports', () => {
    const graph = new Map(files.map((f) => [f, localImports(f)]));
    const cycles: string[] = [];
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'visiting') {
        cycles.push([...path.slice(path.indexOf(file)), file].map(rel).join(' → '));
        return;
      }
      state.set(file, 'visiting');
      for (const next of graph.get(file) ?? []) if (graph.has(next)) visit(next, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(cycles).toEqual([]);
  });

  it(`keeps every source file under ${MAX_LINES} lines`, () => {
    const long = files
      .map((f) => [rel(f), readFileSync(f, 'utf8').split('\n').length] as const)
      .filter(([, lines]) => lines > MAX_LINES);
    expect(long).toEqual([]);
  });
});
