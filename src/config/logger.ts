import pino, { type Logger } from 'pino';

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
 */
export function createLogger(level: string): Logger {
  return pino(
    {
      level,
      base: { app: 'recon' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    pino.destination({ dest: 2, sync: true }),
  );
}
