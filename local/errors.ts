/**
 * Errors in Google's JSON shape (`{"error": {"code", "message", "status"}}`), so that googleapis,
 * gcloud and our own client read a local failure exactly as they read one from Vertex AI.
 */

/** HTTP code of each canonical status this backend answers with. */
const CODES: Record<string, number> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

/** An error the server answers as `{"error": {...}}`. */
export class ApiError extends Error {
  /**
   * @param status canonical Google status name, e.g. `NOT_FOUND`
   * @param httpCode the HTTP code, when it is not the status's usual one (413, 415)
   */
  constructor(readonly status: string, message: string, readonly httpCode = CODES[status] ?? 500) {
    super(message);
  }
}

/** The Google status name for an HTTP code, for answers given by code alone (fault injection). */
export function statusForCode(code: number): string {
  if (code === 400) return "INVALID_ARGUMENT";
  const match = Object.entries(CODES).find(([, c]) => c === code);
  return match ? match[0] : code >= 500 ? "INTERNAL" : "UNKNOWN";
}

/** The JSON body of an error answer. */
export function errorBody(code: number, status: string, message: string): string {
  return JSON.stringify({ error: { code, message, status } });
}
