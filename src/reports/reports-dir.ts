import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readlink, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ConfigError, DependencyUnavailableError, ReconError } from '../domain/errors';

/** How the user sets the reports directory, for messages. */
const SETTING = '--reports-dir or RECON_REPORTS_DIR';

// Errors meaning "the configured path cannot hold reports": the user must change it (exit 2).
const UNUSABLE_PATH = new Set([
  'EEXIST',
  'ENOTDIR',
  'ENOENT',
  'ELOOP',
  'EACCES',
  'EPERM',
  'EROFS',
  'ENAMETOOLONG',
  'EISDIR',
]);

// Errors of the file system itself (full, broken, exhausted): try again later (exit 3).
const FILE_SYSTEM_DOWN: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

async function lstatOrNull(path: string): Promise<Awaited<ReturnType<typeof lstat>> | null> {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

/**
 * Why `dir` cannot be a directory: the first component of its path (from the root down) that is
 * a file, a dangling symbolic link or a link loop; `null` when no such component is found.
 */
async function blockingComponent(dir: string): Promise<string | null> {
  const chain: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    chain.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const path of chain) {
    const entry = await lstatOrNull(path);
    if (!entry) return null; // missing: mkdir creates it, unless its parent is the problem
    if (entry.isSymbolicLink()) {
      const target = await stat(path).catch((error: unknown) => errnoCode(error) ?? 'error');
      if (target === 'ENOENT' || target === 'ENOTDIR')
        return `'${path}' is a symbolic link to '${await readlink(path)}', which does not exist`;
      if (target === 'ELOOP') return `'${path}' is a symbolic link loop`;
      if (typeof target !== 'string' && !target.isDirectory())
        return `'${path}' is a symbolic link to a file, not a directory`;
    } else if (!entry.isDirectory()) {
      return `'${path}' is a file, not a directory`;
    }
  }
  return null;
}

/**
 * The errno of creating the first missing component of `dir` by itself: a recursive `mkdir`
 * reports ENOENT where the file system said EROFS or EACCES (Node's recursive mkdir).
 */
async function realMkdirCode(dir: string): Promise<string> {
  let missing = resolve(dir);
  while (dirname(missing) !== missing && !(await lstatOrNull(dirname(missing))))
    missing = dirname(missing);
  try {
    await mkdir(missing);
    await rm(missing, { recursive: true, force: true });
    return 'ENOENT';
  } catch (error) {
    return errnoCode(error) ?? 'ENOENT';
  }
}

function describeCode(code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `permission denied (${code})`;
    case 'EROFS':
      return 'it is on a read-only file system (EROFS)';
    case 'ENAMETOOLONG':
      return 'the path is too long (ENAMETOOLONG)';
    case 'ELOOP':
      return 'too many symbolic links (ELOOP)';
    default:
      return `it cannot be created or written (${code})`;
  }
}

/**
 * Translates a file-system error met while creating or writing under the reports directory
 * `dir` into a one-line project error: an unusable configured path (a file, a dangling link,
 * read-only, no permission) → `ConfigError` (exit 2); a full or failing file system (ENOSPC,
 * EDQUOT, EIO, EMFILE) → `DependencyUnavailableError` (exit 3). Messages name the directory and
 * the setting, never a stack. Other errors (and `ReconError`s) are returned unchanged.
 */
export async function reportsDirError(error: unknown, dir: string): Promise<unknown> {
  if (error instanceof ReconError) return error;
  const code = errnoCode(error);
  if (code === undefined) return error;
  const where = `reports directory '${dir}'`;
  const fullness = FILE_SYSTEM_DOWN[code];
  if (fullness !== undefined) {
    return new DependencyUnavailableError('file system', `${where}: ${fullness} (${code})`, {
      cause: error,
    });
  }
  if (!UNUSABLE_PATH.has(code)) return error;
  const reason =
    (await blockingComponent(dir)) ??
    describeCode(code === 'ENOENT' ? await realMkdirCode(dir) : code);
  return new ConfigError(`${where} (${SETTING}) is not usable: ${reason}`, { cause: error });
}

/**
 * Preflight of the reports directory, before any input is read or run stored: creates `dir`
 * (and its parents) and writes, fsyncs and removes a small probe file in it, so that a path that
 * is a file, lies under one, is a dangling link, is read-only or sits on a full disk stops the
 * invocation at once with one clear line instead of failing every run after its work is done.
 * @throws ConfigError (exit 2) for an unusable path; DependencyUnavailableError (exit 3) for a
 *   full or failing file system (see `reportsDirError`).
 */
export async function checkReportsDir(dir: string): Promise<void> {
  const probe = join(dir, `.recon-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(dir, { recursive: true });
    if (!(await stat(dir)).isDirectory()) {
      throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
    }
    const handle = await open(probe, 'wx');
    try {
      await handle.write('recon write probe\n');
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw await reportsDirError(error, dir);
  } finally {
    await rm(probe, { force: true }).catch(() => undefined);
  }
}
