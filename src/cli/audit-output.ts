import type { AuditChainReport } from '../store/audit-chain';

/** The `recon db verify-audit --json` object (snake_case). */
export function auditReportJson(report: AuditChainReport): object {
  return {
    entries: report.entries,
    unchained: report.unchained,
    head: report.head ? { seq: report.head.seq, hash: report.head.hash } : null,
    runs_checked: report.runsChecked,
    runs_unverifiable: report.runsUnverifiable,
    entries_after_expected_head: report.entriesAfterExpectedHead,
    first_broken_seq: report.firstBrokenSeq,
    broken: report.broken,
    broken_run_id: report.brokenRunId,
    problem: report.problem,
  };
}

/** The one-line error of a failed verification (exit 6): names the run, or the broken entry. */
export function auditProblemLine(report: AuditChainReport): string {
  if (report.broken === 'run') return report.problem ?? '';
  if (report.broken === 'head') return `audit log broken: ${report.problem ?? ''}`;
  return `audit log broken at entry ${report.firstBrokenSeq ?? '?'}: ${report.problem ?? ''}`;
}

/** The human result of `recon db verify-audit`: one line. */
export function auditReportText(report: AuditChainReport): string {
  if (report.problem) return `audit log BROKEN: ${auditProblemLine(report)}`;
  const legacy = report.unchained ? ` (+${report.unchained} written before the chain existed)` : '';
  const head = report.head ? `, head ${report.head.hash}` : '';
  const anchor =
    report.entriesAfterExpectedHead === null
      ? ''
      : report.entriesAfterExpectedHead === 0
        ? ' (as expected)'
        : ` (${report.entriesAfterExpectedHead} entries after the expected head)`;
  const runs =
    report.runsChecked === 1
      ? '1 completed run matches its audit entry'
      : `${report.runsChecked} completed runs match their audit entries`;
  const unverifiable = report.runsUnverifiable
    ? `, ${report.runsUnverifiable} completed before schema 4 (results not recorded, not verifiable)`
    : '';
  return `audit log intact: ${report.entries} chained entries${legacy}${head}${anchor}; ${runs}${unverifiable}`;
}
