/** RANDOM_SEARCH: independent uniform draws (log-uniform on log scales), never repeating a trial. */
import { Rng } from "./rng";
import { assignmentKey, decode, parseSpace, trialKey } from "./space";
import type { Assignment, SuggestRequest } from "./types";
import { randomUnseen } from "./unseen";

/** Up to `count` random assignments not among the completed or pending trials (fewer when the space runs out). */
export function suggestRandom(request: SuggestRequest): Assignment[] {
  const space = parseSpace(request.space);
  const rng = new Rng(request.seed);
  const seen = new Set([...request.completed.map((t) => t.parameters), ...request.pending].map((a) => assignmentKey(space, a)));
  const out: Assignment[] = [];
  for (let j = 0; j < request.count; j++) {
    const x = randomUnseen(space, seen, rng);
    if (!x) break;
    seen.add(trialKey(space, x));
    out.push(decode(space, x));
  }
  return out;
}
