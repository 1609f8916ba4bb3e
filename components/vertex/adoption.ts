/**
 * Idempotent create (DESIGN.md, "Idempotency"): Vertex create has no request id, so each job
 * carries two labels, the resource's identity and its spec's hash, and the labels decide.
 *
 * - Before creating: a job with both labels that is running or SUCCEEDED is adopted (a rerun
 *   after an interrupted `pulumi up` finds the job it started); FAILED and CANCELLED ones are
 *   not (a rerun must be possible). A running job with the same identity and another spec hash
 *   is the orphan of an interrupted replacement: it is cancelled, and waited for, and so is a
 *   second running job of the same spec (the oldest is adopted); one of either spec already
 *   CANCELLING is waited for before creating. `tune run` uses a narrower policy (AdoptionPolicy).
 * - A running job with the resource's former identity label (of before it included the Pulumi
 *   organization) is named, never adopted or cancelled: an interrupted `up` of an earlier version
 *   may have left it, but that label is shared by every organization's stack of the same name,
 *   and one adopted would be another organization's job, followed as this one's and deleted by
 *   its destroy.
 * - After an ambiguous create (5xx, dropped connection, timeout): list for a bounded window and
 *   adopt what appeared; create once more only if nothing did. A create that never reached the
 *   server (connection refused) made no job: it is repeated with backoff, as any other call.
 * - A create refused because IAM has not yet caught up with the job's new service account or its
 *   grants (400/403 naming the account or `actAs`) is certain: no job exists. It is repeated with
 *   backoff for a bounded window, then fails saying what to check. Any other refusal fails at once.
 */
import { IDENTITY_LABEL, SPEC_LABEL } from "../spec/hash";
import type { VertexJob } from "../spec/vertexJson";
import type { Clock } from "./clock";
import type { VertexClient } from "./client";
import { isVertexApiError, neverSent, vertexApiError, type VertexApiError } from "./errors";
import { ACTIVE_STATES, isTerminal } from "./outputs";
import { DEFAULT_RETRY, withRetries } from "./retry";

/** How long to look for the job of an ambiguous create, and how often. */
export interface AdoptionTiming {
  /** The window after an ambiguous create. Default 60 s. */
  windowMs: number;
  /** Between two looks in the window. Default 5 s. */
  intervalMs: number;
  /** Longest wait for a cancelled orphan to end. Default 30 min. */
  orphanTimeoutMs: number;
  /**
   * How long a create refused for the job's service account is repeated. Default 150 s: a new
   * account or grant usually reaches Vertex AI within a minute or two.
   */
  iamWindowMs: number;
}

/**
 * What is adopted or cancelled before creating. The resource's policy is the default; `tune run`
 * adopts only a running study (a finished one is run again on purpose) and cancels nothing the
 * person did not ask to cancel.
 */
export interface AdoptionPolicy {
  /** Adopt a SUCCEEDED job of the same spec, not only a running one. */
  adoptSucceeded: boolean;
  /** Cancel running jobs of the same identity with another spec (else only log them). */
  cancelOtherSpecs: boolean;
  /** For a job left running: how the person cancels it (a command), shown with it. */
  howToCancel?: (name: string) => string;
}

const RESOURCE_POLICY: AdoptionPolicy = { adoptSucceeded: true, cancelOtherSpecs: true };

/** The timing the resource and `tune run` use (tests pass shorter ones). */
export const DEFAULT_ADOPTION_TIMING: AdoptionTiming = { windowMs: 60_000, intervalMs: 5_000, orphanTimeoutMs: 30 * 60_000, iamWindowMs: 150_000 };
/** First and longest pause between two creates refused for IAM propagation. */
const IAM_FIRST_DELAY_MS = 5_000;
const IAM_MAX_DELAY_MS = 30_000;
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

