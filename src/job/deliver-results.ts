import { readFile, stat } from 'node:fs/promises';
import {
  settlementBreakLine,
  type SettlementBreakKind,
  type SettlementSubject,
} from '../engine/settlement-breaks';
import { basename } from 'node:path';
import type { EmailPolicy } from '../config/delivery-config';
import type { Logger } from '../config/logger';
import { reportObjectKey, type ObjectStore } from '../delivery/object-store';
import type { MailAttachment, Mailer } from '../delivery/smtp-mailer';
import { presignedUrlExpiry } from '../delivery/presign-expiry';
import type {
  ChannelRun,
  ChannelSettings,
  DeliveryChannel as ChannelPort,
} from '../delivery/channel';
import { EVENT_CHANNELS } from '../delivery/channels';
import { renderTrendChartPng } from '../delivery/trend-chart';
import type { FxRates } from '../domain/fx-rates';
import type { OutcomeCounts } from '../domain/discrepancy';
import { describeError, ReconError } from '../domain/errors';
import {
  payoutsNeedAction,
  renderEmail,
  type DigestBreak,
  type DigestBreaks,
  type DigestDiscrepancy,
  type DigestLinks,
  type DigestQuality,
  type DigestSettlement,
  type DigestSide,
  type RunDigest,
} from '../reports/email-summary';
import type { DeliveryChannel, DeliveryStore } from '../store/delivery-store';
import type { RunStore, StoredRun } from '../store/run-store';
import { openBreaksPathBeside, payoutsPathBeside } from '../reports/write-reports';
import { repairStoredRunReports, type RunResult } from './run-reconciliation';

/**
 * The object key of a run's open-breaks file: beside its reports
 * (`reports/{date}/{processor}/{run id}/open_breaks_{processor}_{date}.csv`).
 */
export function openBreaksObjectKey(date: string, processor: string, runId: string): string {
  const key = reportObjectKey(date, processor, runId, 'csv');
  return `${key.slice(0, key.lastIndexOf('/') + 1)}open_breaks_${processor}_${date}.csv`;
}

/**
 * The object key of a run's payouts file (issue #15): beside its reports
 * (`reports/{date}/{processor}/{run id}/payouts_{processor}_{date}.csv`).
 */
export function payoutsObjectKey(date: string, processor: string, runId: string): string {
  const key = reportObjectKey(date, processor, runId, 'csv');
  return `${key.slice(0, key.lastIndexOf('/') + 1)}payouts_${processor}_${date}.csv`;
}

/** A run to deliver: what the job returned, or what the store has for `recon deliver`. */
export interface DeliverableRun {
  readonly runId: string | null;
  readonly businessDate: string;
  readonly processor: string;
  readonly status: 'completed' | 'failed';
  readonly error: unknown;
  readonly reportCsvPath: string | null;
  readonly reportJsonPath: string | null;
  /** `open_breaks_{processor}_{date}.csv` beside the reports (uploaded with them). */
  readonly openBreaksPath?: string | null;
  /**
   * `payouts_{processor}_{date}.csv` beside the reports (uploaded with them when it exists: only
   * a run with a settlement has one).
   */
  readonly payoutsPath?: string | null;
  /**
   * Hash of the run's `run_completed` audit entry (the chain head at its commit), shown in the
   * e-mail so it can be kept outside the database (`recon db verify-audit --expect-head`).
   */
  readonly auditHead?: string | null;
}

/** The deliverable view of a job result (what `recon run` hands to delivery). */
export function toDeliverable(result: RunResult): DeliverableRun {
  return {
    runId: result.runId,
    businessDate: result.businessDate,
    processor: result.processor,
    status: result.status,
    error: result.error,
    reportCsvPath: result.reports?.csv ?? null,
    reportJsonPath: result.reports?.json ?? null,
    openBreaksPath: result.reports?.openBreaks ?? null,
    payoutsPath: result.reports?.payouts ?? null,
    auditHead: result.auditHead,
  };
}

/** The deliverable view of a stored run (what `recon deliver` hands to delivery). */
export function storedRunDeliverable(run: StoredRun): DeliverableRun {
  return {
    runId: run.runId,
    businessDate: run.businessDate,
    processor: run.processor,
    status: run.status === 'failed' ? 'failed' : 'completed',
    error: run.errorMessage ? new Error(run.errorMessage) : null,
    reportCsvPath: run.reportCsvPath,
    reportJsonPath: run.reportJsonPath,
    openBreaksPath: run.reportCsvPath ? openBreaksPathBeside(run.reportCsvPath) : null,
    payoutsPath: run.reportCsvPath ? payoutsPathBeside(run.reportCsvPath) : null,
  };
}

/** Collaborators of delivery; `objectStore`/`mailer` are null when not configured. */
export interface DeliveryDeps {
  readonly objectStore: ObjectStore | null;
  readonly mailer: Mailer | null;
  readonly deliveries: DeliveryStore;
  readonly logger: Logger;
  readonly now: () => number;
  readonly emailOn: EmailPolicy;
  readonly attachMaxBytes: number;
  readonly presignExpirySeconds: number;
  /** Optional reporting currency (README "Reporting currency") for the e-mail. */
  readonly fx?: FxRates | null;
  /** Settings of the event channels (Slack, webhook, AMQP); none configured when absent. */
  readonly channelSettings?: ChannelSettings;
  /** The event channels called after S3 and e-mail (default `EVENT_CHANNELS`). */
  readonly eventChannels?: readonly ChannelPort[];
  /** RECON_ESCALATE_DAYS for the channels' break counts (default 7). */
  readonly escalateDays?: number;
}

