import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { IN_CI } from './support/services.js';

// No container engine runs here: these checks read the Dockerfile and let docker-compose resolve compose.yaml,
// which catches what can be caught without building or starting anything.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** The Dockerfile as stages of instructions (continuations joined, comments dropped), global ARGs resolved. */
function parseDockerfile(text: string): Stage[] {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const globals = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const [image = '', , name] = args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      const from = image.replace(/\$\{?(\w+)\}?/g, (_, arg: string) => globals.get(arg) ?? '');
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0 && upper === 'ARG') {
      const [arg = '', value = ''] = args.split('=');
      globals.set(arg, value);
    } else {
      stages.at(-1)?.instructions.push({ keyword: upper, args });
    }
  }
  return stages;
}

const runs = (stage: Stage) => stage.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args);
const all = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** An exact release (`20.20.2`) or a digest: never `latest`, never a moving `20` or `20-slim`. */
const PINNED = /^[\w./-]+(:\d+\.\d+\.\d+[\w.-]*|@sha256:[0-9a-f]{64})$/;

describe('Dockerfile', () => {
  const stages = parseDockerfile(readFileSync(`${ROOT}Dockerfile`, 'utf8'));
  const build = stages[0] as Stage;
  const runtime = stages.at(-1) as Stage;

  it('is multi-stage, every base image pinned to an exact version', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) expect(stage.from, `FROM ${stage.from}`).toMatch(PINNED);
  });

  it('installs everything and builds in the build stage', () => {
    expect(runs(build).some((run) => /\bnpm ci\b/.test(run) && !run.includes('--omit=dev'))).toBe(true);
    expect(runs(build).some((run) => /\bnpm run build\b/.test(run))).toBe(true);
  });

  it('has only production dependencies in the runtime stage', () => {
    const installs = runs(runtime).filter((run) => /\bnpm (ci|install|i|prune)\b/.test(run));
    expect(installs.length).toBeGreaterThan(0);
    for (const run of installs) expect(run).toContain('--omit=dev');
    // node_modules copied from the build stage would bring the dev dependencies along.
    for (const copy of all(runtime, 'COPY')) expect(copy).not.toMatch(/node_modules/);
  });

  it('carries the built server with its Lua, the bundles and the migrations', () => {
    const copied = all(runtime, 'COPY').filter((copy) => copy.startsWith(`--from=${build.name}`));
    for (const folder of [
      'packages/protocol/dist',
      'packages/server/dist', // copy-lua.mjs puts the Lua under it during `npm run build`
      'packages/server/drizzle',
      'packages/demo/dist',
      'packages/admin/dist',
    ])
      expect(
        copied.some((copy) => copy.includes(folder)),
        folder,
      ).toBe(true);
  });

  it('runs as a non-root user, checks /healthz, exposes both ports and sets WORKERS', () => {
    const user = all(runtime, 'USER').at(-1);
    expect(user).toBeDefined();
    expect(user).not.toMatch(/^(root|0)(:|$)/);
    expect(all(runtime, 'HEALTHCHECK').join(' ')).toMatch(/\/healthz/);
    const exposed = all(runtime, 'EXPOSE').join(' ').split(/\s+/);
    expect(exposed).toEqual(expect.arrayContaining([expect.stringMatching(/^8080(\/tcp)?$/), '5555/udp']));
    expect(all(runtime, 'ENV').join(' ')).toMatch(/\bWORKERS=auto\b/);
  });
});

const hasCompose = spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).error === undefined;
if (!hasCompose && !IN_CI)
  console.log('skipping compose.yaml validation: docker-compose not found (apt-get install docker-compose)');

const SECRETS = {
  AUTH_SECRET: 'compose-test-auth-secret',
  SERVICE_KEY: 'compose-test-service-key',
  POSTGRES_PASSWORD: 'compose-test-password',
};

// An empty env file in place of a developer's own .env, which would hide a missing variable.
const EMPTY_DIR = mkdtempSync(join(tmpdir(), 'compose-test-'));
const EMPTY_ENV = join(EMPTY_DIR, '.env');
writeFileSync(EMPTY_ENV, '');
afterAll(() => rmSync(EMPTY_DIR, { recursive: true, force: true }));

/** `docker-compose config` with exactly these variables: no .env file and nothing from the caller's shell. */
function composeConfig(env: Record<string, string>) {
  return spawnSync('docker-compose', ['--env-file', EMPTY_ENV, '-f', 'compose.yaml', 'config'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
  });
}

describe.skipIf(!hasCompose && !IN_CI)('compose.yaml', () => {
  it('is valid for docker-compose: two replicas on healthy Redis and PostgreSQL with volumes', () => {
    const result = composeConfig(SECRETS);
    expect(result.error, 'docker-compose must be installed under CI').toBeUndefined();
    expect(result.status, result.stderr).toBe(0);
    const config = parse(result.stdout) as {
      services: Record<string, Record<string, unknown>>;
      volumes: Record<string, unknown>;
    };
    const presence = Object.keys(config.services).filter((name) => name.startsWith('presence'));
    expect(presence).toHaveLength(2);
    const published: string[] = [];
    for (const name of presence) {
      const service = config.services[name] as {
        environment: Record<string, string>;
        ports: Array<{ published: number | string; target: number; protocol: string }>;
        depends_on: Record<string, { condition: string }>;
      };
      expect(service.environment).toMatchObject({
        AUTH_SECRET: SECRETS.AUTH_SECRET,
        SERVICE_KEY: SECRETS.SERVICE_KEY,
        DATABASE_URL: expect.stringContaining(`:${SECRETS.POSTGRES_PASSWORD}@postgres:`),
        REDIS_URL: expect.stringMatching(/^redis:\/\/redis:/),
      });
      expect(service.ports.map((p) => `${p.target}/${p.protocol}`).sort()).toEqual(['5555/udp', '8080/tcp']);
      published.push(...service.ports.map((p) => `${p.published}/${p.protocol}`));
      expect(service.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
    expect(new Set(published).size).toBe(published.length);
    for (const store of ['postgres', 'redis']) {
      const service = config.services[store] as { healthcheck?: { test: string[] }; volumes?: unknown[] };
      expect(service.healthcheck?.test.length, `${store} healthcheck`).toBeGreaterThan(0);
      expect(service.volumes?.length, `${store} volume`).toBeGreaterThan(0);
    }
  });

  it('refuses to resolve without each secret, naming it', () => {
    for (const name of Object.keys(SECRETS)) {
      const result = composeConfig(Object.fromEntries(Object.entries(SECRETS).filter(([k]) => k !== name)));
      expect(result.error, 'docker-compose must be installed under CI').toBeUndefined();
      expect(result.status, name).not.toBe(0);
      expect(result.stderr).toContain(`set ${name}`);
    }
  });
});
