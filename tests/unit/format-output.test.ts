import { renderTable } from '../../src/cli/format-output';

describe('renderTable', () => {
  it('aligns columns to the widest cell and replaces control characters', () => {
    expect(
      renderTable(
        ['id', 'n'],
        [
          ['a\u001b[31m', '1'],
          ['bb', '22'],
        ],
      ),
    ).toBe(['id      n', '------  --', 'a?[31m  1', 'bb      22'].join('\n'));
  });

  it('renders more rows than a spread argument list can hold', () => {
    const rows = Array.from({ length: 1_000_000 }, (_, i) => [String(i), 'x']);
    const lines = renderTable(['row', 'v'], rows).split('\n');
    expect([lines.length, lines[0], lines[2], lines.at(-1)]).toEqual([
      1_000_002,
      'row     v',
      '0       x',
      '999999  x',
    ]);
  });
});