/**
 * Which channels to use this time (`--no-email`, `recon deliver --s3/--email`). `s3` may be a
 * per-run choice (`deliverFailed` re-uploads only the runs whose upload failed).
 */
export interface DeliveryChoice {
  readonly s3: boolean | ((run: DeliverableRun) => boolean);
  readonly email: boolean;
  /**
   * The event channels (slack, webhook, amqp) to use: every configured one when absent; a list
   * (`recon deliver --channel`), or per run (`deliverFailed` re-sends only what failed).
   */
  readonly channels?:
    readonly DeliveryChannel[] | ((run: DeliverableRun, channel: DeliveryChannel) => boolean);
}

/**
 * One thing a delivery call did (or chose not to do), in the order it happened. `target`: the
 * object key (s3) or the recipients (email). `error`: why it failed or was skipped (one line,
 * secrets redacted). `runIds`: the runs it was for (one for an upload, every run of the e-mail).
 */
export interface DeliveryAttempt {
  readonly channel: DeliveryChannel;
  readonly status: 'sent' | 'failed' | 'skipped';
  readonly target: string;
  readonly error: string | null;
  readonly runIds: readonly string[];
}

/**
 * What one delivery call did. `attempts`: THIS call's uploads and e-mail (never earlier ones).
 * `failures`: one line per failed delivery with its channel and endpoint, for stderr.
 * `configured`: whether any channel asked for has its adapter (S3 bucket, SMTP + recipients).
 */
export interface DeliveryOutcome {
  readonly attempts: DeliveryAttempt[];
  readonly failures: string[];
  readonly emailSent: boolean;
  readonly configured: boolean;
}

/** One side of a discrepancy in the JSON report. */
interface ReportSide {
  amount: string;
  currency: string;
  status: string;
  line: number | null;
}

/** The subset of the JSON report (see `renderReportJson`) the e-mail reads. */
interface ReportJson {
  report_metadata?: { run_id?: unknown };
  reconciliation_summary: {
    processor_transactions: number;
    internal_transactions: number;
    invalid_rows: number;
    counts: OutcomeCounts;
    discrepancy_count: number;
    discrepancy_amounts: Record<string, string>;
    fees?: RunDigest['fees'];
    /** With rules-file tiers only (see `tierMatchesJson`). */
    matches?: RunDigest['matches'];
  };
  discrepancies: {
    kind: string;
    transaction_id: string;
    merchant_id: string | null;
    difference: string | null;
    processor: ReportSide | null;
    internal: ReportSide | null;
  }[];
  data_quality: {
    findings: {
      source: string;
      check: string;
      severity: string;
      line: number | null;
      field: string | null;
      reason: string;
      count: number | null;
    }[];
  };
  financial_impact: { discrepancy_rate: string; risk_level: 'LOW' | 'MEDIUM' | 'HIGH' };
  /** Absent in reports written before breaks were reported; `null` without a database. */
  breaks?: {
    new: number;
    open: number;
    older_than_escalation: number;
    escalate_days: number;
  } | null;
  resolved_breaks?: ReportBreakJson[];
  open_breaks?: ReportBreakJson[];
  /** Only for a run with a settlement (issue #15; see `settlementReportJson`). */
  settlement?: ReportSettlementJson;
}

/** The subset of the JSON report's `settlement` block the e-mail reads. */
export interface ReportSettlementJson {
  groups: {
    parent_id: string;
    currency: string;
    status: string;
    parent_amount: string | null;
    children_sum: string;
    child_count: number;
    difference: string | null;
    bank: { status: string; difference: string | null } | null;
  }[];
  unmatched_bank_credits: { reference: string; amount: string; currency: string }[] | null;
  /** Settlement breaks (schema 8; absent before): the open ones of the processor after the run. */
  breaks?: {
    open: {
      subject: SettlementSubject;
      subject_id: string;
      account: string | null;
      kind: SettlementBreakKind;
      difference: string | null;
      currency: string;
      amount: string;
      age_days: number;
    }[];
  };
}

/** The payouts part of a run's digest from its JSON report's `settlement` block. */
export function digestSettlement(block: ReportSettlementJson): DigestSettlement {
  return {
    bankRead: block.unmatched_bank_credits !== null,
    payouts: block.groups.map((g) => ({
      parentId: g.parent_id,
      currency: g.currency,
      status: g.status,
      parentAmount: g.parent_amount,
      childrenSum: g.children_sum,
      childCount: g.child_count,
      difference: g.difference,
      bankStatus: g.bank?.status ?? null,
      bankDifference: g.bank?.difference ?? null,
    })),
    unmatchedCredits: (block.unmatched_bank_credits ?? []).map((c) => ({
      reference: c.reference,
      amount: c.amount,
      currency: c.currency,
    })),
    // The run's own new breaks are in the parts above already: only those of earlier dates.
    ...(block.breaks
      ? {
          carriedBreaks: block.breaks.open
            .filter((b) => b.age_days > 0)
            .map((b) =>
              settlementBreakLine({
                subject: b.subject,
                subjectId: b.subject_id,
                account: b.account,
                kind: b.kind,
                difference: b.difference,
                currency: b.currency,
                amount: b.amount,
                ageDays: b.age_days,
              }),
            ),
        }
      : {}),
  };
}

