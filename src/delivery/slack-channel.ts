import type { ChannelBreak, ChannelInput, ChannelRun, DeliveryChannel } from './channel';
import { postWithRetries, urlOrigin, type HttpDeliverySettings } from './http-delivery';

/** Settings of the Slack channel (README "Slack"). `url` is a secret (the path is the token). */
export interface SlackSettings {
  /** `SLACK_WEBHOOK_URL`: a Slack incoming webhook, https unless `RECON_ALLOW_HTTP_DELIVERY=1`. */
  readonly url: string;
  /** `RECON_SLACK_TOP_BREAKS` (default 10): breaks listed per run before "and N more". */
  readonly topBreaks: number;
  readonly http: HttpDeliverySettings;
}

/**
 * Slack's limits the message keeps under (https://docs.slack.dev/reference/block-kit/blocks):
 * 50 blocks per message, 3000 characters per section text, 150 per header, 10 fields per section
 * and 2000 characters per field; the fallback `text` is kept short (notifications show it).
 */
export const SLACK_LIMITS = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  fields: 10,
  fieldText: 2000,
  fallbackText: 3000,
} as const;

/** A Block Kit block as this channel builds them (header, section, context, divider). */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string } }
  | {
      type: 'section';
      text?: { type: 'mrkdwn'; text: string };
      fields?: { type: 'mrkdwn'; text: string }[];
    }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] }
  | { type: 'divider' };

/** The JSON body POSTed to the incoming webhook. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: SlackBlock[];
}

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Larger minor amount first within a currency; currencies alphabetically. Exact (bigint). */
function byAmount(a: ChannelBreak, b: ChannelBreak): number {
  if (a.currency !== b.currency) return a.currency < b.currency ? -1 : 1;
  const abs = (text: string): bigint => {
    const v = BigInt(text);
    return v < 0n ? -v : v;
  };
  const [x, y] = [abs(a.amountMinor), abs(b.amountMinor)];
  return x === y ? a.transactionId.localeCompare(b.transactionId) : x > y ? -1 : 1;
}

function atStakeText(atStake: Readonly<Record<string, string>>): string {
  const entries = Object.entries(atStake).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? '0' : entries.map(([c, v]) => `${v} ${c}`).join(', ');
}

function reportLinks(run: ChannelRun): string {
  const r = run.reports;
  const link = (label: string, where: string | null): string | null =>
    where === null
      ? null
      : r.kind === 'presigned'
        ? `<${where}|${label}>`
        : `${label}: \`${slackEscape(where)}\``;
  const parts = [link('CSV report', r.csv), link('JSON report', r.json)].filter(
    (p): p is string => p !== null,
  );
  if (parts.length === 0) return 'no reports';
  const expiry = r.kind === 'presigned' && r.expiresAt ? ` (links expire ${r.expiresAt})` : '';
  return parts.join(' · ') + expiry;
}

function breakLines(run: ChannelRun, top: number): string {
  const sorted = [...run.breaks].sort(byAmount);
  const lines: string[] = [];
  let length = 0;
  const header = '*Top breaks*';
  length += header.length;
  for (const d of sorted) {
    if (lines.length >= top) break;
    const line = `• \`${slackEscape(cut(d.transactionId, 80))}\` ${d.kind.replace(/_/g, ' ')} ${d.amount} ${d.currency}`;
    // Room is kept for the "and N more" line.
    if (length + line.length + 1 > SLACK_LIMITS.sectionText - 40) break;
    lines.push(line);
    length += line.length + 1;
  }
  const more = sorted.length - lines.length;
  if (more > 0) lines.push(`…and ${more} more`);
  return [header, ...lines].join('\n');
}

