/**
 * Scrambled Halton points in the unit cube: quasi-random, space-filling samples for initial designs
 * and acquisition candidates. Each dimension uses its own prime base, and every digit position gets
 * an independent random permutation of the digits (a random-permutation scramble), which breaks the
 * correlation between high dimensions of the plain Halton sequence while keeping each point uniform.
 */
import { Rng } from "./rng";

/** The first `count` primes. */
function firstPrimes(count: number): number[] {
  const primes: number[] = [];
  for (let candidate = 2; primes.length < count; candidate++) {
    if (primes.every((p) => p * p > candidate || candidate % p !== 0)) primes.push(candidate);
  }
  return primes;
}

/** A scrambled Halton sequence of a fixed dimension; the scramble is fixed by the seed. */
export class ScrambledHalton {
  private readonly bases: number[];
  /** permutations[d][k] is the digit permutation of dimension d at digit position k. */
  private readonly permutations: Uint16Array[][];

  constructor(readonly dimension: number, seed: number) {
    const rng = new Rng(seed);
    this.bases = firstPrimes(dimension);
    this.permutations = this.bases.map((base) => {
      // Enough digits to resolve 2^-40: finer detail is below what any suggestion can use.
      const digits = Math.ceil(40 / Math.log2(base));
      return Array.from({ length: digits }, () => {
        const perm = Array.from({ length: base }, (_, i) => i);
        return Uint16Array.from(rng.shuffle(perm));
      });
    });
  }

  /** The point with the given index (0-based) of the sequence. */
  point(index: number): Float64Array {
    const out = new Float64Array(this.dimension);
    for (let d = 0; d < this.dimension; d++) {
      const base = this.bases[d]!;
      const perms = this.permutations[d]!;
      let rest = index;
      let scale = 1 / base;
      let value = 0;
      for (const perm of perms) {
        value += perm[rest % base]! * scale;
        rest = Math.floor(rest / base);
        scale /= base;
      }
      out[d] = value;
    }
    return out;
  }
}