/** A break of the JSON report (`resolved_breaks`, `open_breaks`; see `reportBreakJson`). */
interface ReportBreakJson {
  break_id: string | null;
  transaction_id: string;
  kind: string;
  origin_date: string;
  age_days: number;
  amount: string;
  currency: string;
  resolution: string | null;
  lag_days: number | null;
}

function digestBreak(b: ReportBreakJson): DigestBreak {
  return {
    breakId: b.break_id,
    transactionId: b.transaction_id,
    kind: b.kind,
    amount: b.amount,
    currency: b.currency,
    originDate: b.origin_date,
    ageDays: b.age_days,
    resolution: b.resolution,
    lagDays: b.lag_days,
  };
}

/**
 * The breaks part of a run's digest from its JSON report: the new breaks are the open breaks of
 * its business date (opened by it); `null` for a report without breaks.
 */
function digestBreaks(run: DeliverableRun, report: ReportJson): DigestBreaks | null {
  const block = report.breaks;
  if (!block) return null;
  const open = (report.open_breaks ?? []).map(digestBreak);
  return {
    escalateDays: block.escalate_days,
    newCount: block.new,
    openCount: block.open,
    escalatedCount: block.older_than_escalation,
    opened: open.filter((b) => b.originDate === run.businessDate),
    open,
    resolved: (report.resolved_breaks ?? []).map(digestBreak),
  };
}

/** A short label of a failure for the subject line: `input missing`, `database unavailable`… */
export function failureLabel(error: unknown): string {
  if (!(error instanceof ReconError)) return 'internal error';
  switch (error.code) {
    case 'INPUT_REJECTED':
      return / not found: /.test(error.message) ? 'input missing' : 'input rejected';
    case 'DEPENDENCY_UNAVAILABLE':
      return 'dependency unavailable';
    case 'RUN_IN_PROGRESS':
      return 'another run in progress';
    case 'CONFIG':
    case 'USAGE':
      return 'configuration error';
    default:
      return 'internal error';
  }
}

function absDecimal(text: string): string {
  return text.startsWith('-') ? text.slice(1) : text;
}

/** Compares two non-negative decimal strings numerically, exactly (no float). */
function compareDecimal(a: string, b: string): number {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  if (ai.length !== bi.length) return ai.length - bi.length;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const [x, y] = [af.padEnd(width, '0'), bf.padEnd(width, '0')];
  return x === y ? 0 : x < y ? -1 : 1;
}

const digestSide = (side: ReportSide | null): DigestSide | null =>
  side && { amount: side.amount, currency: side.currency, status: side.status, line: side.line };

function digestFromReport(
  run: DeliverableRun,
  report: ReportJson,
  links: DigestLinks,
  supersedes: readonly string[],
): RunDigest {
  const all: DigestDiscrepancy[] = report.discrepancies.map((d) => {
    const side = d.processor ?? d.internal;
    const amount =
      // The amount at stake, as `discrepancyImpact` computes it: the difference for these kinds.
      (d.kind === 'amount_mismatch' ||
        d.kind === 'fee_mismatch' ||
        d.kind === 'matched_with_variance') &&
      d.difference !== null
        ? d.difference
        : (side?.amount ?? '0');
    return {
      processor: run.processor,
      businessDate: run.businessDate,
      kind: d.kind,
      transactionId: d.transaction_id,
      amount: absDecimal(amount),
      currency: side?.currency ?? '',
      merchantId: d.merchant_id,
      processorSide: digestSide(d.processor),
      ledgerSide: digestSide(d.internal),
    };
  });
  // The 10 largest per currency (nominal amounts are comparable within one currency): the e-mail
  // ranks across currencies (with a reporting currency) or per currency from these.
  const largest: DigestDiscrepancy[] = [];
  for (const currency of [...new Set(all.map((d) => d.currency))].sort()) {
    const top = all
      .filter((d) => d.currency === currency)
      .sort((a, b) => compareDecimal(b.amount, a.amount))
      .slice(0, 10);
    for (const d of top) largest.push(d);
  }
  const groups = new Map<
    string,
    { check: string; severity: string; count: number; examples: string[] }
  >();
  for (const f of report.data_quality.findings) {
    if (f.severity === 'info') continue;
    const key = `${f.check}/${f.severity}`;
    const group = groups.get(key) ?? {
      check: f.check,
      severity: f.severity,
      count: 0,
      examples: [],
    };
    if (f.line === null && f.count !== null) group.count = Math.max(group.count, f.count);
    else {
      group.count += f.line === null ? 0 : 1;
      if (group.examples.length < 3 && f.line !== null) {
        group.examples.push(
          `${basename(f.source)} line ${f.line}${f.field ? ` ${f.field}` : ''}: ${f.reason}`,
        );
      }
    }
    groups.set(key, group);
  }
  const s = report.reconciliation_summary;
  return {
    runId: run.runId,
    businessDate: run.businessDate,
    processor: run.processor,
    status: 'completed',
    error: null,
    errorLabel: null,
    processorTransactions: s.processor_transactions,
    internalTransactions: s.internal_transactions,
    invalidRows: s.invalid_rows,
    counts: s.counts,
    discrepancyCount: s.discrepancy_count,
    discrepancyAmounts: s.discrepancy_amounts,
    discrepancyRate: report.financial_impact.discrepancy_rate,
    riskLevel: report.financial_impact.risk_level,
    largest,
    quality: [...groups.values()] satisfies DigestQuality[],
    links,
    supersedes,
    auditHead: run.auditHead ?? null,
    ...(s.fees ? { fees: s.fees } : {}),
    ...(s.matches ? { matches: s.matches } : {}),
    breaks: digestBreaks(run, report),
    ...(report.settlement ? { settlement: digestSettlement(report.settlement) } : {}),
  };
}

