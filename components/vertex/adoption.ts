/**
 * Idempotent create (DESIGN.md, "Idempotency"): Vertex create has no request id, so each job
 * carries two labels, the resource's identity and its spec's hash, and the labels decide.
 *
 * - Before creating: a job with both labels that is running or SUCCEEDED is adopted (a rerun
 *   after an interrupted `pulumi up` finds the job it started); FAILED and CANCELLED ones are
 *   not (a rerun must be possible). A running job with the same identity and another spec hash
 *   is the orphan of an interrupted replacement: it is cancelled, and waited for.
 * - After an ambiguous create (5xx, dropped connection, timeout): list for a bounded window and
 *   adopt what appeared; create once more only if nothing did.
 */
import { IDENTITY_LABEL, SPEC_LABEL } from "../spec/hash";
import type { VertexJob } from "../spec/vertexJson";
import type { Clock } from "./clock";
import type { VertexClient } from "./client";
import { isVertexApiError } from "./errors";
import { ACTIVE_STATES, isTerminal } from "./outputs";

/** How long to look for the job of an ambiguous create, and how often. */
export interface AdoptionTiming {
  /** The window after an ambiguous create. Default 60 s. */
  windowMs: number;
  /** Between two looks in the window. Default 5 s. */
  intervalMs: number;
  /** Longest wait for a cancelled orphan to end. Default 30 min. */
  orphanTimeoutMs: number;
}

const DEFAULT_TIMING: AdoptionTiming = { windowMs: 60_000, intervalMs: 5_000, orphanTimeoutMs: 30 * 60_000 };
/** Creates in all: the first, and one more only when the window found nothing. */
const CREATE_ATTEMPTS = 2;

/** The outcome: the job to follow, and whether it was found rather than created. */
export interface CreateOrAdoptResult {
  job: VertexJob;
  adopted: boolean;
}

/**
 * The job with its two idempotency labels added.
 * @param identity a hash of the resource's URN
 * @param spec the job's `specHash` (spec/hash.ts)
 */
export function withIdentityLabels(job: VertexJob, identity: string, spec: string): VertexJob {
  return { ...job, labels: { ...(job.labels ?? {}), [IDENTITY_LABEL]: identity, [SPEC_LABEL]: spec } };
}

/**
 * Adopts the resource's job if one is there, else creates it, without ever leaving two.
 * @param job the job request, labels included (see `withIdentityLabels`)
 * @param log one line for a person (an adoption, an orphan cancelled, an ambiguous create)
 */
export async function createOrAdopt(
  client: VertexClient,
  job: VertexJob,
  clock: Clock,
  log: (line: string) => void,
  timing: AdoptionTiming = DEFAULT_TIMING,
): Promise<CreateOrAdoptResult> {
  const identity = job.labels?.[IDENTITY_LABEL];
  const spec = job.labels?.[SPEC_LABEL];
  if (!identity || !spec) throw new Error(`createOrAdopt needs the ${IDENTITY_LABEL} and ${SPEC_LABEL} labels on the job`);

  // One list by identity finds both the job to adopt (same spec) and orphans (another spec).
  const existing = await client.list(`labels.${IDENTITY_LABEL}=${identity}`);
  const adoptable = existing.find((j) => j.labels?.[SPEC_LABEL] === spec && (ACTIVE_STATES.includes(j.state ?? "") || j.state === "JOB_STATE_SUCCEEDED"));
  for (const orphan of existing.filter((j) => j.labels?.[SPEC_LABEL] !== spec && ACTIVE_STATES.includes(j.state ?? ""))) {
    log(`cancelling ${orphan.name}: a job of this resource with another spec, left running by an interrupted replacement`);
    await cancelAndWait(client, orphan.name!, clock, timing.orphanTimeoutMs);
  }
  if (adoptable) {
    log(`adopting ${adoptable.name} (${adoptable.state}): the job of this resource and spec, started by an earlier run`);
    return { job: adoptable, adopted: true };
  }

  const seen = new Set(existing.map((j) => j.name));
  const mine = `labels.${IDENTITY_LABEL}=${identity} AND labels.${SPEC_LABEL}=${spec}`;
  for (let attempt = 1; ; attempt++) {
    try {
      return { job: await client.create(job), adopted: false };
    } catch (error) {
      if (!isVertexApiError(error) || !error.ambiguous) throw error;
      log(`${error.message}; looking for the job for up to ${Math.round(timing.windowMs / 1000)} s before creating again`);
      const appeared = await lookFor(client, mine, seen, clock, timing);
      if (appeared) {
        log(`adopting ${appeared.name}: the create did go through`);
        return { job: appeared, adopted: true };
      }
      if (attempt >= CREATE_ATTEMPTS) throw error;
    }
  }
}

/** Lists by the labels within the window until a job not seen before appears. */
async function lookFor(client: VertexClient, filter: string, seen: Set<string | null | undefined>, clock: Clock, timing: AdoptionTiming): Promise<VertexJob | undefined> {
  const end = clock.now() + timing.windowMs;
  for (;;) {
    const found = (await client.list(filter)).find((j) => !seen.has(j.name));
    if (found || clock.now() >= end) return found;
    await clock.sleep(Math.min(timing.intervalMs, Math.max(0, end - clock.now())));
  }
}

/**
 * Cancels a job and waits until it has ended (cancel is asynchronous). Tolerates a job that
 * ended on its own meanwhile.
 */
export async function cancelAndWait(client: VertexClient, name: string, clock: Clock, timeoutMs: number): Promise<VertexJob> {
  let job = await client.get(name);
  if (!isTerminal(job)) {
    try {
      await client.cancel(name);
    } catch (error) {
      // 400 FAILED_PRECONDITION: the job ended between the get and the cancel; the loop sees it.
      if (!isVertexApiError(error) || error.httpStatus !== 400) throw error;
    }
  }
  const end = clock.now() + timeoutMs;
  for (let delay = 1_000; !isTerminal(job); delay = Math.min(delay * 2, 30_000)) {
    if (clock.now() >= end) throw new Error(`${name} was cancelled but is still ${job.state} after ${Math.round(timeoutMs / 60_000)} min`);
    await clock.sleep(delay);
    job = await client.get(name);
  }
  return job;
}
