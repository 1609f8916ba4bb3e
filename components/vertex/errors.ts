/**
 * Errors of the Vertex client, said so a person can act on them: which call failed, the API's
 * own message, and for quota and permission errors which quota or permission. A failure is also
 * classified for the retry policy (transient or not) and for create (ambiguous or not).
 * Messages are built from the API's answer only: never from request headers, so a token can
 * never appear in one.
 */

/**
 * A failed Vertex API call. An Error with fields rather than an Error subclass: the provider is
 * serialized by Pulumi's closure serializer, which turns `super(message)` into
 * `Error.call(this, message)`, and that leaves a subclass's message empty.
 */
export interface VertexApiError extends Error {
  name: "VertexApiError";
  /** HTTP status, absent when no answer arrived (dropped connection, timeout). */
  httpStatus: number | undefined;
  /** Google's canonical status (`NOT_FOUND`, `RESOURCE_EXHAUSTED`, ...) or the socket error code. */
  reason: string;
  /** Worth retrying: 429, 5xx, a dropped connection or a timeout. */
  transient: boolean;
  /** The request may have been carried out even though it failed: 5xx, dropped connection, timeout. */
  ambiguous: boolean;
}

/** Makes a VertexApiError. */
export function vertexApiError(message: string, httpStatus: number | undefined, reason: string, transient: boolean, ambiguous: boolean): VertexApiError {
  return Object.assign(new Error(message), { name: "VertexApiError" as const, httpStatus, reason, transient, ambiguous });
}

/** True for an error made by `vertexApiError`. */
export function isVertexApiError(error: unknown): error is VertexApiError {
  return error instanceof Error && error.name === "VertexApiError";
}

/**
 * Socket-level failures: the request may or may not have reached the server. A body cut off
 * after a 200 head (node-fetch's `ERR_STREAM_PREMATURE_CLOSE`, "Premature close") is one too:
 * the server did carry the request out. Those of `NOT_SENT` are certain it did not.
 */
const DROPPED = /ECONNRESET|ECONNREFUSED|ETIMEDOUT|EPIPE|ECONNABORTED|EAI_AGAIN|ERR_STREAM_PREMATURE_CLOSE|UND_ERR_SOCKET|UND_ERR_CONNECT_TIMEOUT|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|socket hang up|other side closed|premature close|fetch failed|TimeoutError|AbortError|aborted/i;

/**
 * Failures before a connection existed: refused, or the host's name not resolved. Nothing was
 * sent, so nothing was carried out: a create that failed so made no job, and may be sent again.
 */
const NOT_SENT = /ECONNREFUSED|EAI_AGAIN/;

/** True for a failure that is certain the request never reached the server (`NOT_SENT`): any call may be repeated. */
export function neverSent(error: VertexApiError): boolean {
  return error.httpStatus === undefined && NOT_SENT.test(error.reason);
}

interface GoogleErrorBody {
  error?: { code?: number; message?: string; status?: string; details?: Array<Record<string, unknown>> };
}

/**
 * True when the API says the resource does not exist: a 404 with Google's `NOT_FOUND` status.
 * A 404 without it (a proxy's or load balancer's page, a path no API serves) says nothing about
 * the job, and taking it for "gone" dropped a live job from the stack.
 */
export function isNotFound(error: unknown): boolean {
  return isVertexApiError(error) && error.httpStatus === 404 && error.reason === "NOT_FOUND";
}

/**
 * Turns whatever googleapis threw into a `VertexApiError`.
 * @param what the call, said for a person: `create hyperparameter tuning job in projects/p/locations/l`
 * @param authSource where the credentials came from, named in 401/403 messages
 */
export function toVertexError(error: unknown, what: string, authSource: string): VertexApiError {
  if (isVertexApiError(error)) return error;
  const e = error as { status?: number; response?: { status?: number; data?: unknown }; message?: string };
  const status = e.response?.status ?? e.status;
  if (typeof status === "number") {
    const body = (e.response?.data ?? {}) as GoogleErrorBody;
    const reason = body.error?.status ?? `HTTP_${status}`;
    // A body that is not Google's JSON (a proxy's or load balancer's HTML page) is quoted in part:
    // the message ends up in the stack's state and the console.
    const apiMessage = body.error?.message ?? (typeof e.response?.data === "string" ? notApiAnswer(e.response.data) : e.message ?? "");
    const message = `${what} failed: ${status} ${reason}: ${apiMessage}${hint(status, reason, apiMessage, body, authSource)}`;
    return vertexApiError(message, status, reason, status === 429 || status >= 500, status >= 500);
  }
  const code = socketCode(error);
  if (code && NOT_SENT.test(code)) {
    return vertexApiError(`${what} failed: no answer (${code}): the request never reached the server, so it was not carried out`, undefined, code, true, false);
  }
  if (code) {
    return vertexApiError(`${what} failed: no answer (${code}); the request may or may not have been carried out`, undefined, code, true, true);
  }
  return vertexApiError(`${what} failed: ${e.message ?? String(error)}`, undefined, "UNKNOWN", false, false);
}

