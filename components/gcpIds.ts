/**
 * Google Cloud ids that must be given explicitly (service account ids, repository ids) and be
 * unique per Google Cloud project: the component derives them from the Pulumi project, the
 * component's name (or its `idName`) and the stack, so no two stacks (of one Pulumi project or
 * of several) sharing a Google Cloud project collide, and this shortens them with a hash of the
 * whole when too long.
 */
import { shortHash } from "./spec";

/**
 * A lowercase id of letters, digits and `-`, starting with a letter and ending with a letter or
 * digit, at most `maxLength` characters. `text` too long is cut and given a 6-character hash of
 * the whole, so distinct long names stay distinct.
 */
export function gcpId(text: string, maxLength: number): string {
  let id = text.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(id)) id = `x-${id}`.replace(/-+$/, "");
  if (id.length <= maxLength) return id;
  const suffix = shortHash(text, 6);
  return `${id.slice(0, maxLength - suffix.length - 1).replace(/-+$/, "")}-${suffix}`;
}
