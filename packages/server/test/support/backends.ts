import { type Database, openDatabase } from '../../src/db/database.js';
import { createTestDatabase, hasPostgres } from './services.js';

export interface DatabaseBackend {
  name: 'pglite' | 'postgres';
  available: boolean;
  /** Opens a fresh, migrated database; `cleanup` drops it. */
  open(): Promise<{ database: Database; url?: string; cleanup(): Promise<void> }>;
}

/** The two database backends every repository suite runs against. */
export async function databaseBackends(): Promise<DatabaseBackend[]> {
  const postgres = await hasPostgres();
  return [
    {
      name: 'pglite',
      available: true,
      async open() {
        const database = await openDatabase({ dataDir: 'memory://' });
        await database.migrate();
        return { database, cleanup: () => database.close() };
      },
    },
    {
      name: 'postgres',
      available: postgres,
      async open() {
        const temp = await createTestDatabase();
        const database = await openDatabase({ databaseUrl: temp.url, dataDir: '' });
        await database.migrate();
        return {
          database,
          url: temp.url,
          async cleanup() {
            await database.close();
            await temp.drop();
          },
        };
      },
    },
  ];
}
