import { writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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

/** `json`: one JSON object per line (machines); `pretty`: one readable line per entry (people). */
export type LogFormat = 'json' | 'pretty';

/** Every value `RECON_LOG_FORMAT` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty'];

/** Where log lines go: anything with a synchronous `write` of one complete line. */
export interface LogDestination {
  write(line: string): void;
}

/** How `createLogger` writes. Every field is optional. */
export interface LogOutput {
  /** `RECON_LOG_FORMAT`; absent: chosen by `chooseLogFormat` from `isTTY`. */
  readonly format?: LogFormat;
  /** Default: file descriptor 2 (stderr), written synchronously. */
  readonly destination?: LogDestination;
  /** Whether stderr is a terminal. Default: `process.stderr.isTTY`. */
  readonly isTTY?: boolean;
  /** ANSI colour of the level in the pretty format. Default: on a terminal unless `NO_COLOR`. */
  readonly color?: boolean;
}

/**
 * The log format: the configured one (`RECON_LOG_FORMAT`), otherwise `pretty` on a terminal and
 * `json` everywhere else (files, pipes, container log drivers).
 */
export function chooseLogFormat(configured: LogFormat | undefined, isTTY: boolean): LogFormat {
  return configured ?? (isTTY ? 'pretty' : 'json');
}

/**
 * The pino options shared by both formats: the one place for serialisation rules (redaction,
 * level label, timestamp). The level is written as its label (`"level":"info"`), which the
 * default parsers of Datadog and CloudWatch Logs Insights read; pino's default is a number.
 */
function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { app: 'recon' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: '[REDACTED]' },
    // Every serialised line (messages, fields, errors with their stacks) passes the process-wide
    // redactor (`domain/redact.ts`) on its way out: configured secret values in any encoding and
    // secret-looking patterns become `[REDACTED]`, whatever path they were logged under.
    hooks: { streamWrite: redactSecrets },
  };
}

const stderrDestination: LogDestination = { write: (line) => void writeSync(2, line) };

/**
 * Logger on stderr (stdout is kept for the command's own output): JSON lines, or readable lines
 * (see `formatPrettyLine`) in the `pretty` format. Synchronous writes, so nothing is lost when
 * the CLI exits right after logging. `level`: `fatal` … `trace` or `silent`.
 */
export function createLogger(level: string, output: LogOutput = {}): Logger {
  const isTTY = output.isTTY ?? process.stderr.isTTY === true;
  const format = chooseLogFormat(output.format, isTTY);
  const destination = output.destination ?? stderrDestination;
  const color = output.color ?? (isTTY && !process.env.NO_COLOR);
  const stream: DestinationStream =
    format === 'pretty'
      ? { write: (line) => destination.write(formatPrettyLine(line, color)) }
      : destination;
  return pino(loggerOptions(level), stream);
}

const LEVEL_COLORS: Record<string, string> = {
  fatal: '\u001b[35m',
  error: '\u001b[31m',
  warn: '\u001b[33m',
  info: '\u001b[32m',
  debug: '\u001b[36m',
  trace: '\u001b[90m',
};
/** Fields shown in the line's head (or not at all) rather than as `key=value`. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'app', 'err']);

/**
 * Turns one JSON log line (as pino writes it) into a readable one:
 * `09:30:05.123 INFO  run started  run_id=… processor=stripe` (UTC time of day, level padded to
 * 5, the message, then the fields in order; strings with spaces or quotes JSON-quoted, objects as
 * JSON), followed by the indented stack of an `err` field. A line that is not JSON is returned
 * unchanged.
 */
export function formatPrettyLine(line: string, color: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : '';
  const label = typeof entry.level === 'string' ? entry.level : String(entry.level);
  const padded = label.toUpperCase().padEnd(5);
  const level = color && LEVEL_COLORS[label] ? `${LEVEL_COLORS[label]}${padded}\u001b[0m` : padded;
  const fields = Object.entries(entry)
    .filter(([key]) => !HEAD_FIELDS.has(key))
    .map(([key, value]) => `${key}=${prettyValue(value)}`);
  const message = typeof entry.msg === 'string' ? entry.msg : '';
  let text = `${time} ${level} ${message}${fields.length ? `  ${fields.join(' ')}` : ''}\n`;
  const err = entry.err as { stack?: unknown; message?: unknown } | undefined;
  if (err && typeof err === 'object') {
    const stack = typeof err.stack === 'string' ? err.stack : String(err.message);
    text += `${stack
      .split('\n')
      .map((l) => `    ${l}`)
      .join('\n')}\n`;
  }
  return text;
}

function prettyValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Routes process warnings (`process.emitWarning`: deprecations, the AWS SDK's Node.js version
 * notice, …) into `logger()` as one `warn` line each, replacing Node's default listener, which
 * prints them as several plain-text lines on stderr. Returns a function that restores it.
 */
export function routeProcessWarnings(logger: () => Logger): () => void {
  const defaults = process.listeners('warning');
  process.removeAllListeners('warning');
  const listener = (warning: Error): void => {
    const code = (warning as { code?: unknown }).code;
    logger().warn(
      { warning: warning.name, ...(typeof code === 'string' ? { code } : {}) },
      warning.message.replace(/\s+/g, ' ').trim(),
    );
  };
  process.on('warning', listener);
  return () => {
    process.off('warning', listener);
    for (const original of defaults) process.on('warning', original);
  };
}
