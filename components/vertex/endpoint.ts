/**
 * Which host serves a location's Vertex AI API (research/vertex-api.md §1.1): the regional host
 * `https://{location}-aiplatform.googleapis.com/`, the global host for `global`, or an explicit
 * override (a local backend, a test server, a private endpoint).
 */

/** The API root URL (with a trailing slash) for a location, or the override when given. */
export function apiRoot(location: string, apiEndpoint?: string): string {
  if (apiEndpoint) return apiEndpoint.endsWith("/") ? apiEndpoint : `${apiEndpoint}/`;
  if (location === "global") return "https://aiplatform.googleapis.com/";
  return `https://${location}-aiplatform.googleapis.com/`;
}
