/**
 * Output warping before the GP sees the labels, after Vizier's default pipeline:
 * half-rank (the worse half is re-spread as a Gaussian tail, so outliers and heavy tails lose their
 * leverage), log (stretches differences among the best values), infeasible (infeasible trials are
 * imputed below the worst feasible value). Labels are "higher is better" on input.
 */
import { normalQuantile } from "./special";

/**
 * Warps labels (NaN = infeasible) into finite, centred values of order 1; higher stays better and
 * the order of feasible labels is preserved. Returns null when no label is feasible.
 */
export function warpLabels(labels: ArrayLike<number>): Float64Array | null {
  const n = labels.length;
  const feasible: number[] = [];
  for (let i = 0; i < n; i++) if (Number.isFinite(labels[i]!)) feasible.push(i);
  if (feasible.length === 0) return null;

  const values = rescaled(feasible.map((i) => labels[i]!));
  const halfRanked = halfRank(values);
  const logged = logWarp(halfRanked);

  const out = new Float64Array(n);
  let min = Infinity;
  let max = -Infinity;
  for (const v of logged) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  // Infeasible: one and a half ranges below the worst feasible value (Vizier: min − (0.5·range + 1) on a unit range).
  const infeasibleValue = min - (0.5 * Math.max(max - min, 1e-9) + 1);
  out.fill(infeasibleValue);
  feasible.forEach((i, k) => (out[i] = logged[k]!));
  // Centred so the values stay near 0 (the GP estimates its own constant prior mean, see GpPosterior.priorMean).
  let mean = 0;
  for (let i = 0; i < n; i++) mean += out[i]!;
  mean /= n;
  for (let i = 0; i < n; i++) out[i]! -= mean;
  return out;
}

/** Above this magnitude the squares and differences of the warping overflow; values are scaled down first. */
const LARGEST_UNSCALED = 1e100;

/**
 * The values divided by their largest magnitude when that is beyond LARGEST_UNSCALED: the
 * warping does not depend on the labels' scale, but its squares and ranges overflow to
 * Infinity for objectives near 1e154 and beyond. Ordinary values pass through untouched.
 */
function rescaled(values: number[]): number[] {
  const largest = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return largest > LARGEST_UNSCALED ? values.map((v) => v / largest) : values;
}

/**
 * Values below the median are replaced by median + σ·Φ⁻¹(q), q their rank quantile and σ the RMS
 * deviation of the upper half from the median. The better half is kept as is.
 */
export function halfRank(values: number[]): number[] {
  const n = values.length;
  if (n < 3) return values.slice();
  const order = values.map((_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const median = n % 2 === 1 ? values[order[(n - 1) / 2]!]! : 0.5 * (values[order[n / 2 - 1]!]! + values[order[n / 2]!]!);
  let sumSq = 0;
  let count = 0;
  for (const v of values) {
    if (v >= median) {
      sumSq += (v - median) ** 2;
      count++;
    }
  }
  const sigma = Math.sqrt(sumSq / Math.max(count, 1));
  if (!(sigma > 0)) return values.slice();
  // Average ranks of ties so equal values stay equal.
  const quantile = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start;
    while (end + 1 < n && values[order[end + 1]!] === values[order[start]!]) end++;
    const q = ((start + end) / 2 + 0.5) / n;
    for (let k = start; k <= end; k++) quantile[order[k]!] = q;
    start = end + 1;
  }
  return values.map((v, i) => (v < median ? median + sigma * normalQuantile(quantile[i]!) : v));
}

/** y ← 0.5 − ln(1 + (max − y)/(max − min)·0.5)/ln 1.5: maps [min, max] onto [−0.5, 0.5], concave. */
export function logWarp(values: number[]): number[] {
  const max = Math.max(...values);
  const min = Math.min(...values);
  if (!(max > min)) return values.map(() => 0);
  return values.map((v) => 0.5 - Math.log1p(((max - v) / (max - min)) * 0.5) / Math.log(1.5));
}
