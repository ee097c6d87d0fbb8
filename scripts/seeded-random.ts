/**
 * mulberry32: a tiny seeded pseudo-random generator (uniform in [0, 1)), shared by the sample
 * generator and the benchmarks so that the same seed gives the same data everywhere. Not for
 * anything that needs unpredictability.
 */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
