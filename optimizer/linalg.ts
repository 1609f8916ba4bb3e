/**
 * Dense linear algebra on row-major `Float64Array` square matrices: Cholesky factorization with a
 * jitter retry, triangular solves and the inverse from a factor. Hand-written because the matrices
 * are small (≤ a few hundred rows) and this is faster than general libraries at that size.
 */

/**
 * Lower Cholesky factor L of a symmetric positive-definite n×n matrix A (A = L·Lᵀ), or null when A is
 * not numerically positive definite. Only the lower triangle of A is read; the upper triangle of L is 0.
 */
export function cholesky(a: Float64Array, n: number): Float64Array | null {
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const rowJ = j * n;
    const diag = a[rowJ + j]! - dot(l, rowJ, l, rowJ, j);
    if (!(diag > 0)) return null;
    const ljj = Math.sqrt(diag);
    l[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      l[rowI + j] = (a[rowI + j]! - dot(l, rowI, l, rowJ, j)) / ljj;
    }
  }
  return l;
}

/**
 * Cholesky of A + jitter·I, retrying with jitter growing tenfold from `firstJitter` (relative to the
 * mean diagonal) when A is not numerically positive definite, as TFP's retrying Cholesky does.
 * Throws when even the largest jitter fails.
 */
export function choleskyWithJitter(a: Float64Array, n: number, firstJitter = 1e-10, maxTries = 8): Float64Array {
  const first = cholesky(a, n);
  if (first) return first;
  let meanDiag = 0;
  for (let i = 0; i < n; i++) meanDiag += a[i * n + i]!;
  meanDiag = n > 0 ? meanDiag / n : 1;
  let jitter = firstJitter * meanDiag;
  const work = new Float64Array(a);
  for (let t = 0; t < maxTries; t++, jitter *= 10) {
    for (let i = 0; i < n; i++) work[i * n + i] = a[i * n + i]! + jitter;
    const l = cholesky(work, n);
    if (l) return l;
  }
  throw new Error("matrix is not positive definite even with jitter");
}

/**
 * Solves L·x = b in place (b becomes x) for a lower-triangular L, and returns |x|² (summed on the
 * way: the posterior variance, s² − |L⁻¹k|², needs nothing else).
 */
export function solveLowerInPlace(l: Float64Array, n: number, b: Float64Array): number {
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const row = i * n;
    const x = (b[i]! - dot(l, row, b, 0, i)) / l[row + i]!;
    b[i] = x;
    squares += x * x;
  }
  return squares;
}

/** Solves Lᵀ·x = b in place (b becomes x) for a lower-triangular L. */
export function solveUpperTransposedInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = n - 1; i >= 0; i--) {
    let sum = b[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * b[k]!;
    b[i] = sum / l[i * n + i]!;
  }
}

/** A⁻¹ (full, symmetric) from the Cholesky factor L of A. */
export function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // Row j of U holds column j of L⁻¹ (U = L⁻ᵀ, upper triangular), so both the forward solves and
  // A⁻¹ = UUᵀ, (A⁻¹)_ij = Σ_k U_ik·U_jk, run over contiguous memory.
  const u = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const row = j * n;
    u[row + j] = 1 / l[j * n + j]!;
    for (let i = j + 1; i < n; i++) {
      const li = i * n;
      u[row + i] = -dot(l, li + j, u, row + j, i - j) / l[li + i]!;
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      const sum = dot(u, ri + i, u, rj + i, n - i);
      inv[ri + j] = sum;
      inv[rj + i] = sum;
    }
  }
  return inv;
}

/**
 * Σ_k a[ai + k]·b[bi + k] for k < len. Four accumulators let the CPU overlap the multiply-adds; the
 * factorization, solves and inverse above spend nearly all their time here.
 */
export function dot(a: Float64Array, ai: number, b: Float64Array, bi: number, len: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < len; k += 4) {
    s0 += a[ai + k]! * b[bi + k]!;
    s1 += a[ai + k + 1]! * b[bi + k + 1]!;
    s2 += a[ai + k + 2]! * b[bi + k + 2]!;
    s3 += a[ai + k + 3]! * b[bi + k + 3]!;
  }
  for (; k < len; k++) s0 += a[ai + k]! * b[bi + k]!;
  return s0 + s1 + (s2 + s3);
}
