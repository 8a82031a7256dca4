/**
 * Latency recording and summary statistics for the benchmarks.
 */

/** Append-only store of latency samples (microseconds) backed by a growable Float64Array. */
export class LatencyRecorder {
  #data = new Float64Array(1 << 16);
  #len = 0;

  /** Records one sample, in microseconds. */
  add(us: number): void {
    if (this.#len === this.#data.length) {
      const next = new Float64Array(this.#data.length * 2);
      next.set(this.#data);
      this.#data = next;
    }
    this.#data[this.#len++] = us;
  }

  /** Number of samples recorded. */
  get count(): number {
    return this.#len;
  }

  /** A sorted copy of the samples. */
  sorted(): Float64Array {
    return this.#data.slice(0, this.#len).sort();
  }
}

/** The `p`-th percentile (0..100) of an ascending-sorted array, nearest-rank; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  const i = Math.min(n - 1, Math.max(0, rank - 1));
  return sorted[i] as number;
}

/** Arithmetic mean; NaN when empty. */
export function mean(values: ArrayLike<number>): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] as number;
  return sum / values.length;
}

/** Median of unsorted values; NaN when empty. */
export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** Rounds to `digits` decimals (for compact JSON). */
export function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
