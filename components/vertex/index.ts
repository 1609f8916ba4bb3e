/**
 * The Vertex AI hyperparameter-tuning client: what the `HyperparameterTuningJob` provider uses
 * and what the `tune` CLI may use. Each module has one job: credentials (auth), the endpoint,
 * errors a person can act on, the one retry policy, the client itself, idempotent create
 * (adoption), waiting with progress, and the resource's outputs.
 *
 * The provider imports the modules themselves, not this index: it is serialized by value, and
 * an index would carry every module along.
 */
export { realClock, type Clock } from "./clock";
export { resolveAuth, type ResolvedAuth } from "./auth";
export { apiRoot } from "./endpoint";
export { isNotFound, isVertexApiError, type VertexApiError } from "./errors";
export { DEFAULT_RETRY, type RetryPolicy } from "./retry";
export { createVertexClient, type VertexClient, type VertexClientOptions, type VertexOperation } from "./client";
export { cancelAndWait, createOrAdopt, withIdentityLabels, type AdoptionTiming, type CreateOrAdoptResult } from "./adoption";
export { DEFAULT_POLL, progressReporter, waitForJob, type PollPolicy, type WaitResult } from "./wait";
export { ACTIVE_STATES, TERMINAL_STATES, failureReason, isTerminal, toOutputs } from "./outputs";
