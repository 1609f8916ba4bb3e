/**
 * The tuning-job subset of `aiplatform.googleapis.com/v1`, over the store and the schedulers:
 * create, get, list, cancel, delete, and get of the delete operation. HTTP concerns (access,
 * bodies, faults) live in server.ts; this module maps a parsed request to an answer.
 */
import { checkJob, type VertexJob } from "../components/spec";
import { OUTPUT_ONLY_FIELDS } from "../components/spec/jobShape";
import { localBackendIssues } from "../components/spec/localRules";
import { ApiError } from "./errors";
import { requestedFields, selectFields } from "./fields";
import { parseFilter } from "./filter";
import type { JobScheduler } from "./scheduler";
import { jobView, TERMINAL_STATES, type JobRecord, type Store } from "./store";

/** A parsed request. */
export interface ApiRequest {
  method: string;
  /** The path without the query, e.g. `/v1/projects/p/locations/l/hyperparameterTuningJobs/1:cancel`. */
  path: string;
  query: URLSearchParams;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

/** What the routes need of the server. */
export interface RouteContext {
  store: Store;
  /** Starts the scheduler of a newly created job. */
  schedule(record: JobRecord): void;
  /** The scheduler of a job that is not terminal. */
  scheduler(jobId: string): JobScheduler | undefined;
  /** Most jobs running at once before create answers 429. */
  maxActiveJobs: number;
}

const COLLECTION = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+)\/hyperparameterTuningJobs$/;
const JOB = /^\/v1\/(projects\/[^/]+\/locations\/[^/]+)\/hyperparameterTuningJobs\/([^/:]+)(:cancel)?$/;
/**
 * An operation, under `/v1/` or `/ui/`: aiplatform's service binds `GetOperation` to
 * `/ui/<operation name>` first and to `/v1/<operation name>` after, and Google's Python client
 * (the REST transport's `get_operation`, the LRO poller) calls the first binding.
 */
const OPERATION = /^\/(?:v1|ui)\/(projects\/[^/]+\/locations\/[^/]+\/operations\/[^/]+)$/;
const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;

/**
 * Query parameters every method of a Google API takes (the discovery document's standard
 * parameters, googleapis' `StandardParameters`, and Google's system parameters). `fields` trims
 * the answer of get and list (fields.ts), and is taken and ignored elsewhere. The local backend
 * answers JSON whatever the others say: those that shape an answer (`alt`, `prettyPrint`,
 * `$.xgafv`) only wrap or format it, and the others (`key`, `quotaUser`, `userProject`, `trace`,
 * ...) concern quota, billing and tracing, which the local backend has none of.
 */
const STANDARD_PARAMETERS = [
  "$.xgafv", "access_token", "oauth_token", "uploadType", "upload_protocol",
  // Google's system parameters, each also with a leading "$"; trace is gcloud's --trace-token.
  ...["alt", "apiVersion", "callback", "fields", "key", "prettyPrint", "quotaUser", "userProject", "userIp", "trace"].flatMap((name) => [name, `$${name}`]),
];
/**
 * The list method's own query parameters, in their JSON and proto spellings (Google's front end
 * binds both). `readMask` is taken and the whole job returned: a superset of what it asks.
 */
const LIST_PARAMETERS = ["filter", "pageSize", "page_size", "pageToken", "page_token", "readMask", "read_mask"];

/**
 * Refuses query parameters the method does not have, all named at once, as Google's front end
 * does: a misspelt `filter` or `pageToken` silently ignored would list every job.
 */
function checkQuery(query: URLSearchParams, own: readonly string[]): void {
  const known = new Set([...STANDARD_PARAMETERS, ...own]);
  const unknown = [...new Set(query.keys())].filter((name) => !known.has(name));
  if (unknown.length) {
    throw new ApiError("INVALID_ARGUMENT", `unknown query parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((n) => JSON.stringify(n)).join(", ")}: this method takes ${own.length ? own.join(", ") : "none"} besides the standard ones`);
  }
}

/** The value of a query parameter given in either spelling (JSON or proto name). */
function queryValue(query: URLSearchParams, json: string, proto: string): string | null {
  return query.get(json) ?? query.get(proto);
}

/** The methods on one job, by HTTP method and custom verb. */
const JOB_METHODS: Record<string, ((ctx: RouteContext, parent: string, id: string, query: URLSearchParams) => unknown) | undefined> = {
  GET: getJob,
  DELETE: deleteJob,
  "POST:cancel": cancelJob,
};

/** Handles one API request; returns the JSON answer or throws ApiError. */
export function route(ctx: RouteContext, req: ApiRequest): unknown {
  let path: string;
  try {
    path = decodeURIComponent(req.path);
  } catch {
    throw new ApiError("INVALID_ARGUMENT", `the path ${JSON.stringify(req.path)} is not valid percent-encoding`);
  }
  // Only list has query parameters of its own; the other methods take the standard ones alone.
  let m = COLLECTION.exec(path);
  if (m && req.method === "GET") {
    checkQuery(req.query, LIST_PARAMETERS);
    return list(ctx, m[1], req.query);
  }
  const none: string[] = [];
  if (m && req.method === "POST") {
    checkQuery(req.query, none);
    return create(ctx, m[1], req.body);
  }
  m = JOB.exec(path);
  if (m) {
    const [, parent, id, cancel] = m;
    const method = JOB_METHODS[`${req.method}${cancel ?? ""}`];
    if (method) {
      checkQuery(req.query, none);
      return method(ctx, parent, id, req.query);
    }
  }
  m = OPERATION.exec(path);
  if (m && req.method === "GET") {
    checkQuery(req.query, none);
    const op = ctx.store.getOperation(m[1]);
    if (!op) throw new ApiError("NOT_FOUND", `operation ${m[1]} not found`);
    return op;
  }
  throw new ApiError("NOT_FOUND", `no such method: ${req.method} ${req.path} (the local backend serves hyperparameterTuningJobs and operations)`);
}

