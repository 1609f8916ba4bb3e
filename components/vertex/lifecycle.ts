/**
 * The provider's lifecycle flows on a Vertex client: create (or adopt) and wait, resume a wait,
 * refresh, and destroy. `tuningJob.ts` adapts them to Pulumi's dynamic-provider calls.
 *
 * Whenever a job exists but the step cannot complete (the wait deadline passed, the job failed,
 * the wait itself failed), the error thrown carries the job's id and outputs: the dynamic-provider
 * host turns it into ErrorResourceInitFailed, so the job stays in the stack state and the next
 * `pulumi up` calls `update`, which resumes.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { TuningJobInputs, TuningJobOutputs } from "../tuningJobTypes";
import { cancelAndWait, createOrAdopt, withIdentityLabels } from "./adoption";
import type { Clock } from "./clock";
import type { VertexClient } from "./client";
import { connect, isLocal, locateLocalJob, localStateFolder } from "./connect";
import { isNotFound, isVertexApiError } from "./errors";
import { DEFAULT_WAIT_MINUTES, waitsForEnd } from "./inputRules";
import { toOutputs } from "./outputs";
import { DEFAULT_POLL, PROGRESS_FIELDS, progressReporter, waitForJob } from "./wait";

/** What the flows need from their surroundings. */
export interface LifecycleContext {
  clock: Clock;
  /** One line for the person running `pulumi up` (the host shows the provider's stdout as diagnostics). */
  log: (line: string) => void;
}

/** How long destroy waits for a cancelled job to end. */
const CANCEL_TIMEOUT_MS = 30 * 60_000;
/** The inputs' keys, to give `read` the inputs back apart from the outputs. */
const INPUT_KEYS = ["project", "location", "job", "backend", "apiEndpoint", "localStateDir", "localRepoRoot", "wait", "waitTimeoutMinutes", "identity", "formerIdentity", "specHash", "localBackendModule", "vertexApiModule", "__provider"] as const;

/**
 * A job's full name, as Vertex AI gives it. Only a NOT_FOUND for such a name says the job is
 * gone: a path of another shape is no job's (the local backend answers one it does not serve with
 * NOT_FOUND too).
 */
const JOB_NAME = /^projects\/[^/]+\/locations\/[^/]+\/hyperparameterTuningJobs\/[^/]+$/;

function checkJobName(id: string): void {
  if (!JOB_NAME.test(id)) {
    throw new Error(`${JSON.stringify(id)} is not the full name of a hyperparameter tuning job (projects/<project>/locations/<location>/hyperparameterTuningJobs/<id>): it is kept in the stack`);
  }
}

/** The error the dynamic-provider host reports as "created, but failed to initialize". */
export interface JobInitError extends Error {
  id: string;
  properties: TuningJobOutputs;
  reasons: string[];
}

function initFailed(id: string, properties: TuningJobOutputs, message: string): JobInitError {
  return Object.assign(new Error(message), { id, properties, reasons: [message] });
}

function isJobInitError(error: unknown): error is JobInitError {
  return error instanceof Error && typeof (error as Partial<JobInitError>).id === "string" && Array.isArray((error as Partial<JobInitError>).reasons);
}

