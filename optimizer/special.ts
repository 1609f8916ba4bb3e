/**
 * Special functions on doubles: erfc (and its scaled form), the standard normal pdf, cdf and
 * quantile, and log expected improvement. Accurate to near double precision, including the far
 * tails where log-EI needs them.
 */

const SQRT2 = Math.SQRT2;
const SQRT_PI = Math.sqrt(Math.PI);
const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * erfcx(x) = exp(x²)·erfc(x) for x ≥ 0.
 * Below 2.5 the all-positive series erf(x) = 2/√π·e^{-x²}·Σ 2^n x^{2n+1}/(1·3·…·(2n+1)) is
 * used (no cancellation); above, the Laplace continued fraction, which converges fast there.
 */
function erfcxNonNegative(x: number): number {
  if (x < 2.5) {
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (2 * x * x) / (2 * n + 1);
      sum += term;
      if (term < 1e-17 * sum) break;
    }
    const erf = ((2 / SQRT_PI) * Math.exp(-x * x) * sum);
    return Math.exp(x * x) * (1 - erf);
  }
  // erfc(x) = e^{-x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + 2/(x + …))))), evaluated bottom-up.
  let fraction = x;
  for (let k = 60; k >= 1; k--) fraction = x + k / 2 / fraction;
  return 1 / (SQRT_PI * fraction);
}

/** Complementary error function. */
export function erfc(x: number): number {
  if (x >= 0) return Math.exp(-x * x) * erfcxNonNegative(x);
  return 2 - Math.exp(-x * x) * erfcxNonNegative(-x);
}

/** Standard normal density. */
export function normalPdf(z: number): number {
  return Math.exp(-0.5 * z * z - LOG_SQRT_2PI);
}

/** Standard normal cumulative distribution. */
export function normalCdf(z: number): number {
  return 0.5 * erfc(-z / SQRT2);
}

/** Standard normal quantile (inverse cdf) for p in (0, 1), by safeguarded Newton steps on `normalCdf`. */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs p in (0, 1), got ${p}`);
  let lo = -40;
  let hi = 40;
  // A logistic first guess is within a few tenths everywhere that matters.
  let z = Math.log(p / (1 - p)) / 1.702;
  for (let i = 0; i < 100; i++) {
    const f = normalCdf(z) - p;
    if (f > 0) hi = z;
    else lo = z;
    const pdf = normalPdf(z);
    let next = pdf > 0 ? z - f / pdf : NaN;
    if (!(next > lo && next < hi)) next = 0.5 * (lo + hi);
    if (Math.abs(next - z) < 1e-14 * Math.max(1, Math.abs(z))) return next;
    z = next;
  }
  return z;
}

/**
 * log(φ(z) + z·Φ(z)), the log of expected improvement of a unit normal over a threshold at
 * standardized distance z (Ament et al. 2023 show why EI must be taken in log space).
 */
export function logH(z: number): number {
  if (z > -1) {
    return Math.log(normalPdf(z) + z * normalCdf(z));
  }
  // φ(z) + zΦ(z) = φ(z)·(1 − t·M(t)) with t = −z and Mills ratio M(t) = Φ(−t)/φ(t) = √(π/2)·erfcx(t/√2).
  const t = -z;
  if (t > 1e6) return -0.5 * t * t - LOG_SQRT_2PI - 2 * Math.log(t);
  const mills = Math.sqrt(Math.PI / 2) * erfcxNonNegative(t / SQRT2);
  return -0.5 * t * t - LOG_SQRT_2PI + Math.log(Math.max(1 - t * mills, 1e-300));
}
