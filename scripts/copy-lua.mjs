// tsc emits only JavaScript: put the Redis store's Lua next to the compiled modules that read it at start-up.
import { cpSync, rmSync } from 'node:fs';

const from = new URL('../packages/server/src/store/redis/lua/', import.meta.url);
const to = new URL('../packages/server/dist/store/redis/lua/', import.meta.url);
rmSync(to, { recursive: true, force: true });
cpSync(from, to, { recursive: true });