/** How `createOrAdopt` goes about it; each has the resource's default. */
export interface CreateOrAdoptOptions {
  /** How long to look and wait (DEFAULT_ADOPTION_TIMING). */
  timing?: AdoptionTiming;
  /** What is adopted and cancelled (the resource's: SUCCEEDED jobs adopted, other specs cancelled). */
  policy?: AdoptionPolicy;
  /** The resource's identity label of before it included the organization, if it differs: its running jobs are named. */
  formerIdentity?: string;
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
  { timing = DEFAULT_ADOPTION_TIMING, policy = RESOURCE_POLICY, formerIdentity }: CreateOrAdoptOptions = {},
): Promise<CreateOrAdoptResult> {
  const identity = job.labels?.[IDENTITY_LABEL];
  const spec = job.labels?.[SPEC_LABEL];
  if (!identity || !spec) throw new Error(`createOrAdopt needs the ${IDENTITY_LABEL} and ${SPEC_LABEL} labels on the job`);

  // One list by identity finds both the job to adopt (same spec) and orphans (another spec).
  // Values quoted (AIP-160): a bare hash of digits, or one like "12e4", would be read as a number.
  const existing = await client.list(`labels.${IDENTITY_LABEL}="${identity}"`);
  const former = formerIdentity && formerIdentity !== identity ? await client.list(`labels.${IDENTITY_LABEL}="${formerIdentity}"`) : [];
  const running = (j: VertexJob) => ACTIVE_STATES.includes(j.state ?? "");
  const sameSpec = (j: VertexJob) => j.labels?.[SPEC_LABEL] === spec;
  // The oldest first: of two jobs of this resource and spec (a create that went through unseen
  // within the window, then another), the one adopted is the one furthest along.
  const oldestFirst = [...existing].sort((a, b) => createdAt(a) - createdAt(b));
  const adoptable = oldestFirst.find((j) => sameSpec(j) && (running(j) || (policy.adoptSucceeded && j.state === "JOB_STATE_SUCCEEDED")));
  for (const other of former.filter(running)) {
    log(`${other.name} (${other.state}) carries this resource's label of before the Pulumi organization was part of it: it is left running, as it may be another organization's stack's; cancel it if it is this one's`);
  }
  // Every other running job of the identity is this resource's and recorded by no stack: one of
  // another spec (an interrupted replacement's orphan) or a second of this spec (a duplicate).
  for (const other of existing.filter((j) => j !== adoptable && running(j))) {
    const duplicate = sameSpec(other);
    if (!policy.cancelOtherSpecs) {
      const hint = policy.howToCancel ? `; to cancel it: ${policy.howToCancel(other.name!)}` : "";
      log(`${other.name} (${other.state}), ${duplicate ? "a second job started earlier with the same settings" : "started earlier with other settings"}, is left running${hint}`);
      continue;
    }
    const what = duplicate ? "a second job of this resource and spec, left running by an interrupted create" : "a job of this resource with another spec, left running by an interrupted replacement";
    log(`cancelling ${other.name}: ${what}`);
    await cancelAndWait(client, other.name!, clock, timing.orphanTimeoutMs);
  }
  if (adoptable) {
    log(`adopting ${adoptable.name} (${adoptable.state}): the job of this resource and spec, started by an earlier run`);
    return { job: adoptable, adopted: true };
  }
  // One still being cancelled (an up that cancelled it as an orphan was interrupted in its wait)
  // holds the quota the new job needs, as an orphan does: its end is waited for as well.
  for (const ending of existing.filter((j) => policy.cancelOtherSpecs && j.state === "JOB_STATE_CANCELLING")) {
    log(`waiting for ${ending.name} to end: a job of this resource being cancelled`);
    await cancelAndWait(client, ending.name!, clock, timing.orphanTimeoutMs);
  }

  const seen = new Set(existing.map((j) => j.name));
  const mine = `labels.${IDENTITY_LABEL}="${identity}" AND labels.${SPEC_LABEL}="${spec}"`;
  const serviceAccount = job.trialJobSpec?.serviceAccount ?? undefined;
  const iam = { deadline: undefined as number | undefined, delay: IAM_FIRST_DELAY_MS };
  for (let ambiguousCreates = 0; ; ) {
    try {
      return { job: await withRetries(() => client.create(job), clock, DEFAULT_RETRY, neverSent), adopted: false };
    } catch (error) {
      if (isIamPropagationError(error, serviceAccount)) {
        iam.deadline ??= clock.now() + timing.iamWindowMs;
        const left = iam.deadline - clock.now();
        if (left <= 0) throw iamFailure(error, serviceAccount, timing.iamWindowMs);
        const pause = Math.min(iam.delay, left);
        log(`${error.message}; IAM changes take a while to reach Vertex AI: creating again in ${Math.round(pause / 1000)} s`);
        await clock.sleep(pause);
        iam.delay = Math.min(iam.delay * 2, IAM_MAX_DELAY_MS);
        continue;
      }
      if (!isVertexApiError(error) || !error.ambiguous) throw error;
      log(`${error.message}; looking for the job for up to ${Math.round(timing.windowMs / 1000)} s before creating again`);
      const appeared = await lookFor(client, mine, seen, clock, timing);
      if (appeared) {
        log(`adopting ${appeared.name}: the create did go through`);
        return { job: appeared, adopted: true };
      }
      if (++ambiguousCreates >= CREATE_ATTEMPTS) throw error;
    }
  }
}

