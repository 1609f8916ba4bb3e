/**
 * The HTTP surface of the local backend over real HTTP on 127.0.0.1: access rules, validation,
 * list filters and paging, cancel/delete/operations, the state-folder lock, fault injection.
 */
import { statSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type LocalServer } from "../../local/server";
import { call, client, PARENT, rawExchange, REPO_ROOT, tempDir, testJob } from "./helpers";

let server: LocalServer;
let api: ReturnType<typeof client>;
const jobsPath = `v1/${PARENT}/hyperparameterTuningJobs`;

beforeAll(async () => {
  server = await startServer({ stateDir: tempDir(), repoRoot: REPO_ROOT, pollMs: 50, graceMs: 500 });
  api = client(server);
});
afterAll(() => server.close());

/** The `error` of a raw HTTP answer's JSON body. */
function rawError(reply: string): unknown {
  return JSON.parse(reply.slice(reply.indexOf("\r\n\r\n") + 4)).error;
}

describe("access", () => {
  it("writes the token to <state>/token with mode 0600 and server.json with url, pid and repository", () => {
    const tokenFile = join(server.stateDir, "token");
    expect(readFileSync(tokenFile, "utf8").trim()).toBe(server.token);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(server.stateDir, "server.json"), "utf8"))).toEqual({ url: server.url, pid: process.pid, repoRoot: REPO_ROOT });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it("answers 401 UNAUTHENTICATED without a token or with a wrong one", async () => {
    const none = await call(server.url, "GET", jobsPath);
    expect(none.status).toBe(401);
    expect(none.body.error).toMatchObject({ code: 401, status: "UNAUTHENTICATED" });
    const wrong = await call(server.url, "GET", jobsPath, { token: "0".repeat(64) });
    expect(wrong.status).toBe(401);
    expect(JSON.stringify(wrong.body)).not.toContain(server.token);
  });

  it("takes the Bearer scheme in any case (RFC 7235), and still only with the right token", async () => {
    for (const scheme of ["bearer", "BEARER", "bEaReR"]) {
      const answer = await call(server.url, "GET", jobsPath, { headers: { authorization: `${scheme} ${server.token}` } });
      expect(answer.status, scheme).toBe(200);
    }
    const wrong = await call(server.url, "GET", jobsPath, { headers: { authorization: `bearer ${"0".repeat(64)}` } });
    expect(wrong.status).toBe(401);
    const otherScheme = await call(server.url, "GET", jobsPath, { headers: { authorization: `Basic ${server.token}` } });
    expect(otherScheme.status).toBe(401);
  });

  it("refuses a foreign Host header (DNS rebinding) but accepts loopback names", async () => {
    const foreign = await call(server.url, "GET", jobsPath, { token: server.token, headers: { host: "evil.example:80" } });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.status).toBe("PERMISSION_DENIED");
    const port = new URL(server.url).port;
    const local = await call(server.url, "GET", jobsPath, { token: server.token, headers: { host: `localhost:${port}` } });
    expect(local.status).toBe(200);
  });

  it("refuses a non-JSON body with 415 and a body over 1 MiB with 413, chunked too", async () => {
    const form = await call(server.url, "POST", jobsPath, { token: server.token, raw: "a=b", headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(form.status).toBe(415);
    const big = await call(server.url, "POST", jobsPath, { token: server.token, raw: JSON.stringify({ displayName: "x".repeat(1100 * 1024) }) });
    expect(big.status).toBe(413);
    // Chunked, the size shows only while the body is read: 17 chunks of 64 KiB pass 1 MiB.
    const chunk = `${(64 * 1024).toString(16)}\r\n${"x".repeat(64 * 1024)}\r\n`;
    const head = `POST /${jobsPath} HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunked = await rawExchange(server.url, [head, ...Array<string>(17).fill(chunk), "0\r\n\r\n"]);
    expect(chunked).toMatch(/^HTTP\/1\.1 413 /);
    expect(rawError(chunked)).toMatchObject({ code: 413, status: "INVALID_ARGUMENT" });
  });

  it("answers a request target that is no URL with 400 INVALID_ARGUMENT, and goes on serving", async () => {
    const reply = await rawExchange(server.url, [`GET http://[::1 HTTP/1.1\r\nHost: ${new URL(server.url).host}\r\nConnection: close\r\n\r\n`]);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(rawError(reply)).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
    expect((await api.list()).status).toBe(200);
  });

  it("accepts and ignores ?alt=json as gcloud sends it", async () => {
    const answer = await call(server.url, "GET", `${jobsPath}?alt=json`, { token: server.token });
    expect(answer.status).toBe(200);
  });

  it("refuses a second server on the same state folder", async () => {
    await expect(startServer({ stateDir: server.stateDir })).rejects.toThrow(/in use by another local backend|already serves/);
  });

  it("needs allowRemote to bind beyond loopback", async () => {
    await expect(startServer({ stateDir: tempDir(), host: "0.0.0.0" })).rejects.toThrow(/allowRemote/);
  });

  it("binds without allowRemote to any loopback address, 127.0.0.2 and [::1] as its URL writes it, and answers there", async () => {
    // 127.0.0.0/8 is loopback whole; [::1] was looked up as a host name. Both were refused as remote.
    for (const host of ["127.0.0.2", "[::1]"]) {
      const other = await startServer({ stateDir: tempDir(), host });
      try {
        expect(other.url).toMatch(new RegExp(`^http://${host.replace(/[[\].]/g, "\\$&")}:\\d+/$`));
        expect((await call(other.url, "GET", jobsPath, { token: other.token })).status, host).toBe(200);
      } finally {
        await other.close();
      }
    }
  });
});

