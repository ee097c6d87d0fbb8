import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets its old space grow past what the last full collection left live, in percent
 * (V8's `--heap-growing-percent`; its own default picks a factor between 1.1 and 4 from the heap's
 * size and collection speed). A large run's tail (the report files written from the database's
 * rows) leaves short-lived garbage that the default let pile up to ~200 MB before collecting it.
 * With 30 %, measured at 10M × 10M: `--engine postgres` 478 → 297 MiB of peak RSS, the memory
 * engine 2 719 → 2 475 MiB, for 7–9 % more CPU; at 1M × 1M `--engine postgres` 267–280 → 227–233
 * MiB (BENCHMARKS.md, "Issue #16: the heap's growth").
 */
export const HEAP_GROWING_PERCENT = 30;

/**
 * The V8 flag `main` sets at start (`--heap-growing-percent=30`), or null when Node was started
 * with a heap-growth flag of its own (`execArgv`, e.g. `node --heap-growing-percent=50 bin/recon`),
 * which is then kept.
 */
export function heapGrowthFlag(execArgv: readonly string[]): string | null {
  if (execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg))) return null;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Applies `heapGrowthFlag(process.execArgv)`, before the command allocates anything large. */
export function limitHeapGrowth(): void {
  const flag = heapGrowthFlag(process.execArgv);
  if (flag !== null) setFlagsFromString(flag);
}