/**
 * True for a create refused because Vertex AI does not see the job's service account, or the
 * caller's right to act as it, yet: 400 INVALID_ARGUMENT or 403 PERMISSION_DENIED whose message
 * names the account, a service account, or `actAs`. IAM is eventually consistent, so right after
 * the account and its grants are made this is expected, and certain: no job was created.
 * @param serviceAccount the job's `trialJobSpec.serviceAccount`, if any
 */
export function isIamPropagationError(error: unknown, serviceAccount: string | undefined): error is VertexApiError {
  if (!isVertexApiError(error) || (error.httpStatus !== 400 && error.httpStatus !== 403)) return false;
  // Whole words: every service agent's email ends in `gserviceaccount.com`, and a refusal that
  // names an agent (a CMEK grant missing, say) is no propagation delay of the job's account.
  return /\bactAs\b|\bservice ?account\b/i.test(error.message) || (serviceAccount !== undefined && error.message.includes(serviceAccount));
}

/** The refusal that outlasted the window, with what to check. Not transient, not ambiguous: nothing retries it. */
function iamFailure(error: VertexApiError, serviceAccount: string | undefined, windowMs: number): VertexApiError {
  const account = serviceAccount ?? "the job's service account";
  const message =
    `${error.message}\nStill refused after ${Math.round(windowMs / 1000)} s of retries. Check that ${account} exists, ` +
    `and that the deploying identity has iam.serviceAccounts.actAs on it (roles/iam.serviceAccountUser on that account); ` +
    `then run \`pulumi up\` again (no job was created).`;
  return vertexApiError(message, error.httpStatus, error.reason, false, false);
}

/** When a job was created (epoch ms), or never for one that does not say (it sorts last). */
function createdAt(job: VertexJob): number {
  const at = Date.parse(job.createTime ?? "");
  return Number.isNaN(at) ? Infinity : at;
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
 * What cancelAndWait reads of a job, as Google's `fields` selector: a study of thousands of
 * trials is some 20 MB whole, polled here for up to 30 minutes.
 */
const CANCEL_FIELDS = "name,state";

/**
 * Cancels a job and waits until it has ended (cancel is asynchronous). Tolerates a job that
 * ended on its own meanwhile; one already CANCELLING is only waited for.
 * @returns the job's name and state (CANCEL_FIELDS) once it has ended
 */
export async function cancelAndWait(client: Pick<VertexClient, "get" | "cancel">, name: string, clock: Clock, timeoutMs: number): Promise<VertexJob> {
  let job = await client.get(name, CANCEL_FIELDS);
  if (!isTerminal(job) && job.state !== "JOB_STATE_CANCELLING") {
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
    job = await client.get(name, CANCEL_FIELDS);
  }
  return job;
}
