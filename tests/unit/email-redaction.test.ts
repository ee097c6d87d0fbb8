import { currentRedactor, installRedactor, Redactor, REDACTED } from '../../src/domain/redact';
import { renderEmail, type RunDigest } from '../../src/reports/email-summary';

const KEY = 'sk_live_"email<secret>&1';
const LINK =
  'http://127.0.0.1:9000/acme/reports/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F20250930&X-Amz-Signature=abc123def';

function failedDigest(error: string): RunDigest {
  return {
    runId: '00000000-0000-4000-8000-000000000001',
    businessDate: '2025-09-30',
    processor: 'stripe',
    status: 'failed',
    error,
    errorLabel: 'configuration error',
    processorTransactions: 0,
    internalTransactions: 0,
    invalidRows: 0,
    counts: null,
    discrepancyCount: 0,
    discrepancyAmounts: {},
    discrepancyRate: null,
    riskLevel: null,
    largest: [],
    quality: [],
    links: { kind: 'presigned', csv: LINK, json: null },
  };
}

describe('the e-mail never carries a secret', () => {
  const before = currentRedactor();
  beforeEach(() => installRedactor(new Redactor([{ name: 'STRIPE_API_KEY', value: KEY }])));
  afterEach(() => installRedactor(before));

  it('redacts configured values and patterns in what it says, in text and HTML', () => {
    const email = renderEmail(
      [failedDigest(`HTTP 401: key ${KEY} rejected; retry https://u:pw123456@h/x?token=t0k`)],
      '2025-10-01T01:00:00.000Z',
    );
    for (const body of [email.subject, email.text, email.html]) {
      expect(body).not.toContain('email<secret>');
      expect(body).not.toContain('email&lt;secret&gt;');
      expect(body).not.toContain('pw123456');
      expect(body).not.toContain('t0k');
    }
    expect(email.text).toContain(
      `HTTP 401: key ${REDACTED} rejected; retry https://u:${REDACTED}@h/x?token=${REDACTED}`,
    );
  });

  it('keeps the signature of presigned report links, which is what makes them work', () => {
    const email = renderEmail([failedDigest('input missing')], '2025-10-01T01:00:00.000Z');
    const { links } = failedDigest('');
    expect(links.csv).toBe(LINK);
    expect(email.html).toContain('X-Amz-Signature=abc123def');
  });
});
