import { join } from 'node:path';
import { loadConfig } from '../../../src/config/load-config';
import { ConfigError, InputRejectedError, UsageError } from '../../../src/domain/errors';
import {
  detectFormat,
  FORMAT_NAMES,
  formatByName,
  peekFirstRecord,
} from '../../../src/sources/formats/format-registry';
import { makeTempDir } from '../support/temp-files';
import { DERIVED, readProcessorFile, SAMPLES, sampleText, withBomAndCrlf } from './support';

const temp = makeTempDir('format-detection');
afterAll(() => temp.cleanup());
const CANONICAL = join(__dirname, '..', '..', '..', 'data', 'samples', '2025-09-30', 'stripe.csv');

describe('format detection', () => {
  it.each([
    ['stripe/smashpig__settlement_report.csv', 'stripe-balance-report'],
    ['paypal/oca__statement_es.csv', 'paypal-activity'],
    ['paypal/smashpig__stl.csv', 'paypal-stl'],
    ['adyen/oca__settlement_detail_report_batch_238.csv', 'adyen-settlement-detail'],
    ['adyen/oca__settlement_detail_report_batch_100_blank_lines.csv', 'adyen-settlement-detail'],
    ['adyen/oca__settlement_detail_report_batch_666_short_row.csv', 'adyen-settlement-detail'],
    ['adyen/smashpig__settlement_detail_report_payment_cost.csv', 'adyen-settlement-detail'],
  ])('detects %s as %s, also with a BOM and CRLF', async (file, name) => {
    const path = join(SAMPLES, file);
    const first = await peekFirstRecord(path, 'processor input');
    expect(detectFormat(first ?? [])?.name).toBe(name);
    const variant = temp.write(file.replace('/', '_'), withBomAndCrlf(sampleText(path)));
    expect(detectFormat((await peekFirstRecord(variant, 'processor input')) ?? [])?.name).toBe(
      name,
    );
  });

  it('detects the canonical CSV and reads it as before', async () => {
    expect(detectFormat((await peekFirstRecord(CANONICAL, 'x')) ?? [])?.name).toBe('canonical');
    const result = await readProcessorFile(CANONICAL, 'stripe', { businessDate: '2025-09-30' });
    expect(result.rowCount).toBe(30);
    expect(result.table.toArray()[0]?.transactionId).toMatch(/^ch_/);
  });

  it('rejects an unrecognised header, listing every format and the columns it needs', async () => {
    const path = temp.write(
      'unknown.csv',
      'id,Type,Source,Amount,Fee,Net,Currency\n1,charge,ch_1,1,0,1,usd\n',
    );
    const error = await readProcessorFile(path, 'stripe').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputRejectedError);
    const message = (error as Error).message;
    expect(message).toContain(
      'unrecognised header (found: id, Type, Source, Amount, Fee, Net, Currency)',
    );
    for (const name of FORMAT_NAMES) expect(message).toContain(`${name} (`);
    expect(message).toContain(
      'canonical (transaction_id, amount, currency, status, merchant_id, created_at)',
    );
    expect(message).toContain(
      'stripe-balance-report (balance_transaction_id, currency, gross, fee, net',
    );
    expect(message).toContain('use --format to choose one');
  });

  it('rejects an export of another processor than the one reconciled', async () => {
    await expect(
      readProcessorFile(join(SAMPLES, 'paypal', 'smashpig__stl.csv'), 'stripe'),
    ).rejects.toThrow(
      'is in format paypal-stl (PayPal settlement report (STL)) of paypal, but this run reconciles stripe',
    );
  });

  it('keeps the missing-file and empty-file messages of the canonical reader', async () => {
    const missing = join(temp.dir, 'nope.csv');
    await expect(readProcessorFile(missing, 'stripe')).rejects.toThrow(
      `processor input not found: expected ${missing}`,
    );
    const empty = temp.write('empty.csv', '\n\n');
    await expect(readProcessorFile(empty, 'stripe')).rejects.toThrow(
      `processor input ${empty} is empty: expected a header row`,
    );
  });

  it('--format overrides detection: the named format checks the header', async () => {
    await expect(
      readProcessorFile(CANONICAL, 'adyen', { format: 'adyen-settlement-detail' }),
    ).rejects.toThrow(
      /Adyen settlement details report header is missing column\(s\) company account/,
    );
    const forced = await readProcessorFile(
      join(DERIVED, 'adyen_settlement_detail_batch_500.csv'),
      'adyen',
      {
        format: 'adyen-settlement-detail',
      },
    );
    expect(forced.table.toArray()).toHaveLength(5);
  });

  it('rejects an unknown --format name, listing the known ones', () => {
    expect(() => formatByName('adyen')).toThrow(UsageError);
    expect(() => formatByName('adyen')).toThrow(
      "unknown --format 'adyen'; known formats: canonical, stripe-balance-report, paypal-activity, paypal-stl, adyen-settlement-detail",
    );
  });
});

describe('format settings from the environment', () => {
  it('defaults to gross, source_id, UTC, auto date order and auto Adyen key', () => {
    expect(loadConfig({}).formats).toEqual({
      compareAmount: {},
      stripeMatchKey: 'source_id',
      stripeReportTimeZone: 'UTC',
      paypalDateOrder: 'auto',
      adyenMatchKey: 'auto',
    });
  });

  it('reads every knob', () => {
    const formats = loadConfig({
      RECON_COMPARE_AMOUNT: 'net, paypal-stl=gross',
      STRIPE_REPORT_MATCH_KEY: 'charge_id',
      STRIPE_REPORT_TIMEZONE: 'America/New_York',
      RECON_PAYPAL_DATE_ORDER: 'dmy',
      ADYEN_MATCH_KEY: 'merchant_reference',
    }).formats;
    expect(formats).toEqual({
      compareAmount: { '*': 'net', 'paypal-stl': 'gross' },
      stripeMatchKey: 'charge_id',
      stripeReportTimeZone: 'America/New_York',
      paypalDateOrder: 'dmy',
      adyenMatchKey: 'merchant_reference',
    });
  });

  it.each([
    ['RECON_COMPARE_AMOUNT', 'total'],
    ['RECON_COMPARE_AMOUNT', 'square-csv=net'],
    ['STRIPE_REPORT_MATCH_KEY', 'id'],
    ['STRIPE_REPORT_TIMEZONE', 'Mars/Olympus'],
    ['RECON_PAYPAL_DATE_ORDER', 'ymd'],
    ['ADYEN_MATCH_KEY', 'psp'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(name);
  });
});
