import { parseCutoff } from '../../src/domain/cutoff';
import { STATUS_MAPS } from '../../src/domain/status';
import {
  ApiSource,
  type ApiAdapter,
  type ApiPage,
  type FetchWindow,
} from '../../src/sources/http/api-source';
import { DEFAULT_HTTP_SETTINGS } from '../../src/sources/http/http-client';

/** An adapter that records the window it is asked for and returns one page of two items. */
function recordingAdapter(windows: FetchWindow[]): ApiAdapter {
  return {
    service: 'square',
    location: 'https://connect.squareup.com/v2/payments',
    // eslint-disable-next-line @typescript-eslint/require-await
    async *fetchPages(window: FetchWindow): AsyncGenerator<ApiPage> {
      windows.push(window);
      yield { path: '/v2/payments', body: {} };
    },
    itemsOf: () => [
      { id: 'sq_1', at: '2025-09-29T16:59:00-07:00' },
      { id: 'sq_2', at: '2025-09-29T17:01:00-07:00' },
    ],
    toRecord: (item: unknown) => {
      const { id, at } = item as { id: string; at: string };
      return {
        transactionId: id,
        amount: { units: 'minor', value: 100 },
        currency: 'USD',
        status: 'COMPLETED',
        merchantId: 'm',
        createdAt: at,
        fields: {
          transactionId: 'id',
          amount: 'amount',
          currency: 'currency',
          status: 'status',
          merchantId: 'merchant',
          createdAt: 'at',
          fee: 'fee',
        },
      };
    },
    probe: () => Promise.resolve(),
  };
}

const iso = (w: FetchWindow | undefined) =>
  w && [new Date(w.startMs).toISOString(), new Date(w.endMs).toISOString()];

describe("an API side's fetch window and row dates follow its cut-off", () => {
  const source = (windows: FetchWindow[]) =>
    new ApiSource('processor', recordingAdapter(windows), {
      http: DEFAULT_HTTP_SETTINGS,
      reporter: { info: () => undefined, warn: () => undefined },
      label: 'square/processor',
    });

  it("fetches Square's 2025-09-29 from 17:00 PDT on 09-28 to 17:00 PDT on 09-29", async () => {
    const windows: FetchWindow[] = [];
    const result = await source(windows).read({
      businessDate: '2025-09-29',
      timeZone: 'UTC',
      statusMap: STATUS_MAPS.square,
      cutoff: parseCutoff('America/Los_Angeles 17:00', 'RECON_CUTOFF_SQUARE'),
    });
    expect({
      window: iso(windows[0]),
      dates: [0, 1].map((row) => result.table.atBusinessDate(row)),
      outside: result.issues
        .filter((issue) => issue.check === 'outside_business_date')
        .map((issue) => [issue.line, issue.reason]),
    }).toEqual({
      window: ['2025-09-29T00:00:00.000Z', '2025-09-30T00:00:00.000Z'],
      dates: ['2025-09-29', '2025-09-30'],
      outside: [
        [
          2,
          'dated 2025-09-30, not the business date 2025-09-29 (cut-off America/Los_Angeles 17:00)',
        ],
        [null, '1 row(s) dated outside the business date 2025-09-29'],
      ],
    });
  });

  it('fetches the calendar day in RECON_TIMEZONE without a cut-off, as before', async () => {
    const windows: FetchWindow[] = [];
    await source(windows).read({
      businessDate: '2025-09-29',
      timeZone: 'Europe/Amsterdam',
      statusMap: STATUS_MAPS.square,
    });
    expect(iso(windows[0])).toEqual(['2025-09-28T22:00:00.000Z', '2025-09-29T22:00:00.000Z']);
  });
});
