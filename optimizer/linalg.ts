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
    let diag = a[rowJ + j]!;
    for (let k = 0; k < j; k++) diag -= l[rowJ + k]! * l[rowJ + k]!;
    if (!(diag > 0)) return null;
    const ljj = Math.sqrt(diag);
    l[rowJ + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const rowI = i * n;
      let sum = a[rowI + j]!;
      for (let k = 0; k < j; k++) sum -= l[rowI + k]! * l[rowJ + k]!;
      l[rowI + j] = sum / ljj;
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

/** Solves L·x = b in place (b becomes x) for a lower-triangular L. */
export function solveLowerInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const row = i * n;
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[row + k]! * b[k]!;
    b[i] = sum / l[row + i]!;
  }
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
      let sum = 0;
      for (let k = j; k < i; k++) sum -= l[li + k]! * u[row + k]!;
      u[row + i] = sum / l[li + i]!;
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    for (let j = 0; j <= i; j++) {
      const rj = j * n;
      let sum = 0;
      for (let k = i; k < n; k++) sum += u[ri + k]! * u[rj + k]!;
      inv[ri + j] = sum;
      inv[rj + i] = sum;
    }
  }
  return inv;
}
