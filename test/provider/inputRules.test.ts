/** `check` and `diff`: pure, offline, tolerant of preview's unknown values. */
import { describe, expect, it } from "vitest";
import { tuningJobProvider } from "../../components/tuningJob";
import { UNKNOWN, specHash } from "../../components/spec";
import type { TuningJobInputs } from "../../components/tuningJobTypes";
import { testJob } from "./helpers";

function inputs(extra: Partial<TuningJobInputs> = {}): TuningJobInputs {
  const job = testJob();
  return { project: "my-project", location: "us-central1", job, identity: "i", specHash: specHash(job), ...extra };
}

describe("check", () => {
  it("passes valid inputs through unchanged", async () => {
    const news = inputs();
    expect(await tuningJobProvider.check({} as TuningJobInputs, news)).toEqual({ inputs: news, failures: [] });
  });

  it("reports every failure at once, each at its property path", async () => {
    const news = inputs({ project: "", waitTimeoutMinutes: -1, backend: "cloud" as never });
    news.job.studySpec!.parameters!.push({ parameterId: "lr", doubleValueSpec: { minValue: 1, maxValue: 0.1 } });
    news.job.maxTrialCount = 0;
    const { failures } = await tuningJobProvider.check({} as TuningJobInputs, news);
    const properties = failures!.map((f) => f.property);
    expect(properties).toEqual(
      expect.arrayContaining(["project", "backend", "waitTimeoutMinutes", "job.maxTrialCount", "job.studySpec.parameters[1].doubleValueSpec.minValue"]),
    );
    for (const failure of failures!) expect(failure.reason).toBeTruthy();
  });

  it("refuses a flag or a setting of the wrong type, which was read by its truthiness (wait \"false\" waited), and names a job that is no object as job", async () => {
    const news = inputs({ wait: "false" as never, apiEndpoint: "not a url", localStateDir: 5 as never });
    expect((await tuningJobProvider.check({} as TuningJobInputs, news)).failures).toEqual([
      { property: "wait", reason: 'must be true or false (got "false")' },
      { property: "localStateDir", reason: "must be a non-empty string (got 5)" },
      { property: "apiEndpoint", reason: 'must be an http(s) URL such as http://127.0.0.1:8080/ (got "not a url")' },
    ]);
    expect((await tuningJobProvider.check({} as TuningJobInputs, inputs({ job: "" as never }))).failures).toEqual([
      { property: "job", reason: 'must be a HyperparameterTuningJob object (got "")' },
    ]);
  });

  it("refuses an endpoint of plain http to another machine on Vertex: every request carries the deployer's Google token", async () => {
    const failures = async (apiEndpoint: string, backend?: "local") => (await tuningJobProvider.check({} as TuningJobInputs, inputs({ apiEndpoint, backend }))).failures ?? [];
    expect((await failures("http://vertex-proxy.corp.example:8080/")).map((f) => f.property)).toEqual(["apiEndpoint"]);
    expect((await failures("http://127.0.0.1.evil.example/")).map((f) => f.property)).toEqual(["apiEndpoint"]);
    for (const fine of ["https://vertex-proxy.corp.example/", "http://127.0.0.1:8080/", "http://localhost:8080", "http://[::1]:9/"]) expect(await failures(fine), fine).toEqual([]);
    // The local backend's token is its own, and its server is on loopback anyway.
    expect(await failures("http://vertex-proxy.corp.example:8080/", "local")).toEqual([]);
  });

  it("refuses a project or location Vertex AI would refuse at up, on Vertex only: the local backend takes any name", async () => {
    const news = inputs({ project: "p", location: "US-CENTRAL1" });
    expect((await tuningJobProvider.check({} as TuningJobInputs, news)).failures!.map((f) => f.property)).toEqual(["project", "location"]);
    expect((await tuningJobProvider.check({} as TuningJobInputs, { ...news, backend: "local" })).failures).toEqual([]);
  });

  it("names at preview what the local backend's create would refuse at up, on the local backend only", async () => {
    const news = inputs({ backend: "local" });
    news.job.studySpec!.convexAutomatedStoppingSpec = { maxStepCount: "10" };
    news.job.trialJobSpec!.baseOutputDirectory = { outputUriPrefix: "gs://bkt/../x/" };
    expect((await tuningJobProvider.check({} as TuningJobInputs, news)).failures!.map((f) => f.property)).toEqual([
      "job.studySpec.convexAutomatedStoppingSpec",
      "job.trialJobSpec.baseOutputDirectory.outputUriPrefix",
    ]);
    expect((await tuningJobProvider.check({} as TuningJobInputs, { ...news, backend: "vertex" })).failures).toEqual([]);
  });

  it("tolerates unknown values anywhere (preview)", async () => {
    const news = inputs({ project: UNKNOWN, location: UNKNOWN, waitTimeoutMinutes: UNKNOWN as never });
    news.job.displayName = UNKNOWN;
    news.job.studySpec!.parameters![0].doubleValueSpec!.maxValue = UNKNOWN as never;
    news.job.trialJobSpec = UNKNOWN as never;
    expect((await tuningJobProvider.check({} as TuningJobInputs, news)).failures).toEqual([]);
    expect((await tuningJobProvider.check({} as TuningJobInputs, inputs({ job: UNKNOWN as never }))).failures).toEqual([]);
  });

  it("does not take an unknown worker pool for one without a command on the local backend (preview)", async () => {
    for (const unknownAt of ["trialJobSpec", "workerPoolSpecs", "pool", "containerSpec"] as const) {
      const news = inputs({ backend: "local" });
      const spec = news.job.trialJobSpec!;
      if (unknownAt === "trialJobSpec") news.job.trialJobSpec = UNKNOWN as never;
      else if (unknownAt === "workerPoolSpecs") spec.workerPoolSpecs = UNKNOWN as never;
      else if (unknownAt === "pool") spec.workerPoolSpecs![0] = UNKNOWN as never;
      else spec.workerPoolSpecs![0].containerSpec = UNKNOWN as never;
      expect((await tuningJobProvider.check({} as TuningJobInputs, news)).failures, unknownAt).toEqual([]);
    }
  });
});

