import { AmbiguousIdError, NotFoundError, UsageError } from '../../src/domain/errors';
import { parseIdPrefix, pickUniqueId } from '../../src/store/id-prefix';

describe('parseIdPrefix', () => {
  it('lowercases and trims a prefix of 8 to 36 hex digits and dashes', () => {
    expect(parseIdPrefix('break', ' 0B8E5A55-2B7C ')).toBe('0b8e5a55-2b7c');
  });

  it('echoes hostile input without control characters and cut to one line', () => {
    const input = `\u001b[31m${'f'.repeat(60)}\n`;
    expect(() => parseIdPrefix('payout', input)).toThrow(
      new UsageError(
        `payout id '?[31m${'f'.repeat(31)}…' is not a payout id or a prefix of one: use hex digits and dashes, e.g. the first 8 characters`,
      ),
    );
  });
});

describe('pickUniqueId', () => {
  it('returns the one match', () => {
    expect(pickUniqueId('run', 'abcd1234', ['abcd1234-0000-4000-8000-000000000001'], 1)).toBe(
      'abcd1234-0000-4000-8000-000000000001',
    );
  });

  it('names the kind of id when nothing matches', () => {
    expect(() => pickUniqueId('break', 'abcd1234', [], 0)).toThrow(
      new NotFoundError("no break id starts with 'abcd1234'"),
    );
  });

  it('lists the matches of an ambiguous prefix', () => {
    expect(() => pickUniqueId('payout', 'abcd1234', ['abcd1234-a', 'abcd1234-b'], 2)).toThrow(
      new AmbiguousIdError(
        "payout id prefix 'abcd1234' is ambiguous: abcd1234-a, abcd1234-b",
        'abcd1234',
        ['abcd1234-a', 'abcd1234-b'],
      ),
    );
  });
});
