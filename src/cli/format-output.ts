import { DISCREPANCY_KINDS } from '../domain/discrepancy';
import { describeError } from '../domain/errors';
import { totalsToDecimalStrings } from '../domain/money';
import { feeBlockJson } from '../engine/summarize';
import type { RunResult } from '../job/run-reconciliation';
import { tierMatchesJson } from '../reports/render-report';
import type { RunBreaks } from '../store/break-store';
import type { StoredDelivery } from '../store/delivery-store';
import type { StoredDiscrepancy, StoredRun } from '../store/run-store';
import { exitCodeOfRun, type FailOn } from './exit-codes';
import { settlementJson, type RunSettlement, type SettlementCounts } from '../engine/settlement';
import { SETTLEMENT_GROUP_STATUSES } from '../engine/settlement-groups';

/** The `--json` object of one run (one line of stdout); `failOn`: `--fail-on`, for `exit_code`. */
export function runResultJson(result: RunResult, failOn?: FailOn): object {
  return {
    run_id: result.runId,
    date: result.businessDate,
    processor: result.processor,
    status: result.status,
    dry_run: result.dryRun,
    exit_code: exitCodeOfRun(result, failOn),
    error: result.error ? describeError(result.error) : null,
    processor_transactions: result.processorTransactions,
    internal_transactions: result.internalTransactions,
    invalid_rows: result.invalidRows,
    counts: result.counts
      ? {
          ...result.counts,
          timing: result.timing ?? 0,
          basis_mismatch_suspected: result.basisMismatchSuspected ?? 0,
          ...(result.tiers ? { matches_by_tier: result.tiers.matchesByTier } : {}),
        }
      : null,
    ...(result.tiers ? { matches: tierMatchesJson(result.tiers.matches) } : {}),
    breaks: result.breaks ? runBreaksJson(result.breaks) : null,
    discrepancy_count: result.summary?.discrepancyCount ?? null,
    discrepancy_amounts: result.summary
      ? totalsToDecimalStrings(result.summary.discrepancyAmounts)
      : null,
    discrepancy_rate: result.summary?.discrepancyRate ?? null,
    risk_level: result.summary?.riskLevel ?? null,
    compliance_status: result.summary?.complianceStatus ?? null,
    fees: result.summary?.fees ? feeBlockJson(result.summary.fees) : null,
    reports: result.reports
      ? {
          csv: result.reports.csv,
          json: result.reports.json,
          // Issue #15: only a run with a settlement writes payouts_{processor}_{date}.csv.
          ...(result.reports.payouts ? { payouts: result.reports.payouts } : {}),
        }
      : null,
    audit_head: result.auditHead,
    // Issue #15: only a run with a settlement source (payouts file or API) has the key.
    ...(result.settlement ? { settlement: settlementJson(result.settlement) } : {}),
  };
}

/** The `breaks` block of `run --json` (README "Breaks across days"). */
function runBreaksJson(breaks: RunBreaks): object {
  return {
    new: breaks.new,
    resolved: breaks.resolved,
    reclassified: breaks.reclassified,
    pending: breaks.pending,
    open: breaks.open,
    open_by_age: breaks.open_by_age,
  };
}

/**
 * The one-line breaks summary of a run, e.g.
 * `breaks: 3 new, 2 resolved (late arrival), 12 open (2 older than 7 days)`.
 */
export function runBreaksLine(breaks: RunBreaks, escalateDays: number): string {
  const parts = [`${breaks.new} new`, `${breaks.resolved} resolved (late arrival)`];
  if (breaks.reclassified > 0) parts.push(`${breaks.reclassified} reclassified`);
  if (breaks.pending > 0) parts.push(`${breaks.pending} pending`);
  parts.push(
    `${breaks.open} open (${breaks.older_than_escalation} older than ${escalateDays} days)`,
  );
  return `breaks: ${parts.join(', ')}`;
}

/**
 * The one-line payouts summary of a run with a settlement leg (issue #15), e.g.
 * `payouts: 3 (1 group matched, 1 group sum mismatch, 1 unattributable); bank: 2 payout matched,
 * 1 payout missing in bank, 1 bank credit unmatched` (`bank: no statement` without one). Only
 * counts above 0 are listed.
 */