function failedDigest(run: DeliverableRun): RunDigest {
  return {
    runId: run.runId,
    businessDate: run.businessDate,
    processor: run.processor,
    status: 'failed',
    error: describeError(run.error),
    errorLabel: failureLabel(run.error),
    processorTransactions: 0,
    internalTransactions: 0,
    invalidRows: 0,
    counts: null,
    discrepancyCount: 0,
    discrepancyAmounts: {},
    discrepancyRate: null,
    riskLevel: null,
    largest: [],
    quality: [],
    links: { kind: 'local', csv: null, json: null },
  };
}

/**
 * Why the JSON report at `run.reportJsonPath` must not be delivered as `run`'s, or null when it is
 * `run`'s own. Report paths are per (processor, business date), so once a newer run of the same
 * date replaced the files on disk, re-delivering the older (superseded) run would take the newer
 * run's bytes: the JSON's `report_metadata.run_id` must equal the run delivered. A report that
 * cannot be read or parsed is left to the normal error path (null).
 */
function foreignReport(run: DeliverableRun, body: Buffer | string): string | null {
  let owner: unknown;
  try {
    owner = (JSON.parse(body.toString()) as ReportJson).report_metadata?.run_id;
  } catch {
    return null;
  }
  if (owner === run.runId) return null;
  return `${run.reportJsonPath ?? 'the report'} belongs to run ${String(owner)}, not to run ${run.runId ?? '?'} (a newer run of ${run.processor} ${run.businessDate} replaced it); nothing delivered under run ${run.runId ?? '?'}`;
}

/**
 * What the S3 and e-mail channels share within one `deliverResults` call: the runs, the choice,
 * the report links of each run (local paths, replaced by presigned links once uploaded; read by
 * the e-mail and the event channels after it), where failure lines go and how an attempt is
 * recorded (`deliveries`, audit log; a recording failure is logged, never thrown).
 */
export interface JobDelivery {
  readonly runs: readonly DeliverableRun[];
  readonly choice: DeliveryChoice;
  readonly links: Map<DeliverableRun, DigestLinks>;
  readonly failures: string[];
  readonly record: (delivery: Parameters<DeliveryStore['record']>[0]) => Promise<void>;
  /** Set by the e-mail channel when the summary went out. */
  emailSent: boolean;
}

/**
 * S3 archival behind the channel port: uploads each completed run's reports (presigned links
 * recorded and put in `job.links`). Files are delivered only as the run they belong to: when the
 * JSON report on disk names another run (`report_metadata.run_id`, e.g. the run was superseded
 * and its files replaced), its uploads are refused with a failure naming both runs.
 */
export const s3Channel: ChannelPort<DeliveryDeps, JobDelivery> = {
  name: 's3',
  isConfigured: (deps) => deps.objectStore !== null,
  deliver: (deps, job) => uploadReports(deps, job),
};

/**
 * The operations e-mail behind the channel port: ONE e-mail covering every run of `job`, by
 * policy (`RECON_EMAIL_ON`), with the links `s3Channel` made. A run whose report on disk is not
 * its own gets a section saying so instead of the other run's numbers.
 */
export const emailChannel: ChannelPort<DeliveryDeps, JobDelivery> = {
  name: 'email',
  isConfigured: (deps) => deps.mailer !== null,
  deliver: (deps, job) => sendSummaryEmail(deps, job),
};

/** A run's reports as local paths (the e-mail shows the payouts file only for a settlement). */
function localLinks(run: DeliverableRun): DigestLinks {
  return {
    kind: 'local',
    csv: run.reportCsvPath,
    json: run.reportJsonPath,
    ...(run.payoutsPath ? { payouts: run.payoutsPath } : {}),
  };
}