function runBlocks(run: ChannelRun, top: number): SlackBlock[] {
  const title = `*${slackEscape(run.processor)}* ${run.businessDate}`;
  if (run.status === 'failed' || !run.summary) {
    return [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: cut(
            `${title} — :x: *FAILED*: ${slackEscape(run.error ?? 'unknown error')}`,
            SLACK_LIMITS.sectionText,
          ),
        },
      },
    ];
  }
  const s = run.summary;
  const b = run.breakCounts;
  const fields = [
    `*Transactions*\n${s.processorTransactions} processor / ${s.internalTransactions} ledger`,
    `*Matched*\n${s.matched}`,
    `*Discrepancies*\n${s.discrepancies}`,
    `*At stake*\n${atStakeText(s.atStake)}`,
    `*Risk*\n${s.riskLevel ?? 'n/a'}${s.discrepancyRate ? ` (rate ${s.discrepancyRate})` : ''}`,
  ];
  if (b) {
    fields.push(
      `*Breaks*\n${b.new} new / ${b.open} open / ${b.resolved} resolved`,
      `*Older than ${b.escalateDays} days*\n${b.olderThanEscalation}`,
    );
  }
  const blocks: SlackBlock[] = [
    { type: 'section', text: { type: 'mrkdwn', text: title } },
    {
      type: 'section',
      fields: fields
        .slice(0, SLACK_LIMITS.fields)
        .map((text) => ({ type: 'mrkdwn', text: cut(text, SLACK_LIMITS.fieldText) })),
    },
  ];
  if (run.breaks.length > 0)
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: breakLines(run, top) } });
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: cut(reportLinks(run), SLACK_LIMITS.sectionText) }],
  });
  return blocks;
}

/** `3 new, 12 open, 5 resolved` over every run with break counts, or the discrepancy count. */
function overview(runs: readonly ChannelRun[]): string {
  const failed = runs.filter((r) => r.status === 'failed').length;
  const counted = runs.filter((r) => r.breakCounts !== null);
  const sum = (pick: (run: ChannelRun) => number): number =>
    runs.reduce((total, run) => total + pick(run), 0);
  const parts: string[] = [];
  if (failed > 0) parts.push(`${failed} FAILED`);
  if (counted.length > 0) {
    parts.push(
      `${sum((r) => r.breakCounts?.new ?? 0)} new breaks`,
      `${sum((r) => r.breakCounts?.open ?? 0)} open`,
      `${sum((r) => r.breakCounts?.resolved ?? 0)} resolved`,
    );
  } else parts.push(`${sum((r) => r.summary?.discrepancies ?? 0)} discrepancies`);
  return parts.join(', ');
}

/**
 * The one Slack message of an invocation (Block Kit): a header with the dates and the overview
 * (`[recon] 2025-09-30: 3 new breaks, 12 open, 5 resolved`), then per run (processor, date) its
 * numbers, its top `top` breaks (largest first within each currency, "…and N more") and links to
 * its reports. Always under `SLACK_LIMITS`: runs that do not fit are summed up in a last line.
 */
export function slackMessage(input: ChannelInput, top: number): SlackMessage {
  const dates = [...new Set(input.runs.map((r) => r.businessDate))].sort();
  const span =
    dates.length <= 1 ? (dates[0] ?? '') : `${dates[0] ?? ''}..${dates[dates.length - 1] ?? ''}`;
  const headline = `[recon] ${span}: ${overview(input.runs)}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: cut(headline, SLACK_LIMITS.headerText) } },
  ];
  // The last block is kept for "and N more runs".
  let shown = 0;
  for (const run of input.runs) {
    const next: SlackBlock[] = [{ type: 'divider' }, ...runBlocks(run, top)];
    if (blocks.length + next.length > SLACK_LIMITS.blocks - 1) break;
    blocks.push(...next);
    shown++;
  }
  const hidden = input.runs.length - shown;
  if (hidden > 0) {
    blocks.push({
      type: 'context',
      elements: [
        {
          type: 'mrkdwn',
          text: `…and ${hidden} more run${hidden === 1 ? '' : 's'} (see \`recon runs list\`)`,
        },
      ],
    });
  }
  return { text: cut(headline, SLACK_LIMITS.fallbackText), blocks };
}

/**
 * The Slack channel: ONE message per invocation (`slackMessage`) to the incoming webhook,
 * retried as `postWithRetries` says. One attempt covering every run; target = the URL's origin.
 */
export const slackChannel: DeliveryChannel = {
  name: 'slack',
  isConfigured: (settings) => settings.slack !== undefined,
  async deliver(settings, input, log) {
    const slack = settings.slack;
    if (!slack || input.runs.length === 0) return [];
    const target = urlOrigin(slack.url);
    const body = JSON.stringify(slackMessage(input, slack.topBreaks));
    const result = await postWithRetries(
      {
        url: slack.url,
        body,
        headers: () => ({ 'content-type': 'application/json; charset=utf-8' }),
      },
      slack.http,
    );
    if (result.ok) log.info({ target, attempts: result.attempts }, 'slack message sent');
    else log.warn({ target, err_message: result.error }, 'slack message failed');
    return [
      {
        status: result.ok ? 'sent' : 'failed',
        target,
        error: result.ok ? null : result.error,
        runIds: input.runs.map((r) => r.runId),
      },
    ];
  },
};
