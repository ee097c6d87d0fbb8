import escapeHtml from 'escape-html';
import { currentRedactor } from '../domain/redact';
import { DISCREPANCY_KINDS, type OutcomeClass } from '../domain/discrepancy';

/** One discrepancy line of the e-mail (money as a decimal string in major units). */
export interface DigestDiscrepancy {
  readonly processor: string;
  readonly businessDate: string;
  readonly kind: string;
  readonly transactionId: string;
  readonly amount: string;
  readonly currency: string;
  readonly merchantId: string | null;
}

/** Data-quality findings of a run, summarised per check and severity. */
export interface DigestQuality {
  readonly check: string;
  readonly severity: string;
  readonly count: number;
  /** A few example rows: `file line N field: reason`. */
  readonly examples: readonly string[];
}

/** Where a run's reports are: presigned URLs when archived in S3, else local paths. */
export interface DigestLinks {
  readonly kind: 'presigned' | 'local';
  readonly csv: string | null;
  readonly json: string | null;
}

/** Everything the e-mail says about one (business date, processor) run. */
export interface RunDigest {
  readonly runId: string | null;
  readonly businessDate: string;
  readonly processor: string;
  readonly status: 'completed' | 'failed';
  /** One-line error of a failed run, and a short label for the subject (`input missing`). */
  readonly error: string | null;
  readonly errorLabel: string | null;
  readonly processorTransactions: number;
  readonly internalTransactions: number;
  readonly invalidRows: number;
  readonly counts: Readonly<Record<OutcomeClass, number>> | null;
  readonly discrepancyCount: number;
  /** Per currency, decimal strings. */
  readonly discrepancyAmounts: Readonly<Record<string, string>>;
  readonly discrepancyRate: string | null;
  readonly riskLevel: 'LOW' | 'MEDIUM' | 'HIGH' | null;
  readonly largest: readonly DigestDiscrepancy[];
  readonly quality: readonly DigestQuality[];
  readonly links: DigestLinks;
}

/** A rendered e-mail: subject, plain-text and HTML bodies. */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

const RISK_ORDER = { LOW: 1, MEDIUM: 2, HIGH: 3 } as const;
const RISK_COLOUR = { LOW: '#1a7f37', MEDIUM: '#9a6700', HIGH: '#cf222e' } as const;

function datesLabel(digests: readonly RunDigest[]): string {
  const dates = [...new Set(digests.map((d) => d.businessDate))].sort();
  if (dates.length === 0) return 'no runs';
  return dates.length === 1
    ? (dates[0] ?? '')
    : `${dates[0] ?? ''}..${dates[dates.length - 1] ?? ''}`;
}

