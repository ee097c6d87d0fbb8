/**
 * Renders the summary e-mail of the bundled sample day so a person can look at it:
 * `npm run preview:email` writes `local_reports/email-preview/email.html` (+ `trend.png`) and, when
 * Chromium is installed (Debian package `chromium`), a screenshot `email.png` of the HTML.
 *
 * It reconciles data/samples/2025-09-30 into an in-memory embedded database (three runs, plus
 * earlier synthetic days for the trend chart), then asks the real delivery code to send the
 * e-mail through a mailer that only captures the message.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createLogger } from '../src/config/logger';
import type { MailMessage, Mailer } from '../src/delivery/smtp-mailer';
import { deliverResults, toDeliverable } from '../src/job/deliver-results';
import { runReconciliation } from '../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../src/sources/http/http-client';
import { DeliveryStore } from '../src/store/delivery-store';
import { createRunStore } from '../src/store/open-store';

const ROOT = resolve(__dirname, '..', '..');
const OUT = join(ROOT, 'local_reports', 'email-preview');

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'recon-preview-'));
  const logger = createLogger('warn');
  const store = createRunStore({
    kind: 'pglite',
    settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
  });
  try {
    const results = await runReconciliation(
      { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } },
      {
        dates: ['2025-09-30'],
        processors: ['stripe', 'paypal', 'square'],
        timeZone: 'UTC',
        sources: {
          processorSource: 'csv',
          internalSource: 'csv',
          dataDir: join(ROOT, 'data', 'samples'),
        },
        reportsDir: join(work, 'reports'),
        dryRun: false,
        maxInvalidRate: '0.01',
        appVersion: 'preview',
      },
    );
    // Earlier business dates, so the trend chart has a history to draw.
    const db = await store.database();
    for (let day = 17; day <= 29; day++) {
      for (const [processor, base] of [
        ['stripe', 0.04],
        ['paypal', 0.02],
        ['square', 0.01],
      ] as const) {
        const rate = (base * (1 + Math.sin(day * (processor.length + 1)) / 2)).toFixed(6);
        await db.query(
          `INSERT INTO reconciliation_runs (run_date, processor_name, status, end_time, discrepancy_rate)
           VALUES ($1, $2, 'completed', now(), $3)`,
          [`2025-09-${day}`, processor, rate],
        );
      }
    }
    let captured: MailMessage | undefined;
    const mailer: Mailer = {
      description: 'preview',
      recipients: ['ops@example.com'],
      send: (message) => {
        captured = message;
        return Promise.resolve();
      },
    };
    await deliverResults(
      {
        objectStore: null,
        mailer,
        deliveries: new DeliveryStore(() => store.database()),
        logger,
        now: () => Date.now(),
        emailOn: 'always',
        attachMaxBytes: 1_000_000,
        presignExpirySeconds: 86_400,
      },
      results.map(toDeliverable),
      { s3: false, email: true },
    );
    if (!captured) throw new Error('no e-mail was rendered');
    mkdirSync(OUT, { recursive: true });
    let html = captured.html;
    for (const attachment of captured.attachments) {
      if (!attachment.cid) continue;
      writeFileSync(join(OUT, attachment.filename), attachment.content);
      html = html.replace(`cid:${attachment.cid}`, attachment.filename);
    }
    writeFileSync(join(OUT, 'email.html'), html);
    writeFileSync(join(OUT, 'email.txt'), `Subject: ${captured.subject}\n\n${captured.text}\n`);
    console.log(`subject: ${captured.subject}`);
    console.log(`wrote ${join(OUT, 'email.html')} and email.txt`);
    const chromium = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((path) =>
      existsSync(path),
    );
    if (!chromium) {
      console.log('chromium not installed (apt-get install chromium): no screenshot');
      return;
    }
    execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${join(work, 'chromium')}`,
        '--hide-scrollbars',
        '--window-size=820,2600',
        `--screenshot=${join(OUT, 'email.png')}`,
        `file://${join(OUT, 'email.html')}`,
      ],
      { stdio: 'ignore', timeout: 60_000 },
    );
    console.log(`wrote ${join(OUT, 'email.png')}`);
  } finally {
    await store.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
