/**
 * A create refused while IAM catches up with a new service account (400/403 naming the account
 * or actAs) is certain, not ambiguous: it is repeated with backoff for a bounded window, then
 * fails saying what to check. Any other refusal still fails at once, with one create.
 *
 * The local server's fault rules answer a status with a fixed message, so the client the loop
 * uses puts Vertex's own message on the server's 403s; the statuses, the requests and the jobs
 * are the real server's.
 */
import { afterEach, describe, expect, it } from "vitest";
import { createOrAdopt, isIamPropagationError, withIdentityLabels, type AdoptionTiming } from "../../components/vertex/adoption";
import type { VertexClient } from "../../components/vertex/client";
import { isVertexApiError, toVertexError } from "../../components/vertex/errors";
import { specHash } from "../../components/spec";
import type { FaultRule } from "../../local/server";
import { fastClock, PATHS, requests, startLocalBackend, testClient, testJob, thrown, type LocalBackend } from "./helpers";

const ACCOUNT = "vertex-tuning-study-dev-trials@p.iam.gserviceaccount.com";
const WHAT = "create hyperparameter tuning job in projects/p/locations/us-central1";
/** What Vertex AI answers while the caller's actAs on a new account has not propagated. */
const ACT_AS = `Permission 'iam.serviceAccounts.actAs' denied on service account ${ACCOUNT} (or it may not exist).`;
const TIMING: AdoptionTiming = { windowMs: 60_000, intervalMs: 5_000, orphanTimeoutMs: 60_000, iamWindowMs: 150_000 };

/** The error the client makes of a Google error answer (gaxios' shape). */
function apiError(status: number, reason: string, message: string) {
  const error = { code: status, status: reason, message };
  return toVertexError(Object.assign(new Error(`Request failed with status code ${status}`), { status, response: { status, data: { error } } }), WHAT, "ADC");
}

describe("isIamPropagationError", () => {
  it("is true for a 400 or 403 that names the job's service account, a service account, or actAs", () => {
    expect(isIamPropagationError(apiError(403, "PERMISSION_DENIED", ACT_AS), ACCOUNT)).toBe(true);
    expect(isIamPropagationError(apiError(400, "INVALID_ARGUMENT", `Service account ${ACCOUNT} does not exist.`), ACCOUNT)).toBe(true);
    expect(isIamPropagationError(apiError(400, "INVALID_ARGUMENT", `Invalid trialJobSpec.serviceAccount: ${ACCOUNT}`), undefined)).toBe(true);
    expect(isIamPropagationError(apiError(400, "INVALID_ARGUMENT", `${ACCOUNT} cannot be used`), ACCOUNT)).toBe(true);
  });

  it("is false for other refusals, and for errors the ambiguous path or the retry policy handles", () => {
    // The caller itself lacks the right to create jobs: no waiting fixes that.
    expect(isIamPropagationError(apiError(403, "PERMISSION_DENIED", "Permission 'aiplatform.hyperparameterTuningJobs.create' denied on resource '//aiplatform.googleapis.com/projects/p/locations/us-central1' (or it may not exist)."), ACCOUNT)).toBe(false);
    expect(isIamPropagationError(apiError(400, "INVALID_ARGUMENT", "maxTrialCount must be positive"), ACCOUNT)).toBe(false);
    // A service agent is named by an email in gserviceaccount.com; its missing grant is no delay.
    const cmek = "Vertex AI Service Agent service-123@gcp-sa-aiplatform.iam.gserviceaccount.com does not have permission to encrypt/decrypt with key projects/p/locations/us-central1/keyRings/r/cryptoKeys/k.";
    expect(isIamPropagationError(apiError(400, "FAILED_PRECONDITION", cmek), ACCOUNT)).toBe(false);
    expect(isIamPropagationError(apiError(404, "NOT_FOUND", `service account ${ACCOUNT}`), ACCOUNT)).toBe(false);
    expect(isIamPropagationError(apiError(503, "UNAVAILABLE", `service account ${ACCOUNT}`), ACCOUNT)).toBe(false);
    expect(isIamPropagationError(new Error(`service account ${ACCOUNT}`), ACCOUNT)).toBe(false);
  });
});

let backend: LocalBackend | undefined;
afterEach(async () => {
  await backend?.stop();
  backend = undefined;
});

/** A client of the local server whose 403 answers to create carry Vertex's actAs message. */
function withActAsMessage(client: VertexClient): VertexClient {
  return {
    ...client,
    create: (job) =>
      client.create(job).catch((error: unknown) => {
        throw isVertexApiError(error) && error.httpStatus === 403 ? apiError(403, "PERMISSION_DENIED", ACT_AS) : error;
      }),
  };
}

/** Runs createOrAdopt for a fresh job against a local server with `faults`. */
async function create(faults: FaultRule[], realMessage = true) {
  backend = await startLocalBackend(faults);
  const clock = fastClock();
  const lines: string[] = [];
  const base = testClient(backend.server, clock);
  const client = realMessage ? withActAsMessage(base) : base;
  const job = withIdentityLabels(testJob(), "iam", specHash(testJob()));
  const started = clock.now();
  const run = createOrAdopt(client, job, clock, (l) => lines.push(l), { timing: TIMING });
  return { run, lines, server: backend.server, client: base, elapsed: () => clock.now() - started };
}

describe("createOrAdopt while IAM propagates", () => {
  it("creates again with backoff until the account is accepted, and makes exactly one job", async () => {
    const { run, lines, server, client, elapsed } = await create([{ method: "POST", path: PATHS.collection, status: 403, times: 3 }]);
    const { job, adopted } = await run;
    expect(adopted).toBe(false);
    expect(requests(server, "POST", PATHS.collection).map((r) => r.status)).toEqual([403, 403, 403, 200]);
    // Pauses of 5, 10 and 20 s between the creates.
    expect(elapsed()).toBeGreaterThanOrEqual(35_000);
    expect(lines.filter((l) => l.includes("IAM changes take a while"))).toHaveLength(3);
    expect((await client.list()).map((j) => j.name)).toEqual([job.name]);
  });

  it("gives up after the window with what to check, having created nothing", async () => {
    const { run, server, client, elapsed } = await create([{ method: "POST", path: PATHS.collection, status: 403, times: 1000 }]);
    const error = await thrown(run);
    expect(error.message).toContain(ACT_AS);
    expect(error.message).toMatch(/Still refused after 150 s of retries\. Check that the job's service account exists, and that the deploying identity has iam\.serviceAccounts\.actAs on it/);
    expect(error).toMatchObject({ httpStatus: 403, transient: false, ambiguous: false });
    // 0, 5, 15, 35, 65, 95, 125 and 150 s: bounded, and no create after the window.
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(8);
    expect(elapsed()).toBeGreaterThanOrEqual(150_000);
    expect(elapsed()).toBeLessThan(160_000);
    expect(await client.list()).toEqual([]);
  });

  it("never repeats a create refused for another reason", async () => {
    const { run, server, client } = await create([{ method: "POST", path: PATHS.collection, status: 403 }], false);
    const error = await thrown(run);
    expect(error.message).toMatch(/403 PERMISSION_DENIED: injected fault/);
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toEqual([]);
  });
});
