import pino, { type Logger } from 'pino';
import { redactSecrets } from '../domain/redact';

export type { Logger };

/**
 * Paths pino removes from every log line, wherever they occur, so secrets never reach the logs
 * even if an object holding them is logged by mistake.
 */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  'connectionString',
  '*.connectionString',
  'DATABASE_URL',
  '*.DATABASE_URL',
  'DB_PASSWORD',
  '*.DB_PASSWORD',
  'authorization',
  '*.authorization',
  '*.headers.authorization',
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
];

/**
 * Structured JSON-lines logger on stderr (stdout is kept for the command's own output).
 * Synchronous writes, so nothing is lost when the CLI exits right after logging.
 * Every serialised line (messages, fields, error objects with their stacks) passes the
 * process-wide redactor (`domain/redact.ts`) on its way out: configured secret values in any
 * encoding and secret-looking patterns become `[REDACTED]`, whatever path they were logged under.
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { app: 'recon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: { streamWrite: redactSecrets },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
