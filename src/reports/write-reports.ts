import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import {
  renderReportCsv,
  renderReportJson,
  type ReportContext,
  type ReportInput,
} from './render-report';

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

async function writeAtomically(path: string, chunks: Iterable<string>): Promise<void> {
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
  await rename(temp, path);
}

/**
 * Writes the CSV and JSON reports of one run atomically (temp file + rename, so a reader never
 * sees half a report; a rerun replaces the previous files). Returns their paths.
 * @throws the file system's error (e.g. EACCES) when the directory cannot be written.
 */
export async function writeReports(
  reportsDir: string,
  context: ReportContext,
  input: ReportInput,
): Promise<ReportPaths> {
  const paths = reportPaths(reportsDir, context.processor, context.businessDate);
  await writeAtomically(paths.csv, renderReportCsv(input));
  await writeAtomically(paths.json, [
    `${JSON.stringify(renderReportJson(context, input), null, 2)}\n`,
  ]);
  return paths;
}
