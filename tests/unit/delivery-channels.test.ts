import { createHmac } from 'node:crypto';
import { loadDeliveryConfig } from '../../src/config/delivery-config';
import { ConfigError } from '../../src/domain/errors';
import { amqpMessages, amqpTarget } from '../../src/delivery/amqp-channel';
import type { ChannelBreak, ChannelRun } from '../../src/delivery/channel';
import { urlOrigin } from '../../src/delivery/http-delivery';
import { SLACK_LIMITS, slackMessage } from '../../src/delivery/slack-channel';
import {
  signWebhook,
  verifyWebhookSignature,
  webhookBody,
  webhookIdempotencyKey,
} from '../../src/delivery/webhook-channel';

const RUN_ID = '0b7c6f1e-4d0a-4c59-9f7e-2a1d3c4b5e6f';
const NOW = Date.parse('2025-10-01T01:00:00Z');

function aBreak(n: number, overrides: Partial<ChannelBreak> = {}): ChannelBreak {
  return {
    breakId: `b${n}`,
    transactionId: `txn_${n}`,
    kind: 'missing_in_internal',
    side: 'processor',
    amount: `${n}.00`,
    amountMinor: `${n * 100}`,
    currency: 'USD',
    ...overrides,
  };
}

function completedRun(overrides: Partial<ChannelRun> = {}): ChannelRun {
  return {
    runId: RUN_ID,
    processor: 'stripe',
    businessDate: '2025-09-30',
    status: 'completed',
    error: null,
    summary: {
      processorTransactions: 120,
      internalTransactions: 118,
      matched: 115,
      discrepancies: 3,
      invalidRows: 1,
      atStake: { USD: '160.00', EUR: '5.50' },
      discrepancyRate: '0.025424',
      riskLevel: 'MEDIUM',
    },
    breakCounts: {
      new: 2,
      open: 5,
      resolved: 1,
      reclassified: 0,
      olderThanEscalation: 1,
      escalateDays: 7,
    },
    breaks: [
      aBreak(10),
      aBreak(150, { kind: 'amount_mismatch', side: 'both' }),
      aBreak(5, { currency: 'EUR', amount: '5.50', amountMinor: '550', transactionId: 'a<b>&c' }),
    ],
    events: [
      {
        eventId: 'e1',
        type: 'break.opened',
        occurredAt: '2025-10-01T00:59:00.000Z',
        actor: 'run',
        reason: null,
        details: { status: 'open' },
        break: {
          breakId: 'b10',
          transactionId: 'txn_10',
          kind: 'missing_in_internal',
          side: 'processor',
          status: 'open',
          originDate: '2025-09-30',
          amount: '10.00',
          amountMinor: '1000',
          currency: 'USD',
        },
      },
    ],
    reports: {
      kind: 'presigned',
      csv: 'https://s3.example.com/r.csv?X-Amz-Signature=abc',
      json: 'https://s3.example.com/r.json?X-Amz-Signature=def',
      expiresAt: '2025-10-02T01:00:00.000Z',
    },
    ...overrides,
  };
}

const failedRun: ChannelRun = {
  runId: 'ffffffff-0000-4000-8000-000000000001',
  processor: 'paypal',
  businessDate: '2025-09-30',
  status: 'failed',
  error: 'input missing: data/paypal.csv not found',
  summary: null,
  breakCounts: null,
  breaks: [],
  events: [],
  reports: { kind: 'local', csv: null, json: null, expiresAt: null },
};

