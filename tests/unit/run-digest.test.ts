import { describeResultDifference, type RunResults } from '../../src/store/run-digest';

const results: RunResults = {
  processor_transactions: 30,
  internal_transactions: 26,
  matched: 23,
  missing_in_internal: 5,
  missing_in_processor: 1,
  amount_mismatch: 1,
  currency_mismatch: 0,
  status_mismatch: 1,
  duplicate: 0,
  discrepancy_count: 8,
  invalid_rows: 0,
  discrepancy_amounts: { EUR: '387.23', USD: '996.05' },
  total_discrepancy_amount: null,
  total_discrepancy_currency: null,
  processor_volume: { EUR: '2685.88', USD: '4166.81' },
  internal_volume: { EUR: '2298.65', USD: '3550.61' },
  discrepancy_rate: '0.258065',
  risk_level: 'HIGH',
  compliance_status: 'NON_COMPLIANT',
  discrepancy_rows: 8,
  discrepancies_sha256: 'a'.repeat(64),
  discrepancy_details_sha256: 'd'.repeat(64),
  finding_rows: 2,
  findings_sha256: 'b'.repeat(64),
  settlement_rows: 5,
  settlement_sha256: 'c'.repeat(64),
};

describe('describeResultDifference', () => {
  it('finds no difference when the recorded results are the same, whatever the key order', () => {
    const recorded = JSON.parse(
      JSON.stringify({ ...results, discrepancy_amounts: { USD: '996.05', EUR: '387.23' } }),
    ) as unknown;
    expect(describeResultDifference(results, recorded)).toBeNull();
  });

  it('names the first differing key in the documented order, with both values', () => {
    expect(
      describeResultDifference({ ...results, discrepancy_count: 0, risk_level: 'LOW' }, results),
    ).toBe('discrepancy_count is 0, recorded 8');
  });

  it('compares amounts exactly, as decimal strings', () => {
    expect(
      describeResultDifference(
        { ...results, discrepancy_amounts: { EUR: '387.230', USD: '996.05' } },
        results,
      ),
    ).toBe(
      'discrepancy_amounts is {"EUR":"387.230","USD":"996.05"}, recorded {"EUR":"387.23","USD":"996.05"}',
    );
  });

  it('treats a missing recorded key as a difference', () => {
    const partial: Record<string, unknown> = { ...results };
    delete partial.findings_sha256;
    expect(describeResultDifference(results, partial)).toBe(
      `findings_sha256 is ${'b'.repeat(64)}, recorded undefined`,
    );
  });

  it('compares the settlement rows (schema 7) when the entry has them, and skips them in an older entry', () => {
    expect(describeResultDifference({ ...results, settlement_rows: 4 }, results)).toBe(
      'settlement_rows is 4, recorded 5',
    );
    const before7: Record<string, unknown> = { ...results };
    delete before7.settlement_rows;
    delete before7.settlement_sha256;
    expect(describeResultDifference(results, before7)).toBeNull();
  });

  it('compares the discrepancy details digest when the entry has it, and skips it in an older entry', () => {
    expect(
      describeResultDifference({ ...results, discrepancy_details_sha256: 'e'.repeat(64) }, results),
    ).toBe(`discrepancy_details_sha256 is ${'e'.repeat(64)}, recorded ${'d'.repeat(64)}`);
    const older: Record<string, unknown> = { ...results };
    delete older.discrepancy_details_sha256;
    expect(describeResultDifference(results, older)).toBeNull();
  });
});
