import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

describe('recon with a reporting currency', () => {
  it('rejects a bad rates file before any side effect: one line naming file, line and field, exit 2', async () => {
    const work = mkdtempSync(join(tmpdir(), 'recon-fx-cli-'));
    const rates = join(work, 'rates.csv');
    writeFileSync(rates, 'currency,rate,as_of\nEUR,1.17,2025-09-30\nKWD,3.27,30/09/2025\n');
    const result = await runCli(
      ['run', '--date', '2025-09-30', '--processors', 'stripe', '--data-dir', 'data/samples'],
      {
        RECON_PGLITE_DIR: join(work, 'pgdata'),
        RECON_REPORTS_DIR: join(work, 'reports'),
        RECON_REPORTING_CURRENCY: 'USD',
        RECON_FX_RATES_FILE: rates,
      },
    );
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toBe(
      `recon: RECON_FX_RATES_FILE ${rates} line 3 field as_of: must be a date YYYY-MM-DD, got "30/09/2025"`,
    );
    expect(result.stdout).toBe('');
    // Nothing was started: no database, no reports.
    expect(readdirSync(work)).toEqual(['rates.csv']);
  });
});
