import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Logger } from '../../src/config/logger';
import { loadRulesFile } from '../../src/config/rules-file';
import type { MailMessage, Mailer } from '../../src/delivery/smtp-mailer';
import { deliverResults, toDeliverable } from '../../src/job/deliver-results';
import { runReconciliation, type RunRequest } from '../../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';
import { DeliveryStore } from '../../src/store/delivery-store';
import { createRunStore } from '../../src/store/open-store';

/**
 * The summary e-mail of the bundled rules sample day (data/samples/rules/2025-09-30 with
 * data/samples/rules/recon.config.yaml): reconciled for real into an in-memory embedded database,
 * its JSON reports mapped into the e-mail by the delivery code.
 */
const ROOT = resolve(__dirname, '..', '..');
const NOW = Date.parse('2025-10-01T01:00:00Z');
const silent = { child: () => silent, info: () => {}, warn: () => {}, error: () => {} };
const logger = silent as unknown as Logger;

describe('summary e-mail of a run with rules-file tiers', () => {
  it('shows each tier’s matches and the tier kinds in the overview (whole section)', async () => {
    const work = mkdtempSync(join(tmpdir(), 'recon-email-rules-'));
    const store = createRunStore({
      kind: 'pglite',
      settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
    });
    try {
      const request: RunRequest = {
        dates: ['2025-09-30'],
        processors: ['stripe', 'square'],
        timeZone: 'UTC',
        sources: {
          processorSource: 'csv',
          internalSource: 'csv',
          dataDir: join(ROOT, 'data/samples/rules'),
        },
        reportsDir: join(work, 'reports'),
        dryRun: false,
        maxInvalidRate: '0.01',
        appVersion: 'test',
        rules: loadRulesFile(join(ROOT, 'data/samples/rules/recon.config.yaml')),
      };
      const results = await runReconciliation(
        { store, logger, now: () => NOW, apis: { http: DEFAULT_HTTP_SETTINGS } },
        request,
      );
      let mail: MailMessage | undefined;
      const mailer: Mailer = {
        description: 'capture',
        recipients: ['ops@example.com'],
        send: (message) => {
          mail = message;
          return Promise.resolve();
        },
      };
      await deliverResults(
        {
          objectStore: null,
          mailer,
          deliveries: new DeliveryStore(() => store.database()),
          logger,
          now: () => NOW,
          emailOn: 'always',
          attachMaxBytes: 1_000_000,
          presignExpirySeconds: 86_400,
          fx: null,
        },
        results.map(toDeliverable),
        { s3: false, email: true },
      );
      const text = mail?.text ?? '';
      const overview = text.slice(text.indexOf('OVERVIEW'), text.indexOf('LARGEST'));
      expect(overview.split('\n')).toEqual([
        'OVERVIEW',
        '  stripe 2025-09-30 — HIGH risk',
        '    matched       3',
        '    discrepancies 2 (40.00%): 1 amount mismatch, 1 matched with variance',
        '    at stake      0.11 USD',
        '    fees          USD 316.99 gross, 10.70 fees, 306.29 net (337.55 bps)',
        '    matches       id 2: USD 150.00, |variance| 0.00',
        '                  by_reference 1: USD 25.00, |variance| 0.00',
        '                  near_amount 1: USD 99.99, |variance| 0.01',
        '    inputs        5 processor, 5 ledger transactions',
        '  square 2025-09-30 — HIGH risk',
        '    matched       4',
        '    discrepancies 6 (60.00%): 1 missing in processor, 1 fee mismatch, 4 ambiguous',
        '    at stake      132.54 USD',
        '    fees          USD 305.00 gross, 11.06 fees, 293.94 net (362.62 bps)',
        '    matches       id 2: USD 25.00, |variance| 0.00',
        '                  by_reference 2: USD 180.00, |variance| 0.00',
        '                  same_amount_nearby 0',
        '    inputs        7 processor, 8 ledger transactions',
        '',
        '',
      ]);
    } finally {
      await store.close();
    }
  });
});