describe("validation", () => {
  it("answers 400 INVALID_ARGUMENT listing every issue with its Vertex path", async () => {
    const job = testJob([], { maxTrialCount: 0 }, {
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 2, maxValue: 1 } }],
      observationNoise: "HIGH",
    });
    const answer = await api.create(job);
    expect(answer.status).toBe(400);
    expect(answer.body.error.status).toBe("INVALID_ARGUMENT");
    const message: string = answer.body.error.message;
    expect(message).toContain("maxTrialCount");
    expect(message).toContain("studySpec.parameters[0].doubleValueSpec.minValue");
    expect(message).toContain("studySpec.observationNoise");
  });

  it("refuses convex early stopping naming studySpec.convexAutomatedStoppingSpec", async () => {
    const answer = await api.create(testJob([], {}, { convexAutomatedStoppingSpec: { maxStepCount: "10" } }));
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain("studySpec.convexAutomatedStoppingSpec");
  });

  it("refuses study stopping rules naming studySpec.studyStoppingConfig, rather than ignoring them", async () => {
    const answer = await api.create(testJob([], {}, { studyStoppingConfig: { maxNumTrialsNoProgress: 3 } }));
    expect(answer.status).toBe(400);
    expect(answer.body.error.status).toBe("INVALID_ARGUMENT");
    expect(answer.body.error.message).toContain("studySpec.studyStoppingConfig");
  });

  it("refuses unknown field names with 400 INVALID_ARGUMENT naming each by its JSON path, as Google's JSON does", async () => {
    const job = testJob(["--steps=1"], { maxTrialCount: 1 }, { medianAutomatedStopingSpec: { useElapsedDuration: false } } as never);
    const answer = await api.create({ ...job, maxFailedTrialCnt: 2, labels: { "any-key": "v" } } as never);
    expect(answer.status).toBe(400);
    expect(answer.body.error.status).toBe("INVALID_ARGUMENT");
    const message: string = answer.body.error.message;
    expect(message).toContain('maxFailedTrialCnt: unknown field "maxFailedTrialCnt"');
    expect(message).toContain('studySpec.medianAutomatedStopingSpec: unknown field "medianAutomatedStopingSpec"');
    expect(message).not.toContain("any-key");
  });

  it("answers values of the wrong JSON type with 400 naming each field, not 500, and keeps proto3's other forms in one", async () => {
    const job = testJob(["--steps=1"], { maxTrialCount: 1, displayName: 5 as never, labels: { team: 5 } as never }, { parameters: 5 as never });
    job.trialJobSpec!.workerPoolSpecs![0]!.containerSpec!.command = "python3" as never;
    const refused = await api.create(job);
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe("INVALID_ARGUMENT");
    for (const line of ["displayName: must be a string (got 5)", "studySpec.parameters: must be a list (got 5)", 'containerSpec.command: must be a list (got "python3")', "labels.team: must be a string (got 5)"]) {
      expect(refused.body.error.message).toContain(line);
    }
    const sent = testJob(["--steps=1"], { maxTrialCount: "1" as never, maxFailedTrialCount: null as never }, {
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: "0.1" as never, maxValue: 0.9 } }],
    });
    sent.trialJobSpec!.workerPoolSpecs![0]!.replicaCount = 1 as never;
    const created = await api.create({ ...sent, parallel_trial_count: 1, parallelTrialCount: undefined } as never);
    expect(created.status).toBe(200);
    // As Vertex answers it: int32 and double fields numbers, int64 ones strings, nulls gone.
    expect(created.body.maxTrialCount).toBe(1);
    expect(created.body).not.toHaveProperty("maxFailedTrialCount");
    expect(created.body.studySpec.parameters[0].doubleValueSpec.minValue).toBe(0.1);
    expect(created.body.trialJobSpec.workerPoolSpecs[0].replicaCount).toBe("1");
    // A proto name, as Vertex takes it, kept under the JSON name.
    expect(created.body.parallelTrialCount).toBe(1);
    expect(created.body).not.toHaveProperty("parallel_trial_count");
  });

  it("takes enums by number, as Google's Python client sends every one, and answers them by name", async () => {
    // What google-cloud-aiplatform's REST transport sends: enums as numbers, `$alt=json;enum-encoding=int`.
    const job = testJob(["--steps=1"], { maxTrialCount: 1 }, {
      metrics: [{ metricId: "accuracy", goal: 1 as never }],
      parameters: [{ parameterId: "x", doubleValueSpec: { minValue: 0.1, maxValue: 0.9 }, scaleType: 2 as never }],
      algorithm: 3 as never,
      measurementSelectionType: 2 as never,
    });
    const pool = job.trialJobSpec!.workerPoolSpecs![0]!;
    pool.machineSpec = { machineType: "g2-standard-4", acceleratorType: 11 as never, acceleratorCount: 1 };
    job.trialJobSpec!.scheduling = { strategy: 4 as never };
    const created = await call(server.url, "POST", `${jobsPath}?%24alt=json%3Benum-encoding%3Dint`, { token: server.token, body: job });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.studySpec).toMatchObject({ metrics: [{ goal: "MAXIMIZE" }], parameters: [{ scaleType: "UNIT_LOG_SCALE" }], algorithm: "RANDOM_SEARCH", measurementSelectionType: "BEST_MEASUREMENT" });
    expect(created.body.trialJobSpec.workerPoolSpecs[0].machineSpec.acceleratorType).toBe("NVIDIA_L4");
    expect(created.body.trialJobSpec.scheduling.strategy).toBe("SPOT");
    // A number that is no value of the enum is named, with the values it could be.
    const refused = await api.create(testJob(["--steps=1"], { maxTrialCount: 1 }, { algorithm: 1 as never }));
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain("studySpec.algorithm: must be one of the field's values, by name or number: 0 (ALGORITHM_UNSPECIFIED), 2 (GRID_SEARCH), 3 (RANDOM_SEARCH) (got 1)");
  });

  it("reads a value spec's bound left out as 0, as Vertex does: a client that builds a proto (Google's Python client) leaves a bound of 0 out", async () => {
    // What google-cloud-aiplatform sends for DoubleParameterSpec(min=0.0, max=0.9) and IntegerParameterSpec(min=0, max=3).
    const job = testJob(["--steps=1", "--sleep=0"], { maxTrialCount: 2 }, {
      parameters: [
        { parameterId: "x", doubleValueSpec: { maxValue: 0.9 } },
        { parameterId: "n", integerValueSpec: { maxValue: "3" } },
      ],
    });
    const created = await api.create(job);
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    expect(created.body.studySpec.parameters).toMatchObject([{ doubleValueSpec: { minValue: 0, maxValue: 0.9 } }, { integerValueSpec: { minValue: "0", maxValue: "3" } }]);
    const done = await api.waitFor(created.body.name.split("/").pop());
    expect(done.state).toBe("JOB_STATE_SUCCEEDED");
    expect(done.trials).toHaveLength(2);
    for (const trial of done.trials!) {
      const [x, n] = trial.parameters!.map((p) => p.value as number);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(0.9);
      expect([0, 1, 2, 3]).toContain(n);
    }
  });

  it("refuses an output prefix with a . or .. segment, which no folder under <state>/gcs/ can stand for", async () => {
    const base = testJob(["--steps=1"], { maxTrialCount: 1 });
    const answer = await api.create({ ...base, trialJobSpec: { ...base.trialJobSpec, baseOutputDirectory: { outputUriPrefix: "gs://bkt/../../escaped/" } } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.message).toContain('trialJobSpec.baseOutputDirectory.outputUriPrefix: "gs://bkt/../../escaped/" has a "." or ".." segment');
  });

  it("ignores a request's output-only fields, as Google's APIs do: a job read back can be sent again", async () => {
    const answer = await api.create({
      ...testJob(["--steps=1"], { maxTrialCount: 1 }),
      name: `${PARENT}/hyperparameterTuningJobs/42`,
      state: "JOB_STATE_SUCCEEDED",
      trials: [{ id: "9", state: "SUCCEEDED" }],
      createTime: "2020-01-01T00:00:00Z",
      endTime: "2020-01-01T00:00:00Z",
      error: { code: 13, message: "old" },
    } as never);
    expect(answer.status).toBe(200);
    expect(answer.body.name).not.toBe(`${PARENT}/hyperparameterTuningJobs/42`);
    // As Vertex answers a create: the job not started yet.
    expect(answer.body.state).toBe("JOB_STATE_PENDING");
    expect(answer.body).not.toHaveProperty("startTime");
    expect(answer.body.createTime).not.toBe("2020-01-01T00:00:00Z");
    expect(answer.body).not.toHaveProperty("endTime");
    expect(answer.body).not.toHaveProperty("error");
    expect(answer.body.trials ?? []).toEqual([]);
  });

  it("refuses query parameters a method does not have, and takes the standard ones", async () => {
    const created = await api.create(testJob(["--steps=1", "--sleep=0"], { maxTrialCount: 1 }));
    const id = created.body.name.split("/").pop();
    await api.waitFor(id);
    const token = { token: server.token };
    for (const [method, path] of [["GET", `${jobsPath}/${id}?filter=x`], ["POST", `${jobsPath}/${id}:cancel?force=true`], ["DELETE", `${jobsPath}/${id}?etag=1`], ["POST", `${jobsPath}?validateOnly=true`]] as const) {
      const refused = await call(server.url, method, path, { ...token, body: method === "POST" ? testJob(["--steps=1"]) : undefined });
      expect(refused.status, `${method} ${path}`).toBe(400);
      expect(refused.body.error.message).toMatch(/unknown query parameter "(filter|force|etag|validateOnly)": this method takes none/);
    }
    expect((await api.get(id)).body.state).toBe("JOB_STATE_SUCCEEDED");
    const trimmed = await call(server.url, "GET", `${jobsPath}/${id}?fields=name&prettyPrint=false&quotaUser=me&%24fields=name&userProject=p&trace=token%3Aabc`, token);
    expect(trimmed.status).toBe(200);
    expect(trimmed.body.name).toBe(created.body.name);
  });

  it("refuses a list filter on a state that is no JobState with 400 naming it, never an empty or a whole list", async () => {
    for (const filter of ["state=SUCCEEDED", "state!=JOB_STATE_SUCEEDED AND labels.team:*"]) {
      const refused = await api.list(`?filter=${encodeURIComponent(filter)}`);
      expect(refused.status, filter).toBe(400);
      expect(refused.body.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
      expect(refused.body.error.message).toMatch(/"(SUCCEEDED|JOB_STATE_SUCEEDED)" is no JobState/);
    }
  });

  it("refuses a pageToken it did not write with 400, rather than listing from the start or elsewhere", async () => {
    for (const token of ["!!!!", "MWUz", "MHgxMA", "abc"]) {
      const refused = await api.list(`?pageToken=${token}`);
      expect(refused.status, token).toBe(400);
      expect(refused.body.error).toMatchObject({ status: "INVALID_ARGUMENT", message: "invalid pageToken" });
    }
  });

  it("answers 404 NOT_FOUND for an unknown job, operation or route", async () => {
    expect((await api.get("999")).status).toBe(404);
    expect((await call(server.url, "GET", `v1/${PARENT}/operations/77`, { token: server.token })).status).toBe(404);
    expect((await call(server.url, "GET", "v1/projects/p/locations/l/customJobs", { token: server.token })).status).toBe(404);
  });
});