async function uploadReports(deps: DeliveryDeps, job: JobDelivery): Promise<DeliveryAttempt[]> {
  const { runs, choice, links, failures, record } = job;
  const attempts: DeliveryAttempt[] = [];
  const log = deps.logger.child({ stage: 'delivery' });

  for (const run of runs) {
    links.set(run, localLinks(run));
    const wanted = typeof choice.s3 === 'function' ? choice.s3(run) : choice.s3;
    if (!wanted || !deps.objectStore || !run.runId) continue;
    const runId = run.runId;
    if (run.status !== 'completed') {
      attempts.push({
        channel: 's3',
        status: 'skipped',
        target: deps.objectStore.description,
        error: `run ${runId} failed: no reports to upload`,
        runIds: [runId],
      });
      continue;
    }
    const urls: Partial<Record<'csv' | 'json' | 'open_breaks' | 'payouts', string>> = {};
    // The JSON is read once: the bytes checked are the bytes uploaded.
    const json = run.reportJsonPath ? await readFile(run.reportJsonPath).catch(() => null) : null;
    const refusal = json ? foreignReport(run, json) : null;
    if (refusal) {
      failures.push(`S3 upload refused: ${refusal}`);
      log.error({ run_id: runId, err_message: refusal }, 'report upload refused');
      for (const ext of ['csv', 'json'] as const) {
        const target = reportObjectKey(run.businessDate, run.processor, runId, ext);
        attempts.push({ channel: 's3', status: 'failed', target, error: refusal, runIds: [runId] });
        await record({ runId, channel: 's3', status: 'failed', target, error: refusal });
      }
      continue;
    }
    let expiry: ReturnType<typeof presignedUrlExpiry> | null = null;
    for (const [ext, path, type] of [
      ['csv', run.reportCsvPath, 'text/csv; charset=utf-8'],
      ['json', run.reportJsonPath, 'application/json'],
      ['open_breaks', run.openBreaksPath ?? null, 'text/csv; charset=utf-8'],
      ['payouts', run.payoutsPath ?? null, 'text/csv; charset=utf-8'],
    ] as const) {
      if (!path) continue;
      // Runs reported before the open-breaks file existed have none, and only a run with a
      // settlement has a payouts file: nothing owed for a file that is not there.
      if (
        (ext === 'open_breaks' || ext === 'payouts') &&
        !(await stat(path).then(
          () => true,
          () => false,
        ))
      )
        continue;
      const key =
        ext === 'open_breaks'
          ? openBreaksObjectKey(run.businessDate, run.processor, runId)
          : ext === 'payouts'
            ? payoutsObjectKey(run.businessDate, run.processor, runId)
            : reportObjectKey(run.businessDate, run.processor, runId, ext);
      try {
        await deps.objectStore.put(key, ext === 'json' && json ? json : await readFile(path), type);
        const url = await deps.objectStore.presignGet(key, deps.presignExpirySeconds);
        urls[ext] = url;
        expiry = presignedUrlExpiry(
          deps.now(),
          deps.presignExpirySeconds,
          await deps.objectStore.credentialsExpiration?.(),
        );
        const urlExpiresAt = expiry.expiresAt.toISOString();
        attempts.push({ channel: 's3', status: 'sent', target: key, error: null, runIds: [runId] });
        await record({ runId, channel: 's3', status: 'sent', target: key, url, urlExpiresAt });
        log.info({ run_id: runId, key, store: deps.objectStore.description }, 'report uploaded');
      } catch (error) {
        const message = `${deps.objectStore.description}/${key}: ${describeError(error)}`;
        failures.push(`S3 upload failed: ${message}`);
        attempts.push({
          channel: 's3',
          status: 'failed',
          target: key,
          error: describeError(error),
          runIds: [runId],
        });
        await record({
          runId,
          channel: 's3',
          status: 'failed',
          target: key,
          error: describeError(error),
        });
        log.error(
          { run_id: runId, key, err_message: describeError(error) },
          'report upload failed; the report stays on local disk',
        );
      }
    }
    if (urls.csv || urls.json) {
      links.set(run, {
        kind: 'presigned',
        csv: urls.csv ?? null,
        json: urls.json ?? null,
        payouts: urls.payouts ?? null,
        expiresAt: expiry?.expiresAt.toISOString() ?? null,
        limitedByCredentials: expiry?.limitedByCredentials ?? false,
      });
    }
  }
  return attempts;
}

