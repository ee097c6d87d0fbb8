import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm, rmdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  renderReportCsv,
  renderReportJson,
  type ReportContext,
  type ReportInput,
} from './render-report';
import { reportsDirError } from './reports-dir';

/** Paths of a run's two report files. */
export interface ReportPaths {
  readonly csv: string;
  readonly json: string;
}

/**
 * Where the reports of `processor` on `businessDate` go:
 * `{reportsDir}/{processor}_{date}/reconciliation_report_{processor}_{date}.{csv,json}`.
 */
export function reportPaths(
  reportsDir: string,
  processor: string,
  businessDate: string,
): ReportPaths {
  const dir = join(reportsDir, `${processor}_${businessDate}`);
  const base = `reconciliation_report_${processor}_${businessDate}`;
  return { csv: join(dir, `${base}.csv`), json: join(dir, `${base}.json`) };
}

/** Writes `chunks` to a new temp file beside `path` and fsyncs it; returns the temp file's path. */
async function writeTemp(path: string, chunks: Iterable<string>): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const handle = await open(temp, 'w');
  try {
    for (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  return temp;
}

/**
 * A run's reports written to temp files (fsynced) beside their final paths, not yet visible:
 * `publish` renames them into place (a reader never sees half a report; a rerun replaces the
 * previous files), `discard` removes them. Lets the job write the files while the database is
 * still storing the run, and publish them only inside the run's transaction.
 */
export interface PreparedReports {
  readonly paths: ReportPaths;
  /** Renames both files into place; returns their paths. */
  publish(): Promise<ReportPaths>;
  /** Removes both temp files (never throws). */
  discard(): Promise<void>;
}

/**
 * Renders the CSV and JSON reports of one run into temp files (see `PreparedReports`); on failure
 * no temp file is left behind.
 * @throws ConfigError (unusable path, exit 2) or DependencyUnavailableError (disk full, exit 3):
 *   the file system's error translated by `reportsDirError`.
 */
export async function prepareReports(
  reportsDir: string,
  context: ReportContext,
  input: ReportInput,
): Promise<PreparedReports> {
  const paths = reportPaths(reportsDir, context.processor, context.businessDate);
  let csv: string | undefined;
  let json: string;
  try {
    csv = await writeTemp(paths.csv, renderReportCsv(input));
    json = await writeTemp(paths.json, [
      `${JSON.stringify(renderReportJson(context, input), null, 2)}\n`,
    ]);
  } catch (error) {
    if (csv !== undefined) await rm(csv, { force: true });
    // Nothing partial: the run's folder goes too when this left it empty (rmdir keeps a full one).
    await rmdir(dirname(paths.csv)).catch(() => undefined);
    throw await reportsDirError(error, reportsDir);
  }
  const csvTemp = csv;
  return {
    paths,
    publish: async () => {
      try {
        await rename(csvTemp, paths.csv);
        await rename(json, paths.json);
      } catch (error) {
        throw await reportsDirError(error, reportsDir);
      }
      return paths;
    },
    discard: async () => {
      await rm(csvTemp, { force: true }).catch(() => undefined);
      await rm(json, { force: true }).catch(() => undefined);
    },
  };
}

/**
 * Writes the CSV and JSON reports of one run atomically (temp file + rename, so a reader never
 * sees half a report; a rerun replaces the previous files). Returns their paths.
 * @throws ConfigError or DependencyUnavailableError, as `prepareReports`.
 */
export async function writeReports(
  reportsDir: string,
  context: ReportContext,
  input: ReportInput,
): Promise<ReportPaths> {
  return (await prepareReports(reportsDir, context, input)).publish();
}
