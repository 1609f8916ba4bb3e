/**
 * Finding points not yet tried, for random search and as the fallback of the other designers.
 */
import type { Rng } from "./rng";
import { assignmentKey, encode, enumerateAssignments, samplePoint, spaceSize, trialKey, type Space } from "./space";

/**
 * Random draws tried before a finite space is enumerated to find what is left. Many: a draw costs
 * microseconds, enumerating two million points seconds, and the draws' chance can be small while
 * much is left (a 100-value CATEGORICAL with 99 values tried and the rest of the space under the
 * 100th: 1% a draw, so 64 draws missed half the time and each miss cost 5 s).
 */
const RANDOM_TRIES = 4096;
/** Largest finite space that is enumerated when random draws keep hitting seen points. */
const MAX_ENUMERATION = 2_000_000;
/**
 * Draws in a space too large to enumerate (any DOUBLE makes it infinite) before giving up. Such a
 * space still has unseen points, but they may sit under one rare branch (a DOUBLE active under
 * one value of a 100-value CATEGORICAL whose every value was tried); a draw costs microseconds.
 */
const PATIENT_TRIES = 100_000;

/**
 * A uniformly random point whose key is not in `seen`, or null when none is left. Random draws
 * first; if they all hit seen points and the space is finite, the unseen rest is enumerated and
 * one of them drawn, so nothing unseen is ever missed; a space too large for that gets many
 * more draws.
 */
export function randomUnseen(space: Space, seen: Set<string>, rng: Rng): Float64Array | null {
  for (let t = 0; t < RANDOM_TRIES; t++) {
    const x = samplePoint(space, rng);
    if (!seen.has(trialKey(space, x))) return x;
  }
  if (spaceSize(space) > MAX_ENUMERATION) {
    for (let t = 0; t < PATIENT_TRIES; t++) {
      const x = samplePoint(space, rng);
      if (!seen.has(trialKey(space, x))) return x;
    }
    return null;
  }
  const left: Float64Array[] = [];
  for (const assignment of enumerateAssignments(space)) {
    if (seen.has(assignmentKey(space, assignment))) continue;
    // The point's own trial is checked, as a draw's is: a value no point holds (a DISCRETE value
    // one ulp from another in a wide list, the two sharing a unit coordinate) encodes to the point
    // of its neighbour, which may have run, and that trial was suggested again.
    const x = encode(space, assignment);
    if (!seen.has(trialKey(space, x))) left.push(x);
  }
  return left.length > 0 ? left[rng.int(left.length)]! : null;
}
