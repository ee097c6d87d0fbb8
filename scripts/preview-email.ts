/**
 * Renders the summary e-mail of the bundled sample day so a person can look at it:
 * `npm run preview:email` writes `local_reports/email-preview/email.html` (+ `trend.png`,
 * `email.txt`) and, when Chromium is installed (Debian package `chromium`), two screenshots of the
 * HTML: `email.png` (desktop, 820 px wide) and `email-phone.png` (390 px, a phone's width).
 * `npm run preview:email -- --docs` also copies both screenshots to docs/.
 *
 * It reconciles data/samples/2025-09-30 into an in-memory embedded database (three runs, then
 * square once more so the e-mail shows a rerun, plus earlier synthetic days for the trend chart),
 * then asks the real delivery code to send the e-mail through a mailer that only captures the
 * message. The reporting currency is RECON_REPORTING_CURRENCY / RECON_FX_RATES_FILE when set,
 * else USD with the illustrative data/fx/rates.csv.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { loadFxRates } from '../src/config/fx-config';
import { createLogger } from '../src/config/logger';
import type { MailMessage, Mailer } from '../src/delivery/smtp-mailer';
import { deliverResults, toDeliverable } from '../src/job/deliver-results';
import { runReconciliation, type RunRequest } from '../src/job/run-reconciliation';
import { DEFAULT_HTTP_SETTINGS } from '../src/sources/http/http-client';
import { DeliveryStore } from '../src/store/delivery-store';
import { createRunStore } from '../src/store/open-store';

const ROOT = resolve(__dirname, '..', '..');
const OUT = join(ROOT, 'local_reports', 'email-preview');

/**
 * Crops a screenshot below its last non-white pixel row (Chromium shoots the whole window):
 * the PNG is drawn into an SVG by resvg, once to find the content's height, once cropped.
 */
async function trimBottom(png: Buffer): Promise<Buffer> {
  const { Resvg } = await import('@resvg/resvg-js');
  const draw = (width: number, height: number, fullHeight: number) =>
    new Resvg(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
        `<image href="data:image/png;base64,${png.toString('base64')}" width="${width}" height="${fullHeight}"/></svg>`,
    ).render();
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const full = draw(width, height, height);
  const pixels = full.pixels;
  let last = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      if (
        (pixels[i] ?? 255) < 250 ||
        (pixels[i + 1] ?? 255) < 250 ||
        (pixels[i + 2] ?? 255) < 250
      ) {
        last = y;
        break;
      }
    }
  }
  return Buffer.from(draw(width, Math.min(height, last + 16), height).asPng());
}

function screenshot(
  chromium: string,
  work: string,
  html: string,
  width: number,
  out: string,
): void {
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
      `--window-size=${width},4000`,
      `--screenshot=${out}`,
      `file://${html}`,
    ],
    { stdio: 'ignore', timeout: 60_000 },
  );
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'recon-preview-'));
  const logger = createLogger('warn');
  const store = createRunStore({
    kind: 'pglite',
    settings: { dataDir: 'memory://', lockDir: join(work, 'locks'), dirLockWaitMs: 0 },
  });
  const fx = loadFxRates({
    RECON_REPORTING_CURRENCY: process.env.RECON_REPORTING_CURRENCY || 'USD',
    RECON_FX_RATES_FILE:
      process.env.RECON_FX_RATES_FILE ||
      relative(process.cwd(), join(ROOT, 'data', 'fx', 'rates.csv')),
  });
  try {
    const request: RunRequest = {
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
      fx,
    };
    const jobDeps = { store, logger, now: () => Date.now(), apis: { http: DEFAULT_HTTP_SETTINGS } };
    const first = await runReconciliation(jobDeps, request);
    // square once more: its e-mail entry says which run it supersedes.
    const rerun = await runReconciliation(jobDeps, { ...request, processors: ['square'] });
    const results = [...first.filter((r) => r.processor !== 'square'), ...rerun];
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
        fx,
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
    for (const [name, width] of [
      ['email.png', 820],
      ['email-phone.png', 390],
    ] as const) {
      const raw = join(work, name);
      screenshot(chromium, work, join(OUT, 'email.html'), width, raw);
      writeFileSync(join(OUT, name), await trimBottom(readFileSync(raw)));
      if (process.argv.includes('--docs')) {
        copyFileSync(join(OUT, name), join(ROOT, 'docs', name.replace('email', 'email-preview')));
      }
    }
    console.log(`wrote ${join(OUT, 'email.png')} and email-phone.png`);
  } finally {
    await store.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
