#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sql } from 'drizzle-orm';
import { ConfigError, loadConfig } from '../config.js';
import { type Database, MIGRATIONS_FOLDER, openDatabase } from '../db/database.js';
import { seedGraph } from '../db/seed.js';
import { createProgress } from './progress.js';

const USAGE = `usage: presence <command> [options]

commands:
  serve                 start the server (what npm start runs)
  migrate               apply the database migrations (DATABASE_URL, else PGlite in DATA_DIR)
  seed [--users N] [--friends K] [--conversations C]
                        build a synthetic social graph (defaults: 10000 users, 10 friends, users/2 conversations)
  token <user_id> [--ttl SECONDS]
                        print a user token signed with AUTH_SECRET (default TTL 86400 s)

Configuration comes from the environment: see the README's options table.`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^[0-9]+$/.test(raw) || Number(raw) < 1)
    throw new UsageError(`--${name} expects a positive whole number`);
  return Number(raw);
}

class UsageError extends Error {}

/** The `when` of each committed migration: Drizzle applies those later than the newest one it recorded. */
async function committedMigrations(): Promise<number[]> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: Array<{ when: number }>;
  };
  return journal.entries.map((entry) => entry.when);
}

async function newestApplied(database: Database): Promise<number> {
  type Rows = { rows: Array<{ value: string | number | null }> };
  const exists = (await database.db.execute(
    sql`select to_regclass('drizzle.__drizzle_migrations')::text as value`,
  )) as unknown as Rows;
  if (!exists.rows[0]?.value) return 0;
  const newest = (await database.db.execute(
    sql`select max(created_at) as value from drizzle.__drizzle_migrations`,
  )) as unknown as Rows;
  return Number(newest.rows[0]?.value ?? 0);
}

/**
 * Applies the migrations with progress on stderr. Drizzle runs the pending ones in one transaction and says
 * nothing until it ends, so the line counts them before and after and shows the time spent meanwhile (a
 * migration that rewrites a big table may take minutes, and a silent terminal looks hung).
 */
async function migrateWithProgress(database: Database): Promise<{ applied: number; total: number }> {
  const committed = await committedMigrations();
  const before = await newestApplied(database);
  const pending = committed.filter((when) => when > before).length;
  const progress = createProgress({ label: 'migrate', total: pending, unit: 'migrations', showRate: false });
  const started = Date.now();
  const tick = () =>
    progress.update(0, { note: `applying, ${Math.round((Date.now() - started) / 1000)} s so far` });
  if (pending > 0) tick();
  const ticker = setInterval(tick, 1_000);
  try {
    await database.migrate();
  } finally {
    clearInterval(ticker);
  }
  const after = await newestApplied(database);
  const applied = committed.filter((when) => when > before && when <= after).length;
  progress.finish(`${applied} applied, ${committed.length - pending} were already applied`);
  return { applied, total: committed.length };
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const config = loadConfig();
      const database = await openDatabase(config);
      const { applied, total } = await migrateWithProgress(database);
      await database.close();
      console.log(`migrations applied (${database.kind}): ${applied} new, ${total} in all`);
      return 0;
    }
    case 'seed': {
      const { values } = parseArgs({
        args: rest,
        options: {
          users: { type: 'string' },
          friends: { type: 'string' },
          conversations: { type: 'string' },
        },
      });
      const config = loadConfig();
      const users = positiveInt('users', values.users, 10_000);
      const database = await openDatabase(config);
      await migrateWithProgress(database);
      let progress: ReturnType<typeof createProgress> | undefined;
      const result = await seedGraph(database.db, {
        users,
        friendsPerUser: positiveInt('friends', values.friends, 10),
        conversations: positiveInt('conversations', values.conversations, Math.max(1, Math.floor(users / 2))),
        onProgress(done, total) {
          progress ??= createProgress({ label: 'seed', total, unit: 'rows' });
          progress.update(done);
        },
      });
      progress?.finish();
      await database.close();
      console.log(
        `seeded ${result.users} users, ${result.follows} follows, ${result.conversations} conversations ` +
          `(${result.participants} participants) in ${result.ms} ms on ${database.kind}`,
      );
      return 0;
    }
    case 'serve': {
      const { serve } = await import('./serve.js');
      await serve(loadConfig());
      return -1;
    }
    case 'token': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { ttl: { type: 'string' } },
      });
      const userId = positiveInt('user_id', positionals[0], 0);
      if (userId === 0) throw new UsageError('token needs a user id');
      const { tokenSecret } = await import('../auth/secret.js');
      const { signUserToken } = await import('../auth/tokens.js');
      const config = loadConfig();
      const secret = await tokenSecret(config);
      console.log(await signUserToken(secret, userId, positiveInt('ttl', values.ttl, 86_400)));
      return 0;
    }
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(`presence: ${error.message}`);
      process.exitCode = 78; // EX_CONFIG
    } else if (error instanceof UsageError) {
      console.error(`presence: ${error.message}\n\n${USAGE}`);
      process.exitCode = 64; // EX_USAGE
    } else {
      console.error('presence: failed:', error);
      process.exitCode = 1;
    }
  },
);