/** Creates the job, or adopts the one an interrupted run left; then waits for it unless `wait` is false. */
export async function createJob(inputs: TuningJobInputs, ctx: LifecycleContext): Promise<{ id: string; outs: TuningJobOutputs }> {
  if (!inputs.identity || !inputs.specHash) {
    throw new Error("the identity and specHash inputs are missing: create the resource with the HyperparameterTuningJob class, which sets them");
  }
  const client = await connect(inputs, ctx.clock);
  const labelled = withIdentityLabels(inputs.job, inputs.identity, inputs.specHash);
  const { job, adopted } = await createOrAdopt(client, labelled, ctx.clock, ctx.log, { formerIdentity: inputs.formerIdentity });
  const id = job.name!;
  if (!adopted) ctx.log(`created ${id}`);
  try {
    if (!waitsForEnd(inputs)) return { id, outs: toOutputs(inputs, adopted ? await client.get(id) : job) };
    return { id, outs: await finish(client, id, inputs, ctx) };
  } catch (error) {
    if (isJobInitError(error)) throw error;
    // The job exists whatever failed after it was made (a token that expired during a long wait,
    // an API still failing after the retries): without its id in the error the stack would not
    // record it, and no destroy would ever cancel it.
    const reason = (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
    throw initFailed(id, toOutputs(inputs, job), `${id} was ${adopted ? "adopted" : "created"}, but waiting for it failed: ${reason}. Run pulumi up again to keep waiting; the job keeps running`);
  }
}

/**
 * Resumes waiting for the existing job (after a deadline, or a change of the wait settings). Never
 * creates one. A local job stays in the state folder it was created in, which its outputs keep
 * recording for refresh and destroy: a new `localStateDir` or `localRepoRoot` is for the next job.
 */
export async function resumeJob(id: string, olds: TuningJobOutputs, news: TuningJobInputs, ctx: LifecycleContext): Promise<TuningJobOutputs> {
  const inputs = locateLocalJob(isLocal(news) ? { ...news, localStateDir: olds.localStateDir, localRepoRoot: olds.localRepoRoot } : news);
  if (isLocal(news) && localStateFolder(inputs) !== localStateFolder(news)) {
    ctx.log(`${id} stays in the state folder ${localStateFolder(inputs)}, where it was created: ${localStateFolder(news)} is for the next job (pulumi up --replace <urn> starts one there)`);
  }
  const client = await connect(inputs, ctx.clock);
  try {
    if (!waitsForEnd(inputs)) return toOutputs(inputs, await client.get(id));
    return await finish(client, id, inputs, ctx);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    throw new Error(`${id} no longer exists: run \`pulumi refresh\` to drop it from the stack, then \`pulumi up\` creates a new job`);
  }
}

/** Waits for the job to end; returns the outputs of a success, throws (keeping the job in state) otherwise. */
async function finish(client: VertexClient, id: string, inputs: TuningJobInputs, ctx: LifecycleContext): Promise<TuningJobOutputs> {
  const minutes = inputs.waitTimeoutMinutes ?? DEFAULT_WAIT_MINUTES;
  const { job, timedOut } = await waitForJob(client, id, ctx.clock.now() + minutes * 60_000, ctx.clock, progressReporter(ctx.log), DEFAULT_POLL, PROGRESS_FIELDS);
  const outputs = toOutputs(inputs, job);
  if (timedOut) {
    throw initFailed(id, outputs, `${id} is still ${job.state} after waiting ${minutes} min (waitTimeoutMinutes): run pulumi up again to keep waiting; the job keeps running`);
  }
  if (outputs.error) {
    // update would only report the same end again: a new run needs a new job, i.e. a replacement.
    throw initFailed(id, outputs, `${id} ended ${job.state}: ${outputs.error}. To run the study again, fix the cause and replace the job (\`pulumi up --replace <urn>\`, or change the study)`);
  }
  return outputs;
}

/** Refreshes the job's state, trials and best trial; a job that no longer exists leaves the stack. */
export async function readJob(id: string, props: TuningJobOutputs | undefined, ctx: LifecycleContext): Promise<pulumi.dynamic.ReadResult<TuningJobOutputs>> {
  if (!props) throw new Error(`cannot read ${id} without its recorded inputs: pulumi import is not supported for dynamic resources`);
  checkJobName(id);
  const inputs = locateLocalJob(inputsOf(props));
  const client = await connect(inputs, ctx.clock);
  try {
    return { id, props: toOutputs(inputs, await client.get(id)), inputs: inputs as TuningJobOutputs };
  } catch (error) {
    if (isNotFound(error)) return { id: "" };
    // Dropping a job that still runs would orphan it: only the API's own NOT_FOUND drops it.
    if (isVertexApiError(error) && error.httpStatus === 404) {
      throw new Error(`${error.message.replace(/\.$/, "")}. This is not Vertex AI's NOT_FOUND for ${id}: the job is kept in the stack; check apiEndpoint and what answers at it`);
    }
    throw error;
  }
}

/** Destroys the job: cancel if it still runs, wait for it to end, delete, wait for the delete operation. Gone already is fine. */
export async function deleteJob(id: string, props: TuningJobOutputs, ctx: LifecycleContext): Promise<void> {
  checkJobName(id);
  const client = await connect(locateLocalJob(inputsOf(props)), ctx.clock);
  try {
    await cancelAndWait(client, id, ctx.clock, CANCEL_TIMEOUT_MS);
    await client.waitForOperation(await client.delete(id));
    ctx.log(`deleted ${id}`);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** The inputs part of recorded outputs (`__provider` included: the host needs it on the next call). */
function inputsOf(props: TuningJobOutputs): TuningJobInputs {
  const record = props as unknown as Record<string, unknown>;
  return Object.fromEntries(INPUT_KEYS.filter((k) => record[k] !== undefined).map((k) => [k, record[k]])) as unknown as TuningJobInputs;
}