export function settlementLine(settlement: RunSettlement): string {
  const c = settlement.counts;
  const list = (keys: readonly (keyof SettlementCounts)[]): string =>
    keys
      .filter((key) => c[key] > 0)
      .map((key) => `${c[key]} ${key.replace(/_/g, ' ')}`)
      .join(', ');
  const groups = list(SETTLEMENT_GROUP_STATUSES);
  const bank = settlement.bank
    ? list([
        'payout_matched',
        'payout_amount_mismatch',
        'payout_ambiguous',
        'payout_missing_in_bank',
        'bank_credit_unmatched',
      ]) || 'nothing to match'
    : 'no statement';
  const pending = settlement.bank?.counts.payout_pending ?? 0;
  return (
    `payouts: ${settlement.groups.length}${groups ? ` (${groups})` : ''}; bank: ${bank}` +
    (pending > 0 ? `, ${pending} payout pending` : '')
  );
}

/** A short human summary of one run, a few lines, for stdout. */
export function runResultText(result: RunResult): string {
  const head = `${result.processor} ${result.businessDate}`;
  if (result.status === 'failed') return `${head}: FAILED — ${describeError(result.error)}`;
  const counts = result.counts;
  const breaks = counts
    ? DISCREPANCY_KINDS.filter((kind) => (counts[kind] ?? 0) > 0)
        .map((kind) => `${counts[kind]} ${kind.replace(/_/g, ' ')}`)
        .join(', ')
    : '';
  const amounts = result.summary ? totalsToDecimalStrings(result.summary.discrepancyAmounts) : {};
  const amountText = Object.entries(amounts)
    .map(([currency, value]) => `${value} ${currency}`)
    .join(', ');
  const discrepancyCount = result.summary?.discrepancyCount ?? 0;
  const lines = [
    `${head}: completed${result.dryRun ? ' (dry run, nothing stored)' : ''} — ` +
      `${result.processorTransactions} processor / ${result.internalTransactions} ledger transactions, ` +
      `${counts?.matched ?? 0} matched, ${discrepancyCount} discrepanc${discrepancyCount === 1 ? 'y' : 'ies'}` +
      (breaks ? ` (${breaks})` : '') +
      `, ${result.invalidRows} invalid row${result.invalidRows === 1 ? '' : 's'}, risk ${result.summary?.riskLevel ?? '-'}`,
  ];
  if (amountText) lines.push(`  at stake: ${amountText}`);
  if (result.timing)
    lines.push(`  timing: ${result.timing} late arrival${result.timing === 1 ? '' : 's'} matched`);
  if (result.breaks) lines.push(`  ${runBreaksLine(result.breaks, result.breaks.escalate_days)}`);
  if (result.settlement) lines.push(`  ${settlementLine(result.settlement)}`);
  const payoutBreaks = result.settlement?.breaks?.counts;
  if (payoutBreaks)
    lines.push(
      `  payout breaks: ${payoutBreaks.new} new, ${payoutBreaks.resolved} resolved, ${payoutBreaks.open} open, ${payoutBreaks.pending} pending`,
    );
  if (result.runId)
    lines.push(
      `  run ${result.runId}${result.auditHead ? `, audit head ${result.auditHead}` : ''}`,
    );
  if (result.reports)
    lines.push(`  reports: ${result.reports.csv}`, `           ${result.reports.json}`);
  return lines.join('\n');
}

/** A stored run as JSON for `runs list/show --json`: the same snake_case keys as `run --json`. */
export function storedRunJson(run: StoredRun): object {
  return {
    run_id: run.runId,
    date: run.businessDate,
    processor: run.processor,
    status: run.status,
    start_time: run.startTime,
    end_time: run.endTime,
    processor_transactions: run.processorTransactions,
    internal_transactions: run.internalTransactions,
    invalid_rows: run.invalidRows,
    counts: run.counts,
    discrepancy_count: run.discrepancyCount,
    discrepancy_amounts: run.discrepancyAmounts,
    total_discrepancy_amount: run.totalDiscrepancyAmount,
    discrepancy_rate: run.discrepancyRate,
    risk_level: run.riskLevel,
    compliance_status: run.complianceStatus,
    reports: { csv: run.reportCsvPath, json: run.reportJsonPath },
    superseded_by: run.supersededBy,
    error: run.errorMessage,
  };
}

/** A stored discrepancy as JSON (snake_case, amounts as decimal strings). */
export function storedDiscrepancyJson(d: StoredDiscrepancy): object {
  return {
    kind: d.kind,
    transaction_id: d.transactionId,
    amount: d.amount,
    currency: d.currency,
    difference: d.difference,
    processor_status: d.processorStatus,
    internal_status: d.internalStatus,
    merchant_id: d.merchantId,
  };
}

// Untrusted text (ids, merchant names) must not move the terminal's cursor or colour it.
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/**
 * Renders rows as an aligned plain-text table: the header, a dashed rule, one line per row.
 * @throws Error when a row has a different number of cells than `header` has headings (a bug in
 *   the caller: a cell without a heading, or a heading over nothing).
 */
