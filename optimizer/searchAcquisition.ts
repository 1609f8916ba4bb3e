/**
 * Maximizes an acquisition score over the mixed space: scrambled-Halton candidates plus
 * perturbations of the best trials, then an evolution strategy from the best few of them
 * ((1+λ) with a step size that grows on success and shrinks on failure, moves to neighbouring
 * values for integer/discrete dimensions and to other categories for categorical ones).
 * Every evaluated point is repaired (snapped, conditional placeholders set) first, so the
 * optimum is found among feasible points, not rounded afterwards.
 */
import { ScrambledHalton } from "./qmc";
import type { Rng } from "./rng";
import { nearestValue, pointKey, repair, toUnit, type Dimension, type Space } from "./space";

/** Budget of one acquisition search. */
export interface SearchBudget {
  /** Total score evaluations. */
  evaluations: number;
  /** Number of local searches. */
  starts: number;
}

/** A point and its score. */
export interface Scored {
  x: Float64Array;
  value: number;
}

/**
 * Distinct points, best first: the local-search optima followed by the rest of the pool, so a
 * caller that must skip seen points has alternatives.
 * @param anchors points worth searching near (the best trials), perturbed into the pool
 */
export function searchAcquisition(
  space: Space,
  score: (x: Float64Array) => number,
  anchors: Float64Array[],
  rng: Rng,
  budget: SearchBudget,
): Scored[] {
  const dimCount = space.dims.length;
  const byKey = new Map<string, Scored>();
  let used = 0;
  const evaluate = (x: Float64Array): Scored => {
    repair(space, x, rng);
    const key = pointKey(x);
    const known = byKey.get(key);
    if (known) return known;
    used++;
    const s = { x, value: score(x) };
    byKey.set(key, s);
    return s;
  };

  const poolSize = Math.max(1, Math.floor(budget.evaluations * 0.4));
  const halton = new ScrambledHalton(dimCount, rng.nextUint32());
  const perturbCount = Math.min(Math.floor(poolSize / 4), anchors.length * 8);
  for (let i = 0; i < poolSize - perturbCount; i++) evaluate(fromCube(space, halton.point(i)));
  for (let i = 0; i < perturbCount; i++) {
    const anchor = anchors[i % anchors.length]!;
    evaluate(mutate(space, anchor, 0.05, rng));
  }

  const pool = [...byKey.values()].sort(byValue);
  const starts = pool.slice(0, budget.starts);
  const perStart = Math.max(1, Math.floor((budget.evaluations - used) / Math.max(starts.length, 1)));
  const lambda = 6;
  for (const start of starts) {
    let current = start;
    let step = 0.1;
    for (let spent = 0; spent + lambda <= perStart && step > 1e-7; ) {
      let best: Scored | null = null;
      for (let k = 0; k < lambda; k++, spent++) {
        const child = evaluate(mutate(space, current.x, step, rng));
        if (!best || child.value > best.value) best = child;
      }
      if (best && best.value > current.value) {
        current = best;
        step = Math.min(step * 1.6, 0.3);
      } else {
        step *= 0.55;
      }
    }
  }
  return [...byKey.values()].sort(byValue);
}

function byValue(a: Scored, b: Scored): number {
  return b.value - a.value;
}

/** A unit-cube point as a (not yet repaired) point of the space: categorical coordinates become indices. */
export function fromCube(space: Space, u: Float64Array): Float64Array {
  const x = new Float64Array(u);
  space.dims.forEach((dim, d) => {
    if (dim.type === "CATEGORICAL") x[d] = Math.min(dim.categories.length - 1, Math.floor(u[d]! * dim.categories.length));
  });
  return x;
}

/**
 * A random neighbour: Gaussian steps of size `step` on numeric dimensions; with probability 1/D per
 * dimension an integer/discrete one moves to an adjacent value (steps smaller than its spacing would
 * otherwise never move it) and a categorical one to another category.
 */
function mutate(space: Space, x: Float64Array, step: number, rng: Rng): Float64Array {
  const y = new Float64Array(x);
  const p = 1 / space.dims.length;
  space.dims.forEach((dim, d) => {
    if (dim.type === "CATEGORICAL") {
      if (rng.uniform() < p && dim.categories.length > 1) {
        const current = Math.round(x[d]!);
        const other = rng.int(dim.categories.length - 1);
        y[d] = other >= current ? other + 1 : other;
      }
      return;
    }
    y[d] = Math.min(1, Math.max(0, x[d]! + step * rng.normal()));
    if (dim.type !== "DOUBLE" && rng.uniform() < p) y[d] = adjacentUnit(dim, x[d]!, rng.uniform() < 0.5 ? -1 : 1);
  });
  return y;
}

/** The unit coordinate of the feasible value next to the one at u, in direction ±1 (clamped at the ends). */
function adjacentUnit(dim: Dimension, u: number, direction: -1 | 1): number {
  const value = nearestValue(dim, u);
  if (dim.type === "INTEGER") return toUnit(dim, Math.min(dim.hi, Math.max(dim.lo, value + direction)));
  const index = dim.values.indexOf(value);
  return dim.unitValues[Math.min(dim.values.length - 1, Math.max(0, index + direction))]!;
}
