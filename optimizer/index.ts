/**
 * The optimizer: `suggest` picks the next trials of a Vertex AI study, dispatching on
 * `studySpec.algorithm` (ALGORITHM_UNSPECIFIED or absent: Bayesian; RANDOM_SEARCH; GRID_SEARCH).
 * Pure, stateless and deterministic: the same request always gives the same suggestions.
 */
import { suggestBayesian } from "./bayes";
import { suggestGrid } from "./gridSearch";
import { suggestRandom } from "./randomSearch";
import type { Assignment, SuggestRequest } from "./types";

export type { Assignment, CompletedTrial, ParameterSpec, ParameterValue, StudySpec, Suggest, SuggestRequest } from "./types";
export { suggestBayesian, DEFAULT_BAYES_OPTIONS, type BayesOptions } from "./bayes";
export { suggestGrid } from "./gridSearch";
export { suggestRandom } from "./randomSearch";

/** Suggest up to `request.count` new trials; fewer only when the space has fewer unseen points left. */
export function suggest(request: SuggestRequest): Assignment[] {
  const algorithm = request.space.algorithm ?? "ALGORITHM_UNSPECIFIED";
  switch (algorithm) {
    case "ALGORITHM_UNSPECIFIED":
      return suggestBayesian(request);
    case "RANDOM_SEARCH":
      return suggestRandom(request);
    case "GRID_SEARCH":
      return suggestGrid(request);
    default:
      throw new Error(`unknown algorithm "${algorithm}"`);
  }
}
