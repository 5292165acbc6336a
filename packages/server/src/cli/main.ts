#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { seedGraph } from '../db/seed.js';

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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'migrate': {
      const config = loadConfig();
      const database = await openDatabase(config);
      await database.migrate();
      await database.close();
      console.log(`migrations applied (${database.kind})`);
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
      await database.migrate();
      const result = await seedGraph(database.db, {
        users,
        friendsPerUser: positiveInt('friends', values.friends, 10),
        conversations: positiveInt('conversations', values.conversations, Math.max(1, Math.floor(users / 2))),
      });
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