async function sendSummaryEmail(deps: DeliveryDeps, job: JobDelivery): Promise<DeliveryAttempt[]> {
  const { runs, choice, links, failures, record } = job;
  const attempts: DeliveryAttempt[] = [];
  const log = deps.logger.child({ stage: 'delivery' });
  let emailSent = false;
  if (choice.email) {
    if (!deps.mailer) {
      log.info('e-mail is not configured (SMTP_SERVER and OPERATIONS_EMAIL); no summary sent');
    } else {
      const digests: RunDigest[] = [];
      const superseded = await deps.deliveries
        .supersededBy(runs.flatMap((r) => (r.runId ? [r.runId] : [])))
        .catch((error: unknown) => {
          log.warn({ err_message: describeError(error) }, 'superseded runs not looked up');
          return new Map<string, string[]>();
        });
      for (const run of runs) {
        if (run.status === 'failed' || !run.reportJsonPath) {
          digests.push(failedDigest(run));
          continue;
        }
        try {
          const body = await readFile(run.reportJsonPath, 'utf8');
          const refusal = foreignReport(run, body);
          if (refusal) {
            digests.push(failedDigest({ ...run, status: 'failed', error: new Error(refusal) }));
            continue;
          }
          const report = JSON.parse(body) as ReportJson;
          digests.push(
            digestFromReport(
              run,
              report,
              links.get(run) ?? { kind: 'local', csv: null, json: null },
              (run.runId && superseded.get(run.runId)) || [],
            ),
          );
        } catch (error) {
          digests.push(
            failedDigest({
              ...run,
              status: 'failed',
              error: new Error(`report unreadable: ${describeError(error)}`),
            }),
          );
        }
      }
      const anyFailed = digests.some((d) => d.status === 'failed');
      // Payouts that need a look count as discrepancies for the policy (issue #15).
      const anyBreaks = digests.some(
        (d) => d.discrepancyCount > 0 || (d.settlement ? payoutsNeedAction(d.settlement) : false),
      );
      const wanted =
        deps.emailOn === 'always' || anyFailed || (deps.emailOn === 'discrepancies' && anyBreaks);
      const runIds = runs.flatMap((r) => (r.runId ? [r.runId] : []));
      const target = deps.mailer.recipients.join(', ');
      if (!wanted) {
        log.info({ policy: deps.emailOn }, 'no e-mail: nothing the policy asks to report');
        attempts.push({
          channel: 'email',
          status: 'skipped',
          target,
          error: `RECON_EMAIL_ON=${deps.emailOn}: nothing to report`,
          runIds,
        });
      } else {
        const attachments: MailAttachment[] = [];
        let chartCid: string | undefined;
        const lastDate = [...runs.map((r) => r.businessDate)].sort().pop();
        try {
          const points = lastDate ? await deps.deliveries.trend(lastDate, 14) : [];
          if (points.length > 0) {
            const png = await renderTrendChartPng(
              // The rate is a ratio for a chart, not money: a float is fine here.
              points.map((p) => ({
                businessDate: p.businessDate,
                processor: p.processor,
                discrepancyRate: Number(p.discrepancyRate),
              })),
            );
            chartCid = 'trend-chart@recon';
            attachments.push({
              filename: 'trend.png',
              content: png,
              contentType: 'image/png',
              cid: chartCid,
            });
          }
        } catch (error) {
          log.warn({ err_message: describeError(error) }, 'trend chart not rendered');
        }
        for (const run of runs) {
          if (run.status !== 'completed' || !run.reportCsvPath) continue;
          // Only the CSV of a run whose report on disk is its own (see foreignReport).
          if (digests.find((d) => d.runId === run.runId)?.status !== 'completed') continue;
          const size = await stat(run.reportCsvPath)
            .then((s) => s.size)
            .catch(() => Infinity);
          if (size <= deps.attachMaxBytes) {
            attachments.push({
              filename: basename(run.reportCsvPath),
              content: await readFile(run.reportCsvPath),
              contentType: 'text/csv',
            });
          }
        }
        const email = renderEmail(
          digests,
          new Date(deps.now()).toISOString(),
          chartCid,
          deps.fx ?? null,
        );
        try {
          await deps.mailer.send({ ...email, attachments });
          emailSent = true;
          attempts.push({ channel: 'email', status: 'sent', target, error: null, runIds });
          log.info(
            { subject: email.subject, recipients: deps.mailer.recipients.length },
            'summary e-mail sent',
          );
          for (const run of runs)
            if (run.runId)
              await record({ runId: run.runId, channel: 'email', status: 'sent', target });
        } catch (error) {
          const message = `${deps.mailer.description}: ${describeError(error)}`;
          failures.push(`e-mail failed: ${message}`);
          attempts.push({
            channel: 'email',
            status: 'failed',
            target,
            error: describeError(error),
            runIds,
          });
          log.error({ err_message: message }, 'summary e-mail failed');
          for (const run of runs) {
            if (run.runId)
              await record({
                runId: run.runId,
                channel: 'email',
                status: 'failed',
                target,
                error: describeError(error),
              });
          }
        }
      }
    }
  }
  job.emailSent = emailSent;
  return attempts;
}

/**
 * Delivers an invocation's results after they were committed: uploads each completed run's
 * reports to S3 (presigned links recorded) and sends ONE e-mail covering every run, by policy.
 * Never throws for a delivery failure: it is logged, recorded on the run (`deliveries`, audit
 * log) and returned in `failures`; the runs stay `completed`. Files are delivered only as the
 * run they belong to: when the JSON report on disk names another run (`report_metadata.run_id`,
 * e.g. the run was superseded and its files replaced), its uploads are refused with a failure
 * naming both runs, and its e-mail section says so instead of showing the other run's numbers.
 */
