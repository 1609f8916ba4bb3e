/**
 * A bound-constrained quasi-Newton minimizer: L-BFGS with projection onto the box (a compact
 * variant of L-BFGS-B). Variables at a bound whose gradient pushes outward are held fixed for the
 * step; the search direction uses the limited-memory inverse-Hessian estimate on the free
 * variables; a backtracking Armijo search runs along the projected path.
 */

/** Objective and gradient: returns f(x) and writes ∇f(x) into `grad`. */
export type ValueAndGradient = (x: Float64Array, grad: Float64Array) => number;

/** Options of `minimizeBox`. */
export interface BoxMinimizeOptions {
  lower: Float64Array;
  upper: Float64Array;
  /** Maximum number of iterations (each needs one or more function evaluations). */
  maxIterations: number;
  /** Hard cap on function evaluations. */
  maxEvaluations?: number;
  /** Stop when the projected gradient's largest component falls below this. */
  gradientTolerance?: number;
  /** Stop when the relative decrease of f in an iteration falls below this. */
  relativeTolerance?: number;
  /** Number of correction pairs kept. */
  memory?: number;
}

/** Result of `minimizeBox`. */
export interface BoxMinimizeResult {
  x: Float64Array;
  value: number;
  evaluations: number;
}

/** Minimizes `fn` from `start` within [lower, upper] (start is clipped into the box first). */
export function minimizeBox(fn: ValueAndGradient, start: Float64Array, options: BoxMinimizeOptions): BoxMinimizeResult {
  const n = start.length;
  const { lower, upper } = options;
  const memory = options.memory ?? 8;
  const gtol = options.gradientTolerance ?? 1e-6;
  const rtol = options.relativeTolerance ?? 1e-9;
  const maxEvaluations = options.maxEvaluations ?? options.maxIterations * 4;

  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) x[i] = clamp(start[i]!, lower[i]!, upper[i]!);
  const g = new Float64Array(n);
  let f = fn(x, g);
  let evaluations = 1;
  if (!Number.isFinite(f)) return { x, value: f, evaluations };

  const sList: Float64Array[] = [];
  const yList: Float64Array[] = [];
  const rhoList: number[] = [];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(memory);
  const xNew = new Float64Array(n);
  const gNew = new Float64Array(n);

  for (let iter = 0; iter < options.maxIterations && evaluations < maxEvaluations; iter++) {
    // Free variables: not at a bound with the gradient pointing out of the box.
    const free = new Uint8Array(n);
    let projectedGradient = 0;
    for (let i = 0; i < n; i++) {
      const atLower = x[i]! <= lower[i]! && g[i]! > 0;
      const atUpper = x[i]! >= upper[i]! && g[i]! < 0;
      free[i] = atLower || atUpper ? 0 : 1;
      if (free[i]) projectedGradient = Math.max(projectedGradient, Math.abs(g[i]!));
    }
    if (projectedGradient < gtol) break;

    // Two-loop recursion on the free subspace.
    for (let i = 0; i < n; i++) direction[i] = free[i] ? -g[i]! : 0;
    const m = sList.length;
    for (let k = m - 1; k >= 0; k--) {
      alpha[k] = rhoList[k]! * dotMasked(sList[k]!, direction, free);
      axpyMasked(-alpha[k]!, yList[k]!, direction, free);
    }
    if (m > 0) {
      const s = sList[m - 1]!;
      const y = yList[m - 1]!;
      const gamma = dotMasked(s, y, free) / Math.max(dotMasked(y, y, free), 1e-300);
      if (gamma > 0 && Number.isFinite(gamma)) for (let i = 0; i < n; i++) direction[i]! *= gamma;
    }
    for (let k = 0; k < m; k++) {
      const beta = rhoList[k]! * dotMasked(yList[k]!, direction, free);
      axpyMasked(alpha[k]! - beta, sList[k]!, direction, free);
    }
    let slope = 0;
    for (let i = 0; i < n; i++) slope += g[i]! * direction[i]!;
    if (!(slope < 0)) {
      // Curvature information went bad: restart from steepest descent.
      sList.length = yList.length = rhoList.length = 0;
      for (let i = 0; i < n; i++) direction[i] = free[i] ? -g[i]! : 0;
      slope = 0;
      for (let i = 0; i < n; i++) slope += g[i]! * direction[i]!;
    }
    let step = m === 0 ? Math.min(1, 1 / Math.max(projectedGradient, 1e-12)) : 1;

    let accepted = false;
    let fNew = f;
    for (let ls = 0; ls < 25 && evaluations < maxEvaluations; ls++, step *= 0.5) {
      let predicted = 0;
      for (let i = 0; i < n; i++) {
        xNew[i] = clamp(x[i]! + step * direction[i]!, lower[i]!, upper[i]!);
        predicted += g[i]! * (xNew[i]! - x[i]!);
      }
      fNew = fn(xNew, gNew);
      evaluations++;
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * predicted) {
        accepted = true;
        break;
      }
    }
    if (!accepted) break;

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    let sy = 0;
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i]! - x[i]!;
      y[i] = gNew[i]! - g[i]!;
      sy += s[i]! * y[i]!;
    }
    if (sy > 1e-12) {
      if (sList.length === memory) {
        sList.shift();
        yList.shift();
        rhoList.shift();
      }
      sList.push(s);
      yList.push(y);
      rhoList.push(1 / sy);
    }
    const decrease = f - fNew;
    x.set(xNew);
    g.set(gNew);
    f = fNew;
    if (decrease <= rtol * Math.max(1, Math.abs(f))) break;
  }
  return { x, value: f, evaluations };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

function dotMasked(a: Float64Array, b: Float64Array, mask: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) if (mask[i]) sum += a[i]! * b[i]!;
  return sum;
}

function axpyMasked(scale: number, x: Float64Array, y: Float64Array, mask: Uint8Array): void {
  for (let i = 0; i < x.length; i++) if (mask[i]) y[i]! += scale * x[i]!;
}