/** How much of an answer that is not the API's JSON a message quotes. */
const NOT_API_EXCERPT_CHARS = 200;

/** An answer that is not the API's JSON, as a message quotes it: one line, its start only. */
export function notApiAnswer(text: string): string {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > NOT_API_EXCERPT_CHARS ? `${line.slice(0, NOT_API_EXCERPT_CHARS)}… (${text.length} characters, not the API's JSON)` : line;
}

/** The socket-level failure in an error's cause chain, if any: a code (`ECONNRESET`) before a name or message. */
function socketCode(error: unknown): string | undefined {
  const chain: Array<{ code?: unknown; name?: unknown; message?: unknown; cause?: unknown }> = [];
  for (let e = error as (typeof chain)[number] | undefined; e && chain.length < 5; e = e.cause as typeof e) chain.push(e);
  const hit = [...chain.map((e) => e.code), ...chain.map((e) => e.name), ...chain.map((e) => e.message)].find(
    (text): text is string => typeof text === "string" && DROPPED.test(text),
  );
  return hit === undefined || hit.length <= 40 ? hit : hit.match(DROPPED)![0];
}

/** What to do about a quota, permission or credentials error. */
function hint(status: number, reason: string, message: string, body: GoogleErrorBody, authSource: string): string {
  if (status === 429 || reason === "RESOURCE_EXHAUSTED") {
    const quotas = quotaNames(message, body);
    const which = quotas.length > 0 ? `the quota ${quotas.join(", ")}` : "a quota of the project in this region";
    // A rate quota (Vertex's "Resource management (CRUD) requests per minute per region") refuses
    // the request, not the job: a smaller job would be refused the same, a minute later none is.
    if (isRateLimit(message, body)) {
      return `. Too many requests to the API for now (${which}): nothing was carried out; run again in a minute, or request a higher rate (console: IAM & Admin > Quotas).`;
    }
    return `. The job does not fit ${which}: lower parallelTrialCount or the trial machine, or request more quota (console: IAM & Admin > Quotas).`;
  }
  if (status === 403) {
    const permission = permissionName(message, body);
    const what = permission ? `the permission ${permission}` : "a permission";
    return `. The caller (credentials from ${authSource}) lacks ${what}: grant a role that has it (e.g. roles/aiplatform.user), or check that the Vertex AI API is enabled in the project.`;
  }
  if (status === 401) {
    const renew = authSource.startsWith("the access token in $") ? `set ${authSource.slice("the access token in ".length)} to a fresh token` : authSource === "Application Default Credentials" ? "run `gcloud auth application-default login`" : "give a fresh token";
    return `. The credentials from ${authSource} were refused: ${renew}`;
  }
  return "";
}

/** True for a per-minute rate quota: ErrorInfo's RATE_LIMIT_EXCEEDED, or a limit "per minute" in the message. */
function isRateLimit(message: string, body: GoogleErrorBody): boolean {
  return (body.error?.details ?? []).some((detail) => detail.reason === "RATE_LIMIT_EXCEEDED") || /\bper (minute|second)\b|RATE_LIMIT_EXCEEDED/i.test(message);
}

/** Quota metric names in the message (`aiplatform.googleapis.com/custom_model_training_cpus`) or in QuotaFailure details. */
function quotaNames(message: string, body: GoogleErrorBody): string[] {
  const names = new Set(message.match(/[a-z0-9.-]+\.googleapis\.com\/[A-Za-z0-9_/.-]+/g) ?? []);
  for (const detail of body.error?.details ?? []) {
    for (const violation of (detail.violations as Array<{ subject?: string; quotaMetric?: string }> | undefined) ?? []) {
      const name = violation.quotaMetric ?? violation.subject;
      if (name) names.add(name);
    }
    const metadata = detail.metadata as Record<string, string> | undefined;
    if (metadata?.quota_metric) names.add(metadata.quota_metric);
  }
  return [...names];
}

/** The permission in `Permission 'aiplatform.hyperparameterTuningJobs.create' denied` or in ErrorInfo details. */
function permissionName(message: string, body: GoogleErrorBody): string | undefined {
  for (const detail of body.error?.details ?? []) {
    const metadata = detail.metadata as Record<string, string> | undefined;
    if (metadata?.permission) return metadata.permission;
  }
  return message.match(/\b(aiplatform\.[A-Za-z]+\.[A-Za-z]+|iam\.serviceAccounts\.actAs)\b/)?.[1];
}