export async function deliverResults(
  deps: DeliveryDeps,
  runs: readonly DeliverableRun[],
  choice: DeliveryChoice,
): Promise<DeliveryOutcome> {
  const attempts: DeliveryAttempt[] = [];
  const log = deps.logger.child({ stage: 'delivery' });
  const job: JobDelivery = {
    runs,
    choice,
    links: new Map(runs.map((run) => [run, localLinks(run)])),
    failures: [],
    record: async (delivery) => {
      await deps.deliveries.record(delivery).catch((error: unknown) => {
        log.error({ err_message: describeError(error) }, 'could not record a delivery');
      });
    },
    emailSent: false,
  };
  // S3 first: the e-mail and the event channels carry the links it makes. Each channel records
  // its own attempts; one failing never stops the next.
  for (const channel of [s3Channel, emailChannel]) {
    const chosen = channel.name === 's3' ? choice.s3 !== false : choice.email;
    if (!chosen) continue;
    try {
      for (const attempt of await channel.deliver(deps, job, log))
        attempts.push({ ...attempt, channel: channel.name });
    } catch (error) {
      // A bug or an unreadable file, not the destination: still one failed attempt (exit 7).
      const message = describeError(error);
      job.failures.push(`${channel.name} failed: ${message}`);
      attempts.push({
        channel: channel.name,
        status: 'failed',
        target: channel.name,
        error: message,
        runIds: runs.flatMap((r) => (r.runId ? [r.runId] : [])),
      });
      log.error({ channel: channel.name, err_message: message }, 'delivery failed');
    }
  }
  const events = await deliverEventChannels(deps, runs, job.links, choice, job.record);
  attempts.push(...events.attempts);
  const failures = [...job.failures, ...events.failures];
  const configured =
    (choice.s3 !== false && s3Channel.isConfigured(deps)) ||
    (choice.email && emailChannel.isConfigured(deps)) ||
    events.configured;
  return { attempts, failures, emailSent: job.emailSent, configured };
}

/**
 * The event-channel step of `deliverResults`: for each configured channel chosen (`choice.channels`)
 * the runs it is for, as `ChannelRun`s (the run's facts read from the store after COMMIT, the
 * report links of this call), handed to `channel.deliver`. Channels are independent: each is
 * called whatever the others did, and a channel that throws is a failed attempt. Every attempt is
 * recorded per run (`deliveries`, audit log) and logged.
 */
async function deliverEventChannels(
  deps: DeliveryDeps,
  runs: readonly DeliverableRun[],
  links: ReadonlyMap<DeliverableRun, DigestLinks>,
  choice: DeliveryChoice,
  record: (delivery: Parameters<DeliveryStore['record']>[0]) => Promise<void>,
): Promise<{ attempts: DeliveryAttempt[]; failures: string[]; configured: boolean }> {
  const settings = deps.channelSettings ?? {};
  const channels = (deps.eventChannels ?? EVENT_CHANNELS).filter((c) => c.isConfigured(settings));
  const attempts: DeliveryAttempt[] = [];
  const failures: string[] = [];
  const log = deps.logger.child({ stage: 'delivery' });
  const wanted = (run: DeliverableRun, channel: DeliveryChannel): boolean =>
    choice.channels === undefined
      ? true
      : typeof choice.channels === 'function'
        ? choice.channels(run, channel)
        : choice.channels.includes(channel);
  const chosen = channels.filter((c) => runs.some((run) => run.runId && wanted(run, c.name)));
  if (chosen.length === 0) return { attempts, failures, configured: false };
  const facts = new Map<DeliverableRun, ChannelRun>();
  for (const run of runs) {
    if (!run.runId) continue;
    const link = links.get(run) ?? {
      kind: 'local',
      csv: run.reportCsvPath,
      json: run.reportJsonPath,
    };
    const base = {
      runId: run.runId,
      processor: run.processor,
      businessDate: run.businessDate,
      reports: {
        kind: link.kind,
        csv: link.csv,
        json: link.json,
        expiresAt: link.expiresAt ?? null,
      },
    };
    const failed = (error: unknown): ChannelRun => ({
      ...base,
      status: 'failed',
      error: describeError(error),
      summary: null,
      breakCounts: null,
      breaks: [],
      events: [],
    });
    if (run.status !== 'completed') {
      facts.set(run, failed(run.error));
      continue;
    }
    try {
      const found = await deps.deliveries.runFacts(run.runId, deps.escalateDays ?? 7);
      facts.set(
        run,
        found ? { ...base, status: 'completed', error: null, ...found } : failed('run not found'),
      );
    } catch (error) {
      log.warn({ run_id: run.runId, err_message: describeError(error) }, 'run facts not read');
      facts.set(run, failed(new Error(`run facts unreadable: ${describeError(error)}`)));
    }
  }
  for (const channel of chosen) {
    const input = runs.flatMap((run) => {
      const fact = facts.get(run);
      return fact && wanted(run, channel.name) ? [fact] : [];
    });
    let made: DeliveryAttempt[];
    try {
      made = (await channel.deliver(settings, { runs: input, now: deps.now() }, log)).map((a) => ({
        ...a,
        channel: channel.name,
        runIds: [...a.runIds],
      }));
    } catch (error) {
      made = [
        {
          channel: channel.name,
          status: 'failed',
          target: channel.name,
          error: describeError(error),
          runIds: input.map((r) => r.runId),
        },
      ];
    }
    for (const attempt of made) {
      attempts.push(attempt);
      if (attempt.status === 'failed')
        failures.push(`${channel.name} failed: ${attempt.error ?? ''}`);
      for (const runId of attempt.runIds) {
        await record({
          runId,
          channel: channel.name,
          status: attempt.status,
          target: attempt.target,
          ...(attempt.error ? { error: attempt.error } : {}),
        });
      }
    }
  }
  return { attempts, failures, configured: true };
}

/** How far back `recon deliver --failed` looks by default: failures of the last 7 days. */
export const REDELIVERY_DEFAULT_DAYS = 7;

/**
 * The default `--since` of `recon deliver --failed`: the UTC calendar date `REDELIVERY_DEFAULT_DAYS`
 * days before the UTC date of `now` (epoch ms), as `YYYY-MM-DD`.
 */
