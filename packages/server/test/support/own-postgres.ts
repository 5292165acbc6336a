import { execFile } from 'node:child_process';
import { chown, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './processes.js';
import { IN_CI } from './services.js';

const run = promisify(execFile);
const POSTGRES_ROOT = '/usr/lib/postgresql';

/**
 * The folder of the machine's initdb and pg_ctl: `PG_BIN` when set, else the newest
 * `/usr/lib/postgresql/<version>/bin` (Debian's layout), else null. PostgreSQL refuses to run as root, so
 * under root the commands run as the `postgres` user (`runuser`), which must exist.
 */
export async function postgresBinaries(): Promise<string | null> {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  try {
    const versions = (await readdir(POSTGRES_ROOT)).filter((v) => /^\d+$/.test(v));
    versions.sort((a, b) => Number(b) - Number(a));
    return versions.length > 0 ? join(POSTGRES_ROOT, versions[0] as string, 'bin') : null;
  } catch {
    return null;
  }
}

/** Whether the test may start a PostgreSQL cluster of its own; under CI a missing one fails the suite. */
export async function canRunOwnPostgres(): Promise<boolean> {
  const bin = await postgresBinaries();
  let why: string | null = bin === null ? `no PostgreSQL binaries under ${POSTGRES_ROOT} (set PG_BIN)` : null;
  if (why === null && process.getuid?.() === 0) {
    try {
      await run('id', ['-u', 'postgres']);
    } catch {
      why = 'running as root and there is no postgres user to run PostgreSQL as';
    }
  }
  if (why === null) return true;
  if (IN_CI) throw new Error(`${why}: under CI this suite must run`);
  console.log(`skipping own-PostgreSQL tests: ${why}`);
  return false;
}

/**
 * A PostgreSQL cluster of the test's own (initdb under a temp folder, a free port, trust auth for 127.0.0.1),
 * which the test may stop and start again like an operator would: `stop()` is `pg_ctl stop -m fast`, the
 * server going away with its connections; `start()` brings it back on the same port and data.
 */
export class OwnPostgres {
  private constructor(
    private readonly bin: string,
    private readonly dir: string,
    readonly port: number,
    private readonly owner: { uid: number; gid: number } | null,
  ) {}

  /** Creates and starts a fresh cluster. */
  static async create(): Promise<OwnPostgres> {
    const bin = await postgresBinaries();
    if (bin === null) throw new Error('no PostgreSQL binaries found (set PG_BIN)');
    const dir = await mkdtemp(join(tmpdir(), 'presence-pg-'));
    let owner: { uid: number; gid: number } | null = null;
    if (process.getuid?.() === 0) {
      const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
      const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
      owner = { uid, gid };
      await chown(dir, uid, gid);
    }
    const cluster = new OwnPostgres(bin, dir, await freePort(), owner);
    try {
      await cluster.exec('initdb', [
        '-D',
        cluster.dataDir,
        '-U',
        'postgres',
        '--auth=trust',
        '--no-sync',
        '-E',
        'UTF8',
      ]);
      await cluster.start();
    } catch (error) {
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
    return cluster;
  }

  private get dataDir(): string {
    return join(this.dir, 'data');
  }

  /** The `postgres` database of this cluster, as superuser `postgres` (trust). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** Starts the server and waits until it accepts connections. */
  async start(): Promise<void> {
    const options = [
      `-p ${this.port}`,
      `-k ${this.dir}`,
      "-c listen_addresses='127.0.0.1'",
      '-c fsync=off',
      '-c full_page_writes=off',
      '-c synchronous_commit=off',
    ].join(' ');
    await this.exec('pg_ctl', [
      'start',
      '-D',
      this.dataDir,
      '-l',
      join(this.dir, 'server.log'),
      '-w',
      '-t',
      '30',
      '-o',
      options,
    ]);
  }

  /** Stops the server (fast: open connections are cut, as when an operator or a crash takes it away). */
  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'fast', '-w', '-t', '30']);
  }

  /** Stops the server if it runs and deletes its folder. */
  async destroy(): Promise<void> {
    await this.exec('pg_ctl', ['stop', '-D', this.dataDir, '-m', 'immediate', '-w']).catch(() => {});
    await rm(this.dir, { recursive: true, force: true });
  }

  private async exec(command: string, args: string[]): Promise<void> {
    const path = join(this.bin, command);
    const [file, argv] =
      this.owner === null ? [path, args] : ['runuser', ['-u', 'postgres', '--', path, ...args]];
    try {
      await run(file, argv, { cwd: this.dir, timeout: 60_000 });
    } catch (error) {
      const e = error as Error & { stderr?: string; stdout?: string };
      throw new Error(`${command} ${args[0]} failed: ${e.stderr || e.stdout || e.message}`);
    }
  }
}
