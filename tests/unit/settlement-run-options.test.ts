import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settlementLine } from '../../src/cli/format-output';
import { parseBankSettings } from '../../src/cli/options';
import { UsageError } from '../../src/domain/errors';
import { settlementCounts } from '../../src/engine/settlement';
import { buildSettlementGroups } from '../../src/engine/settlement-groups';
import { bankFilesFor, NO_BANK } from '../../src/job/settlement-leg';

describe('bank statement options of recon run', () => {
  it('defaults: no files, no folder, format detected, window 3 days', () => {
    expect(parseBankSettings({}, {})).toEqual({ files: [], dir: null, windowDays: 3 });
    expect(parseBankSettings({}, { RECON_BANK_DIR: '' })).toEqual(NO_BANK);
  });

  it('reads --bank-file (repeatable), RECON_BANK_DIR, --bank-format and --bank-window-days', () => {
    expect(
      parseBankSettings(
        { bankFile: ['a.xml', 'b.bai'], bankFormat: 'bai2', bankWindowDays: '0' },
        { RECON_BANK_DIR: 'bank' },
      ),
    ).toEqual({ files: ['a.xml', 'b.bai'], dir: 'bank', format: 'bai2', windowDays: 0 });
  });

  it('refuses an unknown format and a window that is not 0 to 31 whole days (usage errors)', () => {
    expect(() => parseBankSettings({ bankFormat: 'mt940' }, {})).toThrow(
      new UsageError("--bank-format must be one of camt053, bai2, csv, got 'mt940'"),
    );
    for (const days of ['-1', '1.5', '32', 'x'])
      expect(() => parseBankSettings({ bankWindowDays: days }, {})).toThrow(
        new UsageError(
          `--bank-window-days must be a whole number of days from 0 to 31, got '${days}'`,
        ),
      );
  });
});

describe('bank statement files of a date', () => {
  it('--bank-file wins; else every visible file under {RECON_BANK_DIR}/{date}/ by name; none without the folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'recon-bank-'));
    mkdirSync(join(dir, '2025-10-06', 'sub'), { recursive: true });
    for (const name of ['b.bai', 'a.xml', '.hidden'])
      writeFileSync(join(dir, '2025-10-06', name), '');
    const settings = { ...NO_BANK, dir };
    expect(await bankFilesFor(settings, '2025-10-06')).toEqual([
      join(dir, '2025-10-06', 'a.xml'),
      join(dir, '2025-10-06', 'b.bai'),
    ]);
    expect(await bankFilesFor(settings, '2025-10-07')).toEqual([]);
    expect(await bankFilesFor({ ...settings, files: ['x.xml'] }, '2025-10-06')).toEqual(['x.xml']);
  });
});

describe('the payouts line of recon run', () => {
  const groups = buildSettlementGroups(
    [
      {
        kind: 'stripe_payout',
        key: 'po_1',
        currency: 'USD',
        amount: 100n,
        dueDate: null,
        itemizable: true,
      },
      {
        kind: 'stripe_payout',
        key: 'po_2',
        currency: 'USD',
        amount: 100n,
        dueDate: null,
        itemizable: true,
      },
    ],
    [
      {
        id: 'ch_1',
        parentKey: 'po_1',
        category: 'charge',
        currency: 'USD',
        gross: 100n,
        net: 100n,
      },
    ],
    { asOfDate: '2025-10-06', orphanKind: 'stripe_payout' },
  );

  it('lists the group outcomes and says when no statement was read', () => {
    expect(
      settlementLine({
        groups,
        bank: null,
        bankEntries: [],
        counts: settlementCounts(groups, null),
      }),
    ).toBe('payouts: 2 (1 group matched, 1 group sum mismatch); bank: no statement');
  });
});