describe("jobs", () => {
  it("creates (not an LRO), lists with filters and pages, cancels, and deletes through an operation", async () => {
    const ids: string[] = [];
    const labelSets: Record<string, string>[] = [{ team: "a", env: "dev" }, { team: "b" }, { team: "a" }];
    for (const [i, labels] of labelSets.entries()) {
      const created = await api.create(testJob(["--steps=1", "--sleep=0"], { displayName: `job-${i}`, labels, maxTrialCount: 1 }));
      expect(created.status).toBe(200);
      expect(created.body.name).toMatch(new RegExp(`^${PARENT}/hyperparameterTuningJobs/\\d+$`));
      expect(created.body.trials).toBeUndefined();
      ids.push(created.body.name.split("/").pop());
    }
    expect(new Set(ids).size).toBe(3);
    for (const id of ids) await api.waitFor(id);

    const byLabel = await api.list(`?filter=${encodeURIComponent("labels.team=a")}`);
    expect(byLabel.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-0", "job-2"]);
    expect(byLabel.body.hyperparameterTuningJobs[0].trials).toBeUndefined();
    const both = await api.list(`?filter=${encodeURIComponent('labels.team="a" AND labels.env:*')}`);
    expect(both.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-0"]);
    const byState = await api.list(`?filter=${encodeURIComponent("state=JOB_STATE_SUCCEEDED AND display_name=job-1")}`);
    expect(byState.body.hyperparameterTuningJobs).toHaveLength(1);
    const notSucceeded = await api.list(`?filter=${encodeURIComponent("state!=JOB_STATE_SUCCEEDED AND labels.team:*")}`);
    expect(notSucceeded.body.hyperparameterTuningJobs).toBeUndefined();
    const notRunning = await api.list(`?filter=${encodeURIComponent("state!=JOB_STATE_RUNNING AND labels.team:*")}`);
    expect(notRunning.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-0", "job-1", "job-2"]);
    // As google-cloud-aiplatform's HyperparameterTuningJob.list(filter=...) sends it, and Vertex documents it.
    const since = await api.list(`?filter=${encodeURIComponent('create_time>"2020-01-01T00:00:00Z" AND labels.team=a')}`);
    expect(since.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-0", "job-2"]);
    const first = byLabel.body.hyperparameterTuningJobs[0].createTime;
    const fromFirst = await api.list(`?filter=${encodeURIComponent(`create_time>="${first}" AND labels.team:*`)}`);
    expect(fromFirst.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-0", "job-1", "job-2"]);
    expect((await api.list(`?filter=${encodeURIComponent(`create_time<"${first}" AND labels.team:*`)}`)).body.hyperparameterTuningJobs).toBeUndefined();
    const bad = await api.list(`?filter=${encodeURIComponent("create_time>2020")}`);
    expect(bad.status).toBe(400);
    const badEscape = await api.list(`?filter=${encodeURIComponent('display_name="\\q"')}`);
    expect(badEscape.body.error).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });

    const seen: string[] = [];
    let token = "";
    do {
      const page = await api.list(`?pageSize=2&filter=${encodeURIComponent("labels.team:*")}${token ? `&pageToken=${token}` : ""}`);
      expect(page.body.hyperparameterTuningJobs.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.hyperparameterTuningJobs.map((j: { name: string }) => j.name.split("/").pop()));
      token = page.body.nextPageToken ?? "";
    } while (token);
    expect(seen).toEqual(ids);
    // Google's front end binds a query parameter by its proto name too.
    const snake = await api.list(`?page_size=2&filter=${encodeURIComponent("labels.team:*")}`);
    expect(snake.body.hyperparameterTuningJobs.map((j: { name: string }) => j.name.split("/").pop())).toEqual(ids.slice(0, 2));
    const next = await api.list(`?page_size=2&page_token=${snake.body.nextPageToken}&filter=${encodeURIComponent("labels.team:*")}`);
    expect(next.body.hyperparameterTuningJobs.map((j: { name: string }) => j.name.split("/").pop())).toEqual(ids.slice(2));
    // A misspelt parameter is refused, not ignored (which would list every job).
    const misspelt = await api.list(`?filtre=${encodeURIComponent("labels.team=a")}&pagesize=1&fields=name`);
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.error.status).toBe("INVALID_ARGUMENT");
    expect(misspelt.body.error.message).toContain('"filtre", "pagesize"');
    expect(misspelt.body.error.message).not.toContain('"fields"');
    const standard = await api.list(`?filter=${encodeURIComponent("labels.team=b")}&readMask=name&prettyPrint=false&alt=json&%24.xgafv=2`);
    expect(standard.body.hyperparameterTuningJobs.map((j: { displayName: string }) => j.displayName)).toEqual(["job-1"]);

    // A running job cannot be deleted; cancel → CANCELLING → CANCELLED with error code 1.
    const running = await api.create(testJob(["--mode=hang"], { maxTrialCount: 1 }));
    const id = running.body.name.split("/").pop();
    await api.waitFor(id, (j) => (j.trials ?? []).length === 1);
    const refused = await api.remove(id);
    expect(refused.status).toBe(400);
    expect(refused.body.error.status).toBe("FAILED_PRECONDITION");
    expect(server.runningTrials()).toBe(1);
    expect(await api.cancel(id)).toMatchObject({ status: 200, body: {} });
    const cancelled = await api.waitFor(id);
    expect(server.runningTrials()).toBe(0);
    expect(cancelled.state).toBe("JOB_STATE_CANCELLED");
    expect(cancelled.error).toMatchObject({ code: 1 });
    expect(cancelled.trials?.[0]).toMatchObject({ state: "INFEASIBLE", infeasibleReason: "cancelled with the job" });

    const deleted = await api.remove(id);
    expect(deleted.status).toBe(200);
    expect(deleted.body.name).toMatch(new RegExp(`^${PARENT}/operations/\\d+$`));
    expect(deleted.body.done).toBe(true);
    const op = await call(server.url, "GET", `v1/${deleted.body.name}`, { token: server.token });
    expect(op.body).toMatchObject({ name: deleted.body.name, done: true });
    // Where Google's Python client asks for it (the first binding of GetOperation).
    const asked = await call(server.url, "GET", `ui/${deleted.body.name}`, { token: server.token });
    expect(asked).toMatchObject({ status: 200, body: op.body });
    expect((await api.get(id)).status).toBe(404);
  });

  it("answers get and list with only the fields asked (partial response), and refuses an invalid selector with 400 naming fields", async () => {
    const created = await api.create(testJob(["--steps=4", "--sleep=0"], { maxTrialCount: 2, displayName: "partial" }));
    const id = created.body.name.split("/").pop();
    const full = await api.waitFor(id);
    expect(full.trials![0].measurements).toHaveLength(4);
    const selector = "state,error,trials(id,state,parameters,finalMeasurement)";
    const polled = await call(server.url, "GET", `${jobsPath}/${id}?fields=${encodeURIComponent(selector)}`, { token: server.token });
    expect(polled.status).toBe(200);
    expect(polled.body).toEqual({
      state: "JOB_STATE_SUCCEEDED",
      trials: full.trials!.map((t) => ({ id: t.id, state: t.state, parameters: t.parameters, finalMeasurement: t.finalMeasurement })),
    });
    const listed = await api.list(`?filter=${encodeURIComponent('display_name="partial"')}&fields=${encodeURIComponent("hyperparameterTuningJobs(name,state)")}`);
    expect(listed).toEqual({ status: 200, body: { hyperparameterTuningJobs: [{ name: created.body.name, state: "JOB_STATE_SUCCEEDED" }] } });
    for (const bad of ["trials(id", "trials(measurement)"]) {
      for (const path of [`${jobsPath}/${id}`, jobsPath]) {
        const refused = await call(server.url, "GET", `${path}?fields=${encodeURIComponent(bad)}`, { token: server.token });
        expect(refused.status, `${path} ${bad}`).toBe(400);
        expect(refused.body.error, `${path} ${bad}`).toMatchObject({ code: 400, status: "INVALID_ARGUMENT" });
        expect(refused.body.error.message).toContain(`invalid fields parameter ${JSON.stringify(bad)}`);
      }
    }
  });
});

describe("fault injection", () => {
  it("answers an injected status, drops connections before and after handling, and logs requests", async () => {
    server.faults.push({ method: "GET", path: /hyperparameterTuningJobs$/, status: 503, times: 2 });
    expect((await api.list()).status).toBe(503);
    expect((await api.list()).body.error).toMatchObject({ code: 503, status: "UNAVAILABLE" });
    expect((await api.list()).status).toBe(200);

    server.faults.push({ method: "POST", dropConnection: "after" });
    const before = (await api.list()).body.hyperparameterTuningJobs?.length ?? 0;
    await expect(api.create(testJob(["--steps=1"], { maxTrialCount: 1 }))).rejects.toThrow();
    // Committed although the client never heard: the case an idempotent client must handle.
    expect((await api.list()).body.hyperparameterTuningJobs.length).toBe(before + 1);

    server.faults.push({ dropConnection: "before" });
    await expect(api.list()).rejects.toThrow();
    expect(server.requestLog.filter((e) => e.status === 0)).toHaveLength(2);
    expect(server.requestLog.filter((e) => e.status === 503)).toHaveLength(2);

    server.faults.push({ delayMs: 300 });
    const started = Date.now();
    expect((await api.list()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });
});
