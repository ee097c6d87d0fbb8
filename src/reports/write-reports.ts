import { mkdir, open, readdir, rename, rm, rmdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  renderOpenBreaksCsv,
  renderReportCsv,
  renderReportJson,
  type ReportContext,
  type ReportInput,
} from './render-report';
import { jsonChunks } from './json-chunks';
import { renderPayoutsCsv } from './render-payouts';
import { reportsDirError } from './reports-dir';

/**
 * Paths of a run's report files: the CSV and JSON reports and `open_breaks_{processor}_{date}.csv`
 * (every open break of the processor after the run, in the same folder), and
 * `payouts_{processor}_{date}.csv` (issue #15: one row per settlement group) for a run with a
 * settlement; `null` (or absent) when the run has none and no payouts file was written.
 */
export interface ReportPaths {
  readonly csv: string;
  readonly json: string;
  readonly openBreaks: string;
  readonly payouts?: string | null;
}

const REPORT_PREFIX = 'reconciliation_report_';
const OPEN_BREAKS_PREFIX = 'open_breaks_';
const PAYOUTS_PREFIX = 'payouts_';

/**
 * Where the reports of `processor` on `businessDate` go:
 * `{reportsDir}/{processor}_{date}/reconciliation_report_{processor}_{date}.{csv,json}`,
 * `{reportsDir}/{processor}_{date}/open_breaks_{processor}_{date}.csv` and, for a run with a
 * settlement, `{reportsDir}/{processor}_{date}/payouts_{processor}_{date}.csv` (always given here:
 * whether it is written depends on the run).
 */
export function reportPaths(
  reportsDir: string,
  processor: string,
  businessDate: string,
): ReportPaths & { readonly payouts: string } {
  const dir = join(reportsDir, `${processor}_${businessDate}`);
  const base = `${REPORT_PREFIX}${processor}_${businessDate}`;
  return {
    csv: join(dir, `${base}.csv`),
    json: join(dir, `${base}.json`),
    openBreaks: join(dir, `${OPEN_BREAKS_PREFIX}${processor}_${businessDate}.csv`),
    payouts: join(dir, `${PAYOUTS_PREFIX}${processor}_${businessDate}.csv`),
  };
}

/**
 * The open-breaks file beside a stored run's CSV report (`…/reconciliation_report_P_D.csv` →
 * `…/open_breaks_P_D.csv`), for runs known by their stored report paths (`recon deliver`).
 */
export function openBreaksPathBeside(reportCsvPath: string): string {
  const name = basename(reportCsvPath);
  const rest = name.startsWith(REPORT_PREFIX) ? name.slice(REPORT_PREFIX.length) : name;
  return join(dirname(reportCsvPath), `${OPEN_BREAKS_PREFIX}${rest}`);
}

/**
 * The payouts file beside a stored run's CSV report (`…/reconciliation_report_P_D.csv` →
 * `…/payouts_P_D.csv`), for runs known by their stored report paths (`recon deliver`). The file
 * exists only for a run that had a settlement.
 */
export function payoutsPathBeside(reportCsvPath: string): string {
  const name = basename(reportCsvPath);
  const rest = name.startsWith(REPORT_PREFIX) ? name.slice(REPORT_PREFIX.length) : name;
  return join(dirname(reportCsvPath), `${PAYOUTS_PREFIX}${rest}`);
}

/**
 * Suffix of a run's report file that is written but not yet published:
 * `reconciliation_report_stripe_2025-09-30.csv.pending-<run id>`. The run id says which run's
 * report it is, so a crash between COMMIT and publishing can be repaired from the database
 * (`repairPendingReports`).
 */
export const PENDING_SUFFIX = '.pending-';