describe('Slack message (Block Kit)', () => {
  it('shows the overview, each run with its numbers, top breaks and report links', () => {
    expect(slackMessage({ runs: [completedRun(), failedRun], now: NOW }, 10)).toEqual({
      text: '[recon] 2025-09-30: 1 FAILED, 2 new breaks, 5 open, 1 resolved',
      blocks: [
        {
          type: 'header',
          text: {
            type: 'plain_text',
            text: '[recon] 2025-09-30: 1 FAILED, 2 new breaks, 5 open, 1 resolved',
          },
        },
        { type: 'divider' },
        { type: 'section', text: { type: 'mrkdwn', text: '*stripe* 2025-09-30' } },
        {
          type: 'section',
          fields: [
            { type: 'mrkdwn', text: '*Transactions*\n120 processor / 118 ledger' },
            { type: 'mrkdwn', text: '*Matched*\n115' },
            { type: 'mrkdwn', text: '*Discrepancies*\n3' },
            { type: 'mrkdwn', text: '*At stake*\n5.50 EUR, 160.00 USD' },
            { type: 'mrkdwn', text: '*Risk*\nMEDIUM (rate 0.025424)' },
            { type: 'mrkdwn', text: '*Breaks*\n2 new / 5 open / 1 resolved' },
            { type: 'mrkdwn', text: '*Older than 7 days*\n1' },
          ],
        },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: [
              '*Top breaks*',
              '• `a&lt;b&gt;&amp;c` missing in internal 5.50 EUR',
              '• `txn_150` amount mismatch 150.00 USD',
              '• `txn_10` missing in internal 10.00 USD',
            ].join('\n'),
          },
        },
        {
          type: 'context',
          elements: [
            {
              type: 'mrkdwn',
              text: '<https://s3.example.com/r.csv?X-Amz-Signature=abc|CSV report> · <https://s3.example.com/r.json?X-Amz-Signature=def|JSON report> (links expire 2025-10-02T01:00:00.000Z)',
            },
          ],
        },
        { type: 'divider' },
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: '*paypal* 2025-09-30 — :x: *FAILED*: input missing: data/paypal.csv not found',
          },
        },
      ],
    });
  });

  it('lists at most the top N breaks and says how many more there are', () => {
    const run = completedRun({ breaks: Array.from({ length: 25 }, (_, i) => aBreak(i + 1)) });
    const message = slackMessage({ runs: [run], now: NOW }, 3);
    const section = message.blocks[4];
    expect(section).toEqual({
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: [
          '*Top breaks*',
          '• `txn_25` missing in internal 25.00 USD',
          '• `txn_24` missing in internal 24.00 USD',
          '• `txn_23` missing in internal 23.00 USD',
          '…and 22 more',
        ].join('\n'),
      },
    });
  });

  it("stays under Slack's limits for huge runs and many runs ('and N more')", () => {
    const longId = 'x'.repeat(500);
    const huge = completedRun({
      breaks: Array.from({ length: 2000 }, (_, i) =>
        aBreak(i + 1, { transactionId: `${longId}${i}` }),
      ),
    });
    const runs = Array.from({ length: 40 }, (_, i) => ({ ...huge, runId: `run-${i}` }));
    const message = slackMessage({ runs, now: NOW }, 40);
    expect(message.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
    for (const block of message.blocks) {
      if (block.type === 'section' && block.text)
        expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.sectionText);
      if (block.type === 'header')
        expect(block.text.text.length).toBeLessThanOrEqual(SLACK_LIMITS.headerText);
    }
    const breaks = message.blocks[4];
    expect(breaks?.type === 'section' && breaks.text?.text.split('\n').pop()).toMatch(
      /^…and \d+ more$/,
    );
    // 1 header + 9 runs of 5 blocks (divider, title, numbers, breaks, links) + the closing line.
    expect(message.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: '…and 31 more runs (see `recon runs list`)' }],
    });
  });
});

describe('webhook body and signature', () => {
  it('is versioned, with amounts as decimal strings plus minor units', () => {
    expect(webhookBody(completedRun({ breaks: [aBreak(7)] }))).toEqual({
      schema_version: 1,
      type: 'run.completed',
      idempotency_key: `recon:${RUN_ID}:webhook:v1`,
      run: {
        run_id: RUN_ID,
        processor: 'stripe',
        business_date: '2025-09-30',
        status: 'completed',
        error: null,
      },
      counts: {
        processor_transactions: 120,
        internal_transactions: 118,
        matched: 115,
        discrepancies: 3,
        invalid_rows: 1,
      },
      at_stake: { USD: '160.00', EUR: '5.50' },
      discrepancy_rate: '0.025424',
      risk_level: 'MEDIUM',
      breaks_summary: {
        new: 2,
        open: 5,
        resolved: 1,
        reclassified: 0,
        older_than_escalation: 1,
        escalate_days: 7,
      },
      breaks: [
        {
          break_id: 'b7',
          transaction_id: 'txn_7',
          kind: 'missing_in_internal',
          side: 'processor',
          amount: '7.00',
          amount_minor: '700',
          currency: 'USD',
        },
      ],
      reports: {
        kind: 'presigned',
        csv: 'https://s3.example.com/r.csv?X-Amz-Signature=abc',
        json: 'https://s3.example.com/r.json?X-Amz-Signature=def',
        expires_at: '2025-10-02T01:00:00.000Z',
      },
    });
  });

  it('has an idempotency key stable per run, channel and schema version', () => {
    expect([webhookIdempotencyKey(RUN_ID), webhookIdempotencyKey(RUN_ID)]).toEqual([
      `recon:${RUN_ID}:webhook:v1`,
      `recon:${RUN_ID}:webhook:v1`,
    ]);
  });

  it('signs "<t>.<body>" with HMAC-SHA256 as the README recipe verifies', () => {
    const body = '{"schema_version":1}';
    const header = signWebhook('whsec_test_0123456789', 1_759_280_400, body);
    // The README recipe, written out independently.
    const expected = createHmac('sha256', 'whsec_test_0123456789')
      .update(`1759280400.${body}`)
      .digest('hex');
    expect(header).toBe(`t=1759280400,v1=${expected}`);
    expect([
      verifyWebhookSignature(header, body, 'whsec_test_0123456789', 1_759_280_400 + 10),
      verifyWebhookSignature(header, `${body} `, 'whsec_test_0123456789', 1_759_280_400),
      verifyWebhookSignature(header, body, 'another_secret_0123', 1_759_280_400),
      verifyWebhookSignature(header, body, 'whsec_test_0123456789', 1_759_280_400 + 301),
      verifyWebhookSignature('t=1,v1=zz', body, 'whsec_test_0123456789', 1),
    ]).toEqual([true, false, false, false, false]);
  });
});

