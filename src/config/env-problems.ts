import type { z } from 'zod';
import { ConfigError, ReconError } from '../domain/errors';
import { SECRET_SETTINGS } from './secret-settings';

/**
 * Turning environment variables into settings while collecting EVERY problem, each as one plain
 * sentence naming the variable, what it must be and (unless the setting is secret) the value it
 * had: `SMTP_PORT must be a whole number, got "abc"`. `loadConfig` throws one `ConfigError` with
 * all of them.
 */

/** Values longer than this are cut in messages (a pasted certificate is not worth 4 kB of stderr). */
const MAX_QUOTED_LENGTH = 80;

const secretVariables = new Set(SECRET_SETTINGS.map((setting) => setting.variable));

/** `scheme://user:password@…`: a value carrying a credential is never quoted, whatever its name. */
const CREDENTIALS_IN_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i;

/** The variables of `env` that are set: empty strings count as unset. */
export function presentEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const present: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && value !== '') present[name] = value;
  }
  return present;
}

/**
 * ` got "VALUE"` for a problem with `variable`, JSON-quoted (control characters escaped) and cut
 * at 80 characters; empty for a secret setting (`SECRET_SETTINGS`) or a value with credentials.
 */
export function quotedValue(variable: string, value: string | undefined): string {
  if (value === undefined || secretVariables.has(variable) || CREDENTIALS_IN_URL.test(value)) {
    return '';
  }
  const shown = value.length > MAX_QUOTED_LENGTH ? `${value.slice(0, MAX_QUOTED_LENGTH)}…` : value;
  return `, got ${JSON.stringify(shown)}`;
}

/** What a zod issue says the value must be, in words (`must be one of a, b, c`). */
function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_value':
      return `must be one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_format':
      return issue.format === 'url' && issue.message === 'Invalid URL'
        ? 'must be a URL (e.g. https://api.example.com)'
        : issue.message;
    case 'invalid_type':
      return 'must be text';
    default:
      return issue.message;
  }
}

/** One sentence for a zod issue about a top-level variable of `present`. */
export function describeIssue(issue: z.core.$ZodIssue, present: Record<string, string>): string {
  const variable = String(issue.path[0] ?? '(environment)');
  return `${variable} ${expectation(issue)}${quotedValue(variable, present[variable])}`;
}

/**
 * Parses `present` with `schema`; on failure adds one sentence per variable with an issue (the
 * first issue of each) to `problems` and returns undefined.
 */
export function parseEnv<S extends z.ZodType>(
  schema: S,
  present: Record<string, string>,
  problems: string[],
): z.output<S> | undefined {
  const parsed = schema.safeParse(present);
  if (parsed.success) return parsed.data;
  const seen = new Set<string>();
  for (const issue of parsed.error.issues) {
    const variable = String(issue.path[0] ?? '');
    if (seen.has(variable)) continue;
    seen.add(variable);
    problems.push(describeIssue(issue, present));
  }
  return undefined;
}

/**
 * Runs one check that throws a `ConfigError` or `UsageError` for a bad setting (a file that cannot
 * be read, a malformed URL): its problems are added to `problems` and undefined is returned, so
 * that the next checks still run. Any other error (a bug) is rethrown.
 */
export function collect<T>(problems: string[], check: () => T): T | undefined {
  try {
    return check();
  } catch (error) {
    if (error instanceof ConfigError) for (const problem of error.problems) problems.push(problem);
    else if (error instanceof ReconError && error.code === 'USAGE') problems.push(error.message);
    else throw error;
    return undefined;
  }
}