const RUN_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Writes `chunks` to `target` (created or truncated) and fsyncs it; removes it on failure. */
async function writeSynced(
  target: string,
  chunks: Iterable<string> | AsyncIterable<string>,
): Promise<void> {
  await mkdir(dirname(target), { recursive: true });
  const handle = await open(target, 'w');
  try {
    for await (const chunk of chunks) await handle.write(chunk);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(target, { force: true });
    throw error;
  }
  await handle.close();
}

/** Fsyncs a directory so that renames in it survive a crash (best effort: not on every OS). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Directories cannot be opened for fsync everywhere (e.g. Windows); the rename still happened.
  }
}

/**
 * A run's reports written (fsynced) to pending files beside their final paths, not yet visible:
 * `<final path>.pending-<run id>`. The job writes them while the database stores the run and
 * publishes them only AFTER the run's transaction committed; a run that does not commit discards
 * them, so the report on disk is always the one of a committed run. If the process dies between
 * COMMIT and `publish`, `repairPendingReports` (next run, `recon deliver`) finishes the job.
 */
export interface PreparedReports {
  /** The final paths. */
  readonly paths: ReportPaths;
  /** Renames the pending files into place (a reader never sees half a report); returns `paths`. */
  publish(): Promise<ReportPaths>;
  /** Removes the pending files (never throws). */
  discard(): Promise<void>;
}

/**
 * Renders the CSV and JSON reports and the open-breaks CSV of one run (and its payouts CSV when
 * `input.settlement` is given; `paths.payouts` is null otherwise) into pending files tagged with
 * its run id (see `PreparedReports`); nothing is visible at the final paths until `publish`, and
 * on failure no pending file is left behind.
 * @throws ConfigError (unusable path, exit 2) or DependencyUnavailableError (disk full, exit 3):
 *   the file system's error translated by `reportsDirError`.
 */
export async function prepareReports(
  reportsDir: string,
  context: ReportContext,
  input: ReportInput,
): Promise<PreparedReports> {
  const all = reportPaths(reportsDir, context.processor, context.businessDate);
  const settlement = input.settlement ?? null;
  const paths: ReportPaths = { ...all, payouts: settlement ? all.payouts : null };
  const pendingCsv = `${paths.csv}${PENDING_SUFFIX}${context.runId}`;
  const pendingJson = `${paths.json}${PENDING_SUFFIX}${context.runId}`;
  const pendingOpen = `${paths.openBreaks}${PENDING_SUFFIX}${context.runId}`;
  const pendingPayouts = settlement ? `${all.payouts}${PENDING_SUFFIX}${context.runId}` : null;
  try {
    await writeSynced(pendingCsv, renderReportCsv(input));
    await writeSynced(pendingOpen, renderOpenBreaksCsv(input.breaks));
    if (settlement && pendingPayouts)
      await writeSynced(pendingPayouts, renderPayoutsCsv(settlement));
    // Written item by item (`jsonChunks`): the same text as `JSON.stringify(…, null, 2)`.
    await writeSynced(pendingJson, jsonChunks(renderReportJson(context, input), '\n'));
  } catch (error) {
    await rm(pendingCsv, { force: true }).catch(() => undefined);
    await rm(pendingOpen, { force: true }).catch(() => undefined);
    if (pendingPayouts) await rm(pendingPayouts, { force: true }).catch(() => undefined);
    // Nothing partial: the run's folder goes too when this left it empty (rmdir keeps a full one).
    await rmdir(dirname(paths.csv)).catch(() => undefined);
    throw await reportsDirError(error, reportsDir);
  }
  return {
    paths,
    publish: async () => {
      try {
        await rename(pendingCsv, paths.csv);
        await rename(pendingOpen, paths.openBreaks);
        // A run without a settlement leaves no payouts file of an earlier run of the date beside
        // its reports (delivery would take it for this run's).
        if (pendingPayouts) await rename(pendingPayouts, all.payouts);
        else await rm(all.payouts, { force: true });
        await rename(pendingJson, paths.json);
        await syncDirectory(dirname(paths.csv));
      } catch (error) {
        throw await reportsDirError(error, reportsDir);
      }
      return paths;
    },
    discard: async () => {
      await rm(pendingCsv, { force: true }).catch(() => undefined);
      await rm(pendingOpen, { force: true }).catch(() => undefined);
      if (pendingPayouts) await rm(pendingPayouts, { force: true }).catch(() => undefined);
      await rm(pendingJson, { force: true }).catch(() => undefined);
    },
  };
}

