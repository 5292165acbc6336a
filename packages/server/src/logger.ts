import { type Logger, pino } from 'pino';
import type { LogLevel } from './config.js';

export type { Logger };

/** JSON logs on stdout. Tokens and keys never reach them: headers carrying them and token fields are redacted. */
export function createLogger(level: LogLevel): Logger {
  return pino({
    level,
    base: { service: 'presence' },
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'token',
        '*.token',
        'secret',
        'serviceKey',
      ],
      censor: '[redacted]',
    },
  });
}