function maxRisk(digests: readonly RunDigest[]): 'LOW' | 'MEDIUM' | 'HIGH' | null {
  let best: 'LOW' | 'MEDIUM' | 'HIGH' | null = null;
  for (const d of digests) {
    if (d.riskLevel && (!best || RISK_ORDER[d.riskLevel] > RISK_ORDER[best])) best = d.riskLevel;
  }
  return best;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/**
 * The subject tells the night at a glance: `[recon] 2025-09-30 — 3 processors, 12 discrepancies,
 * HIGH risk`, or `[recon] 2025-09-30 — FAILED: paypal input missing` when a run failed.
 */
export function renderSubject(digests: readonly RunDigest[]): string {
  const head = `[recon] ${datesLabel(digests)} — `;
  const failed = digests.filter((d) => d.status === 'failed');
  const first = failed[0];
  if (first) {
    const more = failed.length > 1 ? ` (+${failed.length - 1} more)` : '';
    return `${head}FAILED: ${first.processor} ${first.errorLabel ?? 'error'}${more}`;
  }
  const processors = new Set(digests.map((d) => d.processor)).size;
  const discrepancies = digests.reduce((sum, d) => sum + d.discrepancyCount, 0);
  const risk = maxRisk(digests);
  const breaks = `${discrepancies} ${discrepancies === 1 ? 'discrepancy' : 'discrepancies'}`;
  return `${head}${plural(processors, 'processor')}, ${breaks}${risk ? `, ${risk} risk` : ''}`;
}

function amountsText(amounts: Readonly<Record<string, string>>): string {
  const parts = Object.entries(amounts).map(([currency, value]) => `${value} ${currency}`);
  return parts.length ? parts.join(', ') : '0';
}

function metricRows(d: RunDigest): [string, string][] {
  const rows: [string, string][] = [
    ['processor transactions', String(d.processorTransactions)],
    ['ledger transactions', String(d.internalTransactions)],
    ['matched', String(d.counts?.matched ?? 0)],
  ];
  for (const kind of DISCREPANCY_KINDS)
    rows.push([kind.replace(/_/g, ' '), String(d.counts?.[kind] ?? 0)]);
  rows.push(
    ['invalid input rows', String(d.invalidRows)],
    ['amount at stake', amountsText(d.discrepancyAmounts)],
    ['discrepancy rate', d.discrepancyRate ?? '-'],
    ['risk level', d.riskLevel ?? '-'],
  );
  return rows;
}

function largestAcross(digests: readonly RunDigest[]): DigestDiscrepancy[] {
  return digests.flatMap((d) => d.largest).slice(0, 10);
}

/** The plain-text body: the same content as the HTML, for clients that do not render HTML. */
export function renderEmailText(digests: readonly RunDigest[], generatedAt: string): string {
  const lines: string[] = [renderSubject(digests).replace(/^\[recon\] /, 'Reconciliation '), ''];
  const failed = digests.filter((d) => d.status === 'failed');
  if (failed.length) {
    lines.push('FAILED OR MISSING INPUTS');
    for (const d of failed)
      lines.push(`  ${d.processor} ${d.businessDate}: ${d.error ?? 'failed'}`);
    lines.push('');
  }
  for (const d of digests.filter((x) => x.status === 'completed')) {
    lines.push(`${d.processor} ${d.businessDate} — ${d.riskLevel ?? '-'} risk`);
    for (const [name, value] of metricRows(d)) lines.push(`  ${name.padEnd(24)}${value}`);
    lines.push('');
  }
  const largest = largestAcross(digests);
  if (largest.length) {
    lines.push('LARGEST DISCREPANCIES');
    for (const x of largest) {
      lines.push(
        `  ${x.processor} ${x.kind} ${x.transactionId} ${x.amount} ${x.currency}${x.merchantId ? ` merchant ${x.merchantId}` : ''}`,
      );
    }
    lines.push('');
  }
  const quality = digests.flatMap((d) => d.quality.map((q) => ({ d, q })));
  if (quality.length) {
    lines.push('DATA QUALITY');
    for (const { d, q } of quality) {
      lines.push(`  ${d.processor} ${d.businessDate}: ${q.count} ${q.check} (${q.severity})`);
      for (const example of q.examples) lines.push(`    ${example}`);
    }
    lines.push('');
  }
  lines.push('REPORTS');
  for (const d of digests) {
    if (d.links.csv) lines.push(`  ${d.processor} ${d.businessDate} CSV: ${d.links.csv}`);
    if (d.links.json) lines.push(`  ${d.processor} ${d.businessDate} JSON: ${d.links.json}`);
  }
  lines.push('', `Generated ${generatedAt} by recon.`);
  return lines.join('\n');
}

const e = (value: string | number | null | undefined): string =>
  escapeHtml(value === null || value === undefined ? '' : String(value));

const CELL = 'padding:4px 10px;border-bottom:1px solid #d8dee4;text-align:left;font-size:13px';
const TABLE = 'border-collapse:collapse;margin:6px 0 18px 0';

/**
 * The HTML body: failures first, a table per processor and date, the ten largest discrepancies,
 * data-quality findings, the trend chart (inline image `cid:${chartCid}` when given) and the
 * report links. Every value from input or configuration is HTML-escaped.
 */
export function renderEmailHtml(
  digests: readonly RunDigest[],
  generatedAt: string,
  chartCid?: string,
): string {
  const parts: string[] = [];
  parts.push(
    `<h2 style="font-family:Arial,sans-serif;font-size:18px;margin:0 0 12px 0">${e(renderSubject(digests).replace(/^\[recon\] /, 'Reconciliation '))}</h2>`,
  );
  const failed = digests.filter((d) => d.status === 'failed');
  if (failed.length) {
    parts.push(
      `<div style="border:2px solid #cf222e;background:#ffebe9;padding:8px 12px;margin-bottom:16px"><strong>Failed or missing inputs</strong><ul style="margin:6px 0">${failed
        .map(
          (d) =>
            `<li><strong>${e(d.processor)} ${e(d.businessDate)}</strong>: ${e(d.error ?? 'failed')}</li>`,
        )
        .join('')}</ul></div>`,
    );
  }
  const completed = digests.filter((x) => x.status === 'completed');
  if (completed.length > 1) {
    const head = ['processor', 'date', 'matched', 'discrepancies', 'at stake', 'risk'];
    parts.push(
      `<table style="${TABLE}"><tr>${head.map((h) => `<th style="${CELL}">${h}</th>`).join('')}</tr>${completed
        .map((d) => {
          const colour = d.riskLevel ? RISK_COLOUR[d.riskLevel] : '#57606a';
          return `<tr><td style="${CELL};font-weight:bold">${e(d.processor)}</td><td style="${CELL}">${e(d.businessDate)}</td><td style="${CELL}">${e(d.counts?.matched ?? 0)}</td><td style="${CELL}">${e(d.discrepancyCount)}</td><td style="${CELL}">${e(amountsText(d.discrepancyAmounts))}</td><td style="${CELL};color:${colour};font-weight:bold">${e(d.riskLevel ?? '-')}</td></tr>`;
        })
        .join('')}</table>`,
    );
  }
  for (const d of completed) {
    const colour = d.riskLevel ? RISK_COLOUR[d.riskLevel] : '#57606a';
    parts.push(
      `<h3 style="font-size:15px;margin:12px 0 2px 0">${e(d.processor)} — ${e(d.businessDate)} <span style="color:${colour}">${e(d.riskLevel ?? '')} risk</span></h3>` +
        `<table style="${TABLE}">${metricRows(d)
          .map(
            ([name, value]) =>
              `<tr><td style="${CELL};color:#57606a">${e(name)}</td><td style="${CELL};font-weight:bold">${e(value)}</td></tr>`,
          )
          .join('')}</table>`,
    );
  }
  const largest = largestAcross(digests);
  if (largest.length) {
    parts.push(
      `<h3 style="font-size:15px;margin:12px 0 2px 0">Largest discrepancies</h3><table style="${TABLE}"><tr>${[
        'processor',
        'kind',
        'transaction',
        'amount',
        'merchant',
      ]
        .map((h) => `<th style="${CELL}">${h}</th>`)
        .join('')}</tr>${largest
        .map(
          (x) =>
            `<tr><td style="${CELL}">${e(x.processor)}</td><td style="${CELL}">${e(x.kind.replace(/_/g, ' '))}</td><td style="${CELL}">${e(x.transactionId)}</td><td style="${CELL};text-align:right">${e(x.amount)} ${e(x.currency)}</td><td style="${CELL}">${e(x.merchantId)}</td></tr>`,
        )
        .join('')}</table>`,
    );
  }
  const quality = digests.flatMap((d) => d.quality.map((q) => ({ d, q })));
  if (quality.length) {
    parts.push(
      `<h3 style="font-size:15px;margin:12px 0 2px 0">Data quality</h3><ul style="font-size:13px">${quality
        .map(
          ({ d, q }) =>
            `<li>${e(d.processor)} ${e(d.businessDate)}: <strong>${e(q.count)}</strong> ${e(q.check.replace(/_/g, ' '))} (${e(q.severity)})${
              q.examples.length
                ? `<ul>${q.examples.map((x) => `<li>${e(x)}</li>`).join('')}</ul>`
                : ''
            }</li>`,
        )
        .join('')}</ul>`,
    );
  }
  if (chartCid) {
    parts.push(
      `<h3 style="font-size:15px;margin:12px 0 2px 0">Trend</h3><img src="cid:${e(chartCid)}" alt="discrepancy rate per processor over the last 14 business dates" width="720">`,
    );
  }
  const links = digests.filter((d) => d.links.csv || d.links.json);
  if (links.length) {
    parts.push(
      `<h3 style="font-size:15px;margin:12px 0 2px 0">Reports</h3><ul style="font-size:13px">${links
        .map((d) => {
          const item = (label: string, target: string | null): string =>
            !target
              ? ''
              : d.links.kind === 'presigned'
                ? `<a href="${e(target)}">${label}</a>`
                : `${label}: <code>${e(target)}</code>`;
          return `<li>${e(d.processor)} ${e(d.businessDate)}: ${item('CSV', d.links.csv)} ${item('JSON', d.links.json)}</li>`;
        })
        .join('')}</ul>`,
    );
  }
  parts.push(`<p style="color:#57606a;font-size:12px">Generated ${e(generatedAt)} by recon.</p>`);
  return `<!doctype html><html><body style="font-family:Arial,Helvetica,sans-serif;color:#1f2328;max-width:760px">${parts.join('\n')}</body></html>`;
}

/** Subject, text and HTML of the invocation's e-mail; secrets redacted (`domain/redact.ts`). */
export function renderEmail(
  digests: readonly RunDigest[],
  generatedAt: string,
  chartCid?: string,
): RenderedEmail {
  // Secrets out of everything the e-mail says; the links keep their presigned signature (a link
  // without it is useless) and lose only configured secret values.
  const safe = digests.map((digest) => ({
    ...currentRedactor().redactObject({ ...digest, links: null }),
    links: currentRedactor().redactObject(digest.links, 'values'),
  }));
  return {
    subject: renderSubject(safe),
    text: renderEmailText(safe, generatedAt),
    html: renderEmailHtml(safe, generatedAt, chartCid),
  };
}
