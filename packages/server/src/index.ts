export { type RunningServer, resolveConfig, type ServerOptions, startServer } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { PresenceService } from './core/presence-service.js';
export { openDatabase } from './db/database.js';
export { PresenceRepository } from './db/presence-repository.js';
export { seedGraph } from './db/seed.js';