describe('broker messages', () => {
  it('are one per break event, then run.completed, with message id = event id', () => {
    const messages = amqpMessages(completedRun(), NOW);
    expect(messages).toEqual([
      {
        messageId: 'e1',
        type: 'break.opened',
        body: {
          schema_version: 1,
          event_id: 'e1',
          type: 'break.opened',
          occurred_at: '2025-10-01T00:59:00.000Z',
          run: { run_id: RUN_ID, processor: 'stripe', business_date: '2025-09-30' },
          break: {
            break_id: 'b10',
            transaction_id: 'txn_10',
            kind: 'missing_in_internal',
            side: 'processor',
            status: 'open',
            origin_date: '2025-09-30',
            amount: '10.00',
            amount_minor: '1000',
            currency: 'USD',
          },
          actor: 'run',
          reason: null,
          details: { status: 'open' },
        },
      },
      {
        messageId: `${RUN_ID}:run.completed`,
        type: 'run.completed',
        body: {
          schema_version: 1,
          event_id: `${RUN_ID}:run.completed`,
          type: 'run.completed',
          occurred_at: '2025-10-01T01:00:00.000Z',
          run: {
            run_id: RUN_ID,
            processor: 'stripe',
            business_date: '2025-09-30',
            status: 'completed',
            error: null,
          },
          counts: {
            processor_transactions: 120,
            internal_transactions: 118,
            matched: 115,
            discrepancies: 3,
            invalid_rows: 1,
          },
          at_stake: { USD: '160.00', EUR: '5.50' },
          risk_level: 'MEDIUM',
          breaks_summary: {
            new: 2,
            open: 5,
            resolved: 1,
            reclassified: 0,
            older_than_escalation: 1,
          },
          break_events: 1,
        },
      },
    ]);
  });

  it('name the broker without its password', () => {
    expect([
      amqpTarget({
        url: 'amqp://recon:s3cr3t-pw@mq.internal:5673/ledger',
        exchange: 'recon.events',
        routingKeyPrefix: '',
        timeoutMs: 1000,
      }),
      amqpTarget({
        url: 'amqps://recon:s3cr3t-pw@mq.internal',
        exchange: 'x',
        routingKeyPrefix: '',
        timeoutMs: 1000,
      }),
      urlOrigin('https://hooks.slack.com/services/T000/B000/XXXXSECRET'),
    ]).toEqual([
      'amqp://mq.internal:5673/ledger exchange recon.events',
      'amqps://mq.internal:5671/ exchange x',
      'https://hooks.slack.com',
    ]);
  });
});

describe('channel settings', () => {
  const problems = (env: Record<string, string>): string[] => {
    try {
      loadDeliveryConfig(env);
      return [];
    } catch (error) {
      return error instanceof ConfigError ? [...error.problems] : [String(error)];
    }
  };

  it('need https for Slack and the webhook unless RECON_ALLOW_HTTP_DELIVERY=1, never quoting the URL', () => {
    const env = {
      SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/services/T0/B0/slack-token-123',
      RECON_WEBHOOK_URL: 'http://127.0.0.1:9/hooks/webhook-token-456',
    };
    expect(problems(env)).toEqual([
      'SLACK_WEBHOOK_URL must be an https URL (set RECON_ALLOW_HTTP_DELIVERY=1 to allow http)',
      'RECON_WEBHOOK_URL must be an https URL (set RECON_ALLOW_HTTP_DELIVERY=1 to allow http)',
    ]);
    expect(problems({ ...env, RECON_ALLOW_HTTP_DELIVERY: '1' })).toEqual([]);
    const bad = problems({
      SLACK_WEBHOOK_URL: 'ftp://example.com/slack-token-123',
      RECON_WEBHOOK_SECRET: 'short',
      RECON_AMQP_URL: 'http://guest:amqp-pw-789@127.0.0.1:5672/',
    });
    expect(bad).toEqual([
      'SLACK_WEBHOOK_URL must be an http(s) URL',
      'RECON_WEBHOOK_SECRET must be at least 16 characters',
      'RECON_AMQP_URL must be an amqp:// or amqps:// URL',
    ]);
  });

  it('configure each channel from its variables, with defaults', () => {
    const config = loadDeliveryConfig({
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x',
      RECON_WEBHOOK_URL: 'https://ledger.example.com/recon',
      RECON_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
      RECON_AMQP_URL: 'amqp://guest:guest@127.0.0.1:5672/',
    });
    const http = {
      requestTimeoutMs: 10_000,
      maxAttempts: 4,
      deadlineMs: 60_000,
      retryBaseMs: 500,
      retryMaxMs: 10_000,
    };
    expect([config.slack, config.webhook, config.amqp]).toEqual([
      { url: 'https://hooks.slack.com/services/T0/B0/x', topBreaks: 10, http },
      { url: 'https://ledger.example.com/recon', secret: 'whsec_0123456789abcdef', http },
      {
        url: 'amqp://guest:guest@127.0.0.1:5672/',
        exchange: 'recon.events',
        routingKeyPrefix: '',
        timeoutMs: 10_000,
      },
    ]);
  });
});