/**
 * Writes the report files of one run (CSV, JSON, open breaks, payouts) and publishes them at once (pending file + rename,
 * so a reader never sees half a report; a rerun replaces the previous files). For dry runs, which
 * commit nothing. Returns their paths.
 * @throws ConfigError or DependencyUnavailableError, as `prepareReports`.
 */
export async function writeReports(
  reportsDir: string,
  context: ReportContext,
  input: ReportInput,
): Promise<ReportPaths> {
  return (await prepareReports(reportsDir, context, input)).publish();
}

/** What `repairPendingReports` did: final paths published, pending files removed. */
export interface ReportRepair {
  readonly published: string[];
  readonly removed: string[];
}

/**
 * Repairs a crash between a run's COMMIT and the publishing of its reports, from what the
 * database says. Looks beside the final report `paths` of one (processor, business date) for
 * pending files (`<final>.pending-<run id>`, see `PreparedReports`): those of the run `isCompleted`
 * says is committed (there is at most one completed run per date and processor) are renamed into
 * place; with `removeOthers`, the rest (runs that rolled back, failed, were superseded or
 * abandoned) are removed, and so are temp files of older versions (`<final>.tmp-<pid>-<hex>`).
 * `removeOthers` is for a caller holding the run lock (no other process can be writing pending
 * files there); without the lock only publishing is safe. A missing directory is nothing to repair.
 * @param isCompleted resolves true when the run with that id is `completed` in the database.
 * @throws the file system's error when the directory cannot be read or a rename fails.
 */
export async function repairPendingReports(
  paths: ReportPaths,
  isCompleted: (runId: string) => Promise<boolean>,
  options: { readonly removeOthers: boolean },
): Promise<ReportRepair> {
  const dir = dirname(paths.csv);
  // The payouts file is looked for beside the CSV whatever `paths.payouts` says: a crashed run
  // with a settlement left one pending even when the caller's paths predate it.
  const finals = new Set([
    basename(paths.csv),
    basename(paths.json),
    basename(paths.openBreaks),
    basename(paths.payouts ?? payoutsPathBeside(paths.csv)),
  ]);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return { published: [], removed: [] };
    throw error;
  }
  const published: string[] = [];
  const removed: string[] = [];
  const verdicts = new Map<string, boolean>();
  for (const name of names.sort()) {
    const at = name.lastIndexOf(PENDING_SUFFIX);
    if (at < 0) {
      // Temp files of versions before pending files (`<final>.tmp-<pid>-<hex>`) never committed.
      const legacy = /^(.+)\.tmp-\d+-[0-9a-f]+$/.exec(name);
      if (legacy?.[1] && finals.has(legacy[1]) && options.removeOthers) {
        await rm(join(dir, name), { force: true });
        removed.push(join(dir, name));
      }
      continue;
    }
    const final = name.slice(0, at);
    const runId = name.slice(at + PENDING_SUFFIX.length);
    if (!finals.has(final)) continue;
    let completed = verdicts.get(runId);
    if (completed === undefined) {
      completed = RUN_ID.test(runId) && (await isCompleted(runId));
      verdicts.set(runId, completed);
    }
    if (completed) {
      await rename(join(dir, name), join(dir, final));
      published.push(join(dir, final));
    } else if (options.removeOthers) {
      await rm(join(dir, name), { force: true });
      removed.push(join(dir, name));
    }
  }
  if (published.length > 0) await syncDirectory(dir);
  return { published, removed };
}