describe("diff", () => {
  const diff = (olds: TuningJobInputs, news: TuningJobInputs) => tuningJobProvider.diff("id", olds as never, news);

  it("sees no change for an identical spec, whatever the provider code or key order", async () => {
    const olds = { ...inputs(), __provider: "old code" } as TuningJobInputs;
    const reordered = JSON.parse(JSON.stringify(inputs(), (_k, v) => (v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v)));
    const news = { ...reordered, __provider: "new code" };
    expect(await diff(olds, news)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
  });

  it("sees no change for the same job spelled another way Vertex reads alike: a cosmetic change must not cancel and rerun the study", async () => {
    const spelled = inputs();
    const job = spelled.job as Record<string, unknown> & typeof spelled.job;
    delete job.maxTrialCount;
    job.max_trial_count = "3";
    job.trialJobSpec!.workerPoolSpecs![0].replicaCount = 1 as never;
    job.studySpec!.algorithm = 3 as never;
    job.studySpec!.parameters![0].doubleValueSpec!.maxValue = "1" as never;
    job.encryptionSpec = null as never;
    expect(await diff(inputs(), spelled)).toEqual({ changes: false, replaces: [], deleteBeforeReplace: true });
    // Recorded spelled so by an earlier version, compared with the canonical job: no change either.
    expect((await diff(spelled, inputs())).changes).toBe(false);
    job.max_trial_count = "4";
    expect((await diff(inputs(), spelled)).replaces).toEqual(["job"]);
  });

  it("ignores what only the class computes (identity, specHash, the local module path)", async () => {
    const news = inputs({ identity: "other", specHash: "other", localBackendModule: "/elsewhere/embedded.js" });
    expect((await diff(inputs(), news)).changes).toBe(false);
  });

  it("replaces (delete first) on any change of the job, project, location, backend or endpoint", async () => {
    const changedJob = inputs();
    changedJob.job.maxTrialCount = 4;
    for (const [news, key] of [
      [changedJob, "job"],
      [inputs({ project: "other-project" }), "project"],
      [inputs({ location: "europe-west4" }), "location"],
      [inputs({ backend: "local" }), "backend"],
      [inputs({ apiEndpoint: "http://127.0.0.1:1/" }), "apiEndpoint"],
    ] as const) {
      expect(await diff(inputs(), news)).toEqual({ changes: true, replaces: [key], deleteBeforeReplace: true });
    }
  });

  it("updates, not replaces, when only wait or waitTimeoutMinutes change", async () => {
    expect(await diff(inputs(), inputs({ wait: false }))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
    expect(await diff(inputs({ waitTimeoutMinutes: 60 }), inputs({ waitTimeoutMinutes: 120 }))).toEqual({ changes: true, replaces: [], deleteBeforeReplace: true });
  });

  it("sees no change where an input left out is written as its default: backend vertex, the regional endpoint, wait true, a day's deadline", async () => {
    const none = { changes: false, replaces: [], deleteBeforeReplace: true };
    for (const [olds, news] of [
      [inputs(), inputs({ backend: "vertex" })],
      [inputs({ backend: "vertex" }), inputs()],
      [inputs(), inputs({ apiEndpoint: "https://us-central1-aiplatform.googleapis.com/" })],
      [inputs({ apiEndpoint: "http://127.0.0.1:8080" }), inputs({ apiEndpoint: "http://127.0.0.1:8080/" })],
      [inputs(), inputs({ wait: true })],
      [inputs(), inputs({ waitTimeoutMinutes: 24 * 60 })],
      // The local backend always waits, so its wait setting changes nothing.
      [inputs({ backend: "local" }), inputs({ backend: "local", wait: false })],
    ] as const) {
      expect(await diff(olds, news)).toEqual(none);
    }
    // Not a default: the embedded server and one given by its URL are two backends.
    expect((await diff(inputs({ backend: "local" }), inputs({ backend: "local", apiEndpoint: "http://127.0.0.1:8080/" }))).replaces).toEqual(["apiEndpoint"]);
    expect((await diff(inputs(), inputs({ waitTimeoutMinutes: 60 }))).changes).toBe(true);
  });

  it("updates a job last seen unfinished or failed while up waits for jobs: a refresh must not make up pass with the study unfinished", async () => {
    const recorded = (state: string, extra: Partial<TuningJobInputs> = {}) => ({ ...inputs(extra), name: "projects/p/locations/us-central1/hyperparameterTuningJobs/1", state });
    const update = { changes: true, replaces: [], deleteBeforeReplace: true };
    for (const state of ["JOB_STATE_RUNNING", "JOB_STATE_PENDING", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED"]) {
      expect(await diff(recorded(state) as never, inputs())).toEqual(update);
      // The local backend always waits, whatever `wait` says.
      expect(await diff(recorded(state, { backend: "local", wait: false }) as never, inputs({ backend: "local", wait: false }))).toEqual(update);
      // With wait false on Vertex AI a running job is the expected state: nothing to do.
      expect((await diff(recorded(state, { wait: false }) as never, inputs({ wait: false }))).changes).toBe(false);
    }
    expect((await diff(recorded("JOB_STATE_SUCCEEDED") as never, inputs())).changes).toBe(false);
    // Success is a best trial, whatever the state's name: a SUCCEEDED study without one fails
    // again after a refresh, a PARTIALLY_SUCCEEDED one with one shows no perpetual update.
    const noBest = { ...recorded("JOB_STATE_SUCCEEDED"), error: "the study ended without a successful trial reporting the metric \"accuracy\", so there is no best trial" };
    expect(await diff(noBest as never, inputs())).toEqual(update);
    expect((await diff(recorded("JOB_STATE_PARTIALLY_SUCCEEDED") as never, inputs())).changes).toBe(false);
    expect(await diff(recorded("JOB_STATE_EXPIRED") as never, inputs())).toEqual(update);
  });

  it("reports a replacement where the spec is unknown", async () => {
    const news = inputs();
    news.job.displayName = UNKNOWN;
    expect((await diff(inputs(), news)).replaces).toEqual(["job"]);
    expect((await diff(inputs(), inputs({ project: UNKNOWN }))).replaces).toEqual(["project"]);
  });
});
