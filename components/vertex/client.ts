/**
 * A small client for the Vertex AI `hyperparameterTuningJobs` REST API, on googleapis (only its
 * aiplatform module). Shared by the `HyperparameterTuningJob` provider and the `tune` CLI.
 *
 * googleapis' own retries are off: the one retry policy is ours (`retry.ts`), applied to the
 * calls that are safe to repeat. `create` is a single attempt; see `adoption.ts` for how a
 * failed create is repeated (never sent) or resolved without making a duplicate (ambiguous).
 */
import type { aiplatform_v1 } from "googleapis/build/src/apis/aiplatform";
import type { VertexJob } from "../spec";
import { resolveAuth } from "./auth";
import { realClock, type Clock } from "./clock";
import { apiRoot } from "./endpoint";
import { notApiAnswer, toVertexError, vertexApiError } from "./errors";
import { DEFAULT_RETRY, withRetries, type RetryPolicy } from "./retry";

/** A long-running operation, as the delete call returns it. */
export type VertexOperation = aiplatform_v1.Schema$GoogleLongrunningOperation;

/** Where and how to reach the API. */
export interface VertexClientOptions {
  /** Google Cloud project (any string on the local backend). */
  project: string;
  /** Region, e.g. `us-central1`; selects the regional endpoint. */
  location: string;
  /** API root override, e.g. the local backend's `http://127.0.0.1:<port>/`. */
  apiEndpoint?: string;
  /** Access token to send; otherwise `resolveAuth` picks one (env, then ADC). */
  token?: string;
  /** Time source of retries and operation polling. Default: the real clock. */
  clock?: Clock;
  /** Retry policy of get, list, cancel, delete and operation get. */
  retry?: RetryPolicy;
  /** Per-request timeout; a request that takes longer counts as a dropped connection. Default 60 s. */
  requestTimeoutMs?: number;
  /** Path of googleapis' aiplatform module (`vertexApiModule`). Default: the package name, resolved from here. */
  apiModule?: string;
}

/** googleapis' aiplatform module: only it, not the whole googleapis index, which loads every API. */
type AiplatformModule = typeof import("googleapis/build/src/apis/aiplatform");

/**
 * Loads the aiplatform module from `path`, else by its package name. A recorded path can be gone
 * (a destroy or refresh runs with the inputs of the last `up`, perhaps made on another machine),
 * so a file that is not there falls back to the name; a module that is there but fails to load
 * (a dependency of its own missing) says so.
 */
export function loadAiplatform(path?: string): AiplatformModule {
  const fs = require("node:fs") as typeof import("node:fs");
  return require(path && fs.existsSync(path) ? path : "googleapis/build/src/apis/aiplatform") as AiplatformModule;
}

/** The calls the provider and the CLI need. Job names are full resource names. */
export interface VertexClient {
  /** `projects/<project>/locations/<location>`. */
  readonly parent: string;
  /** One attempt: never retried (Vertex create has no request id). */
  create(job: VertexJob): Promise<VertexJob>;
  /**
   * The job; with `fields` (Google's partial-response selector, e.g. `state,trials(id,state)`)
   * only those parts of it, which Vertex AI and the local backend both honour.
   */
  get(name: string, fields?: string): Promise<VertexJob>;
  /** Every job matching the filter (all pages); list results carry no trials. */
  list(filter?: string): Promise<VertexJob[]>;
  cancel(name: string): Promise<void>;
  delete(name: string): Promise<VertexOperation>;
  /** Polls the operation until it is done; throws its error, or on the deadline. */
  waitForOperation(operation: VertexOperation, timeoutMs?: number): Promise<void>;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;
const OPERATION_TIMEOUT_MS = 10 * 60_000;

/** Builds a client. Nothing is sent until a call is made. */
export function createVertexClient(options: VertexClientOptions): VertexClient {
  const { aiplatform, auth } = loadAiplatform(options.apiModule);
  const clock = options.clock ?? realClock;
  const policy = options.retry ?? DEFAULT_RETRY;
  const credentials = resolveAuth(options.token, process.env, auth);
  const api = aiplatform({
    version: "v1",
    rootUrl: apiRoot(options.location, options.apiEndpoint),
    auth: credentials.client,
    retry: false,
    timeout: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
  });
  const jobs = api.projects.locations.hyperparameterTuningJobs;
  const parent = `projects/${options.project}/locations/${options.location}`;

  /**
   * One attempt of a call, its failure turned into a VertexApiError. Every answer of these calls
   * is a JSON object; a success with anything else (a proxy's sign-in page, answered 200) did not
   * come from the API, which may or may not have had the request: transient and ambiguous, as a
   * dropped connection. Taken as the answer, it made a create "succeed" with no job name.
   */
  async function once<T>(what: string, call: () => Promise<{ data: T }>): Promise<T> {
    let data: T;
    try {
      data = (await call()).data;
    } catch (error) {
      throw toVertexError(error, what, credentials.source);
    }
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      const answer = typeof data === "string" ? notApiAnswer(data) : JSON.stringify(data);
      throw vertexApiError(`${what} failed: the answer is not the API's (a proxy's page?): ${answer}; the request may or may not have been carried out`, 200, "NOT_API_ANSWER", true, true);
    }
    return data;
  }
  const retried = <T>(what: string, call: () => Promise<{ data: T }>): Promise<T> => withRetries(() => once(what, call), clock, policy);

  return {
    parent,
    create: (job) => once(`create hyperparameter tuning job in ${parent}`, () => jobs.create({ parent, requestBody: job })),
    get: (name, fields) => retried(`get ${name}`, () => jobs.get({ name, fields })),
    async list(filter) {
      const found: VertexJob[] = [];
      let pageToken: string | undefined;
      do {
        const page = await retried(`list hyperparameter tuning jobs in ${parent}`, () => jobs.list({ parent, filter, pageSize: 100, pageToken }));
        found.push(...(page.hyperparameterTuningJobs ?? []));
        pageToken = page.nextPageToken ?? undefined;
      } while (pageToken);
      return found;
    },
    async cancel(name) {
      await retried(`cancel ${name}`, () => jobs.cancel({ name, requestBody: {} }));
    },
    delete: (name) => retried(`delete ${name}`, () => jobs.delete({ name })),
    async waitForOperation(operation, timeoutMs = OPERATION_TIMEOUT_MS) {
      const deadline = clock.now() + timeoutMs;
      let current = operation;
      for (let delay = 1_000; !current.done; delay = Math.min(delay * 2, 10_000)) {
        if (clock.now() >= deadline) {
          throw vertexApiError(`operation ${current.name} did not finish within ${Math.round(timeoutMs / 1000)} s`, undefined, "DEADLINE_EXCEEDED", false, false);
        }
        await clock.sleep(delay);
        current = await retried(`get operation ${current.name}`, () => api.projects.locations.operations.get({ name: current.name! }));
      }
      if (current.error) {
        throw vertexApiError(`operation ${current.name} failed: ${current.error.message ?? JSON.stringify(current.error)}`, undefined, "OPERATION_FAILED", false, false);
      }
    },
  };
}