export function renderTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string {
  rows.forEach((row, index) => {
    if (row.length !== header.length) {
      throw new Error(
        `table row ${index + 1} has ${row.length} cells under ${header.length} headings (${header.join(', ')})`,
      );
    }
  });
  const clean = rows.map((row) => row.map(printable));
  // A loop, not Math.max(...rows): a table may have more rows than the call stack has room for.
  const widths = header.map((name) => name.length);
  for (const row of clean) {
    widths.forEach((width, index) => {
      widths[index] = Math.max(width, (row[index] ?? '').length);
    });
  }
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, index) => pad(cell, widths[index] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...clean.map(line)].join('\n');
}

/** `s3 sent, email failed` — the latest delivery outcome per channel, or `-`. */
export function deliveredText(outcomes: Partial<Record<string, string>> | undefined): string {
  if (!outcomes) return '-';
  return ['s3', 'email', 'slack', 'webhook', 'amqp']
    .filter((channel) => outcomes[channel])
    .map((channel) => `${channel} ${outcomes[channel] ?? ''}`)
    .join(', ');
}

/** `recon runs list` as a table. */
export function runsTable(
  runs: readonly StoredRun[],
  delivered: ReadonlyMap<string, Partial<Record<string, string>>> = new Map(),
): string {
  if (runs.length === 0) return 'no runs found';
  return renderTable(
    [
      'run_id',
      'date',
      'processor',
      'status',
      'processor_txns',
      'matched',
      'discrepancies',
      'missing',
      'risk',
      'delivered',
      'started',
    ],
    runs.map((run) => [
      run.runId,
      run.businessDate,
      run.processor,
      run.status,
      String(run.processorTransactions ?? ''),
      String(run.counts?.matched ?? ''),
      String(run.discrepancyCount ?? ''),
      String(run.counts?.missing_in_internal ?? ''),
      run.riskLevel ?? '',
      deliveredText(delivered.get(run.runId)),
      run.startTime,
    ]),
  );
}

/** `recon runs show` as text: the run's facts, counts per class and its largest discrepancies. */
export function runDetailsText(
  run: StoredRun,
  discrepancies: readonly StoredDiscrepancy[],
  total: number,
  deliveries: readonly StoredDelivery[] = [],
): string {
  const facts: [string, string][] = [
    ['run', run.runId],
    ['business date', run.businessDate],
    ['processor', run.processor],
    ['status', run.status],
    ['started', run.startTime],
    ['ended', run.endTime ?? '-'],
    ['processor transactions', String(run.processorTransactions ?? '-')],
    ['ledger transactions', String(run.internalTransactions ?? '-')],
    ['invalid rows', String(run.invalidRows ?? '-')],
    ['discrepancy rate', run.discrepancyRate ?? '-'],
    ['risk level', run.riskLevel ?? '-'],
    ['compliance', run.complianceStatus ?? '-'],
    [
      'at stake',
      Object.entries(run.discrepancyAmounts)
        .map(([c, v]) => `${v} ${c}`)
        .join(', ') || '-',
    ],
    ['reports', [run.reportCsvPath, run.reportJsonPath].filter(Boolean).join(', ') || '-'],
  ];
  if (run.supersededBy) facts.push(['superseded by', run.supersededBy]);
  if (run.errorMessage) facts.push(['error', run.errorMessage]);
  const parts = [facts.map(([k, v]) => `${pad(k, 24)}${v}`).join('\n')];
  if (run.counts) {
    parts.push(
      renderTable(
        ['class', 'count'],
        Object.entries(run.counts).map(([k, v]) => [k, String(v)]),
      ),
    );
  }
  if (discrepancies.length > 0) {
    parts.push(
      `largest discrepancies (${discrepancies.length} of ${total}):\n` +
        renderTable(
          [
            'kind',
            'transaction_id',
            'amount',
            'currency',
            'difference',
            'processor_status',
            'ledger_status',
            'merchant_id',
          ],
          discrepancies.map((d) => [
            d.kind,
            d.transactionId,
            d.amount,
            d.currency,
            d.difference ?? '',
            d.processorStatus ?? '',
            d.internalStatus ?? '',
            d.merchantId ?? '',
          ]),
        ),
    );
  }
  if (deliveries.length > 0) {
    parts.push(
      'deliveries:\n' +
        renderTable(
          ['when', 'channel', 'status', 'target', 'error'],
          deliveries.map((d) => [d.attemptedAt, d.channel, d.status, d.target, d.error ?? '']),
        ),
    );
  }
  return parts.join('\n\n');
}