function find(ctx: RouteContext, parent: string, id: string): JobRecord {
  const record = ctx.store.get(id);
  if (!record || !record.job.name.startsWith(`${parent}/`)) {
    throw new ApiError("NOT_FOUND", `HyperparameterTuningJob ${parent}/hyperparameterTuningJobs/${id} not found`);
  }
  return record;
}

function create(ctx: RouteContext, parent: string, body: unknown): VertexJob {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new ApiError("INVALID_ARGUMENT", "the request body must be a HyperparameterTuningJob object");
  }
  const location = parent.split("/")[3];
  // A request as sent: the resource's own labels are already on it, and a bound of 0 may be left out.
  const { job: read, issues } = checkJob(body, location, false, true);
  // Output-only fields are ignored, as Google's APIs do (AIP-203): a job read back with `describe`
  // can be sent again as a request. The job is kept in one form per field (JSON names, numbers,
  // 64-bit integers as strings, no nulls), as Vertex answers it.
  const job = Object.fromEntries(Object.entries(read).filter(([field]) => !OUTPUT_ONLY_FIELDS.has(field))) as VertexJob;
  issues.push(...localBackendIssues(job));
  if (issues.length) {
    throw new ApiError("INVALID_ARGUMENT", `invalid HyperparameterTuningJob:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
  }
  const active = ctx.store.list().filter((j) => !TERMINAL_STATES.has(j.job.state)).length;
  if (active >= ctx.maxActiveJobs) {
    throw new ApiError("RESOURCE_EXHAUSTED", `the local backend already runs ${active} jobs (the limit is ${ctx.maxActiveJobs}); wait for one to end or cancel one`);
  }
  const record = ctx.store.createJob(parent, job);
  // The job as created, before the scheduler starts it: Vertex answers a create with a job still
  // JOB_STATE_PENDING (no startTime), and a client must not expect it running yet.
  const created = jobView(record, false);
  ctx.schedule(record);
  return created;
}

function list(ctx: RouteContext, parent: string, query: URLSearchParams): unknown {
  const fields = requestedFields(query, "ListHyperparameterTuningJobsResponse");
  const matches = parseFilter(query.get("filter") ?? undefined);
  const pageSize = queryValue(query, "pageSize", "page_size");
  const requested = Number(pageSize ?? 0);
  if (!Number.isInteger(requested) || requested < 0) throw new ApiError("INVALID_ARGUMENT", `pageSize must be a non-negative integer (got ${pageSize})`);
  const size = Math.min(requested || DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
  const token = queryValue(query, "pageToken", "page_token");
  let after = 0;
  if (token) {
    // Only a token this list wrote: the base64url of a job id's digits. Buffer skips characters
    // that are not base64url, and Number reads "" as 0 and "1e3" or "0x10" as numbers, so a
    // mangled token was read as "from the start" (a client got the first page again) or as
    // another place in the list.
    const text = Buffer.from(token, "base64url").toString("utf8");
    if (!/^\d+$/.test(text) || Buffer.from(text).toString("base64url") !== token) throw new ApiError("INVALID_ARGUMENT", "invalid pageToken");
    after = Number(text);
  }
  // Pages continue after the last id seen, so jobs created between pages never shift a page.
  const all = ctx.store
    .list()
    .filter((r) => r.job.name.startsWith(`${parent}/`) && Number(r.id) > after)
    .map((r) => jobView(r, false))
    .filter((job) => matches(job));
  const page = all.slice(0, size);
  const answer: { hyperparameterTuningJobs?: VertexJob[]; nextPageToken?: string } = {};
  if (page.length) answer.hyperparameterTuningJobs = page;
  if (all.length > size) answer.nextPageToken = Buffer.from(page[page.length - 1].name!.split("/").pop()!).toString("base64url");
  return selectFields(answer, fields);
}

function getJob(ctx: RouteContext, parent: string, id: string, query: URLSearchParams): unknown {
  const fields = requestedFields(query, "HyperparameterTuningJob");
  return selectFields(jobView(find(ctx, parent, id), true), fields);
}

function cancelJob(ctx: RouteContext, parent: string, id: string): unknown {
  const record = find(ctx, parent, id);
  if (TERMINAL_STATES.has(record.job.state)) {
    throw new ApiError("FAILED_PRECONDITION", `HyperparameterTuningJob ${record.job.name} is already in state ${record.job.state} and cannot be cancelled`);
  }
  ctx.scheduler(id)?.cancel();
  return {};
}

function deleteJob(ctx: RouteContext, parent: string, id: string): unknown {
  const record = find(ctx, parent, id);
  if (!TERMINAL_STATES.has(record.job.state)) {
    throw new ApiError("FAILED_PRECONDITION", `HyperparameterTuningJob ${record.job.name} is in state ${record.job.state}: cancel it and wait for it to end before deleting it`);
  }
  return ctx.store.deleteJob(id);
}
