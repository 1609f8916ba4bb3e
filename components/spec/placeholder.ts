/**
 * Pulumi's placeholder for values not known until apply. Every check of a job skips it: at
 * preview a field (or a whole message) may hold it instead of its value.
 */

/** The string Pulumi puts in place of values not known until apply (preview). */
export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True for a value Pulumi does not know yet. */
export function isUnknown(value: unknown): boolean {
  return value === UNKNOWN;
}
