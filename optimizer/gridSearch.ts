/**
 * GRID_SEARCH with Vertex semantics: every combination of INTEGER (each integer in range), DISCRETE
 * and CATEGORICAL values, the last parameter varying fastest, conditional children enumerated under
 * the parent values that activate them. Suggests the next grid points that are neither completed
 * nor pending, in grid order; fewer or none once the grid is exhausted.
 */
import { assignmentKey, enumerateAssignments, parseSpace } from "./space";
import type { Assignment, SuggestRequest } from "./types";

/** The next `count` grid points not yet completed or pending. Throws on a DOUBLE parameter. */
export function suggestGrid(request: SuggestRequest): Assignment[] {
  const space = parseSpace(request.space);
  const double = space.dims.find((d) => d.type === "DOUBLE");
  if (double) throw new Error(`GRID_SEARCH does not allow DOUBLE parameters ("${double.id}")`);
  const seen = new Set([...request.completed.map((t) => t.parameters), ...request.pending].map((a) => assignmentKey(space, a)));
  const out: Assignment[] = [];
  if (request.count <= 0) return out;
  for (const assignment of enumerateAssignments(space)) {
    // Checked before taking a point, as the other algorithms' loops do: a count of 2.5 gives 3
    // and NaN none, where an exact-equality stop after the push listed the whole grid.
    if (!(out.length < request.count)) break;
    if (seen.has(assignmentKey(space, assignment))) continue;
    out.push(assignment);
  }
  return out;
}
