/**
 * Stable hashes for the job's idempotency labels (DESIGN.md, "Idempotency"): one of the
 * resource's identity (its URN), one of the spec (the Vertex JSON without its labels).
 */
import { createHash } from "node:crypto";
import { canonicalJob } from "./jobShape";

/** JSON with object keys sorted at every level, so equal values always serialize alike. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A short lowercase hex digest, valid as a label value. */
export function shortHash(text: string, length = 20): string {
  return createHash("sha256").update(text).digest("hex").slice(0, length);
}

/** Label keys the resource sets on every job it creates. */
export const IDENTITY_LABEL = "pulumi-resource";
export const SPEC_LABEL = "pulumi-spec";

/**
 * The hash of a job's spec: everything but its labels (which carry the hashes themselves), read
 * in one form per field (`canonicalJob`), so that a spelling Vertex reads alike is the same spec.
 */
export function specHash(job: object): string {
  const { labels: _labels, ...spec } = canonicalJob(job) as { labels?: unknown };
  return shortHash(canonicalJson(spec));
}