export function defaultRedeliverySince(now: number): string {
  const today = new Date(now);
  const since = Date.UTC(
    today.getUTCFullYear(),
    today.getUTCMonth(),
    today.getUTCDate() - REDELIVERY_DEFAULT_DAYS,
  );
  return new Date(since).toISOString().slice(0, 10);
}

/** Collaborators of `deliverFailed`: delivery's, plus the run store the runs are read from. */
export interface RedeliveryDeps extends DeliveryDeps {
  readonly runs: RunStore;
}

/** What `deliverFailed` did: the runs it re-delivered (oldest failure first) and the attempts. */
export interface RedeliveryOutcome extends DeliveryOutcome {
  readonly runIds: string[];
}

/**
 * Re-sends what failed (`recon deliver --failed`) instead of re-reconciling: every completed run
 * with a delivery still owed since `since` (`DeliveryStore.failedSince`, `YYYY-MM-DD`) gets again
 * the channels that failed, and only those: the uploads of the runs whose upload failed, and ONE
 * e-mail covering every run whose e-mail failed (with fresh links for the runs re-uploaded in the
 * same call), and each event channel (slack, webhook, amqp) to the runs it failed for. `only`
 * (`recon deliver --failed --channel …`) limits it to those channels. Interrupted report
 * publishes are repaired first, as `recon deliver RUN_ID` does.
 * Returns this call's attempts (none when nothing is owed); never throws for a delivery failure.
 * @throws what the store throws when the database cannot be read (DependencyUnavailableError…).
 */
export async function deliverFailed(
  deps: RedeliveryDeps,
  since: string,
  only?: readonly DeliveryChannel[],
): Promise<RedeliveryOutcome> {
  const owed = new Map<string, Set<DeliveryChannel>>();
  for (const failed of await deps.deliveries.failedSince(since)) {
    if (only && !only.includes(failed.channel)) continue;
    owed.set(failed.runId, (owed.get(failed.runId) ?? new Set()).add(failed.channel));
  }
  const runs: DeliverableRun[] = [];
  for (const runId of owed.keys()) {
    const run = await deps.runs.getRun(runId);
    // Superseded (or otherwise no longer completed) since the query: nothing owed any more.
    if (!run || run.status !== 'completed') continue;
    await repairStoredRunReports(deps.runs, run, deps.logger);
    runs.push(storedRunDeliverable(run));
  }
  const needs = (run: DeliverableRun, channel: DeliveryChannel): boolean =>
    owed.get(run.runId ?? '')?.has(channel) ?? false;
  const emailRuns = runs.filter((run) => needs(run, 'email'));
  const uploadOnlyRuns = runs.filter((run) => needs(run, 's3') && !needs(run, 'email'));
  const eventRuns = runs.filter((run) =>
    [...(owed.get(run.runId ?? '') ?? [])].some((c) => c !== 's3' && c !== 'email'),
  );
  const outcomes: DeliveryOutcome[] = [];
  if (uploadOnlyRuns.length > 0)
    outcomes.push(
      await deliverResults(deps, uploadOnlyRuns, { s3: true, email: false, channels: [] }),
    );
  if (emailRuns.length > 0)
    outcomes.push(
      await deliverResults(deps, emailRuns, {
        s3: (run) => needs(run, 's3'),
        email: true,
        channels: [],
      }),
    );
  if (eventRuns.length > 0)
    outcomes.push(
      await deliverResults(deps, eventRuns, { s3: false, email: false, channels: needs }),
    );
  // A channel owed but no longer configured is said, not silently dropped.
  const unconfigured: DeliveryAttempt[] = [];
  const ids = (list: readonly DeliverableRun[]): string[] =>
    list.flatMap((run) => (run.runId ? [run.runId] : []));
  const uploadRuns = runs.filter((run) => needs(run, 's3'));
  if (!deps.objectStore && uploadRuns.length > 0)
    unconfigured.push({
      channel: 's3',
      status: 'skipped',
      target: '',
      error: 'S3 is not configured (AWS_S3_BUCKET_NAME)',
      runIds: ids(uploadRuns),
    });
  if (!deps.mailer && emailRuns.length > 0)
    unconfigured.push({
      channel: 'email',
      status: 'skipped',
      target: '',
      error: 'e-mail is not configured (SMTP_SERVER and OPERATIONS_EMAIL)',
      runIds: ids(emailRuns),
    });
  const settings = deps.channelSettings ?? {};
  const channels = deps.eventChannels ?? EVENT_CHANNELS;
  for (const channel of channels) {
    const owedRuns = runs.filter((run) => needs(run, channel.name));
    if (owedRuns.length > 0 && !channel.isConfigured(settings))
      unconfigured.push({
        channel: channel.name,
        status: 'skipped',
        target: '',
        error: `${channel.name} is not configured`,
        runIds: ids(owedRuns),
      });
  }
  return {
    runIds: ids(runs),
    attempts: [...outcomes.flatMap((o) => o.attempts), ...unconfigured],
    failures: outcomes.flatMap((o) => o.failures),
    emailSent: outcomes.some((o) => o.emailSent),
    configured:
      deps.objectStore !== null ||
      deps.mailer !== null ||
      channels.some((c) => c.isConfigured(settings)),
  };
}
