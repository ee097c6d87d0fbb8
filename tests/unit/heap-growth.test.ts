import { HEAP_GROWING_PERCENT, heapGrowthFlag } from '../../src/cli/heap-growth';

describe('heapGrowthFlag', () => {
  it('limits the old space to 30 % past the live heap when Node was started without such a flag', () => {
    expect([HEAP_GROWING_PERCENT, heapGrowthFlag([]), heapGrowthFlag(['--liftoff-only'])]).toEqual([
      30,
      '--heap-growing-percent=30',
      '--heap-growing-percent=30',
    ]);
  });

  it("keeps the operator's own heap-growth flag, in either spelling", () => {
    expect(
      [
        ['--heap-growing-percent=50'],
        ['--heap_growing_percent=10'],
        ['--max-old-space-size=512', '--heap-growing-percent', '20'],
        ['--heap-growing-percentage=5'],
      ].map(heapGrowthFlag),
    ).toEqual([null, null, null, '--heap-growing-percent=30']);
  });
});
