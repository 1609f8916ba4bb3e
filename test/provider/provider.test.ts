/**
 * The provider's lifecycle against the real local backend over HTTP, with faults injected by
 * the server: every case ends with exactly the jobs it should have, and the right outputs.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runAdoption } from "../../cli/run";
import { specHash } from "../../components/spec/hash";
import { makeTuningJobProvider } from "../../components/tuningJob";
import { createOrAdopt, DEFAULT_ADOPTION_TIMING, withIdentityLabels } from "../../components/vertex/adoption";
import { waitForJob } from "../../components/vertex/wait";
import type { FaultRule, LocalServer } from "../../local/server";
import type { TuningJobInputs, TuningJobOutputs } from "../../components/tuningJobTypes";
import { expectBestTrial, fastClock, PATHS, REPO_ROOT, requests, startLocalBackend, startProxy, testClient, testInputs, testJob, thrown, type LocalBackend } from "./helpers";

let backend: LocalBackend | undefined;
afterEach(async () => {
  await backend?.stop();
  backend = undefined;
});

/** A local server with `faults`, and a provider on a fast clock whose log lines are kept. */
async function setup(faults: FaultRule[] = []) {
  backend = await startLocalBackend(faults);
  const lines: string[] = [];
  const provider = makeTuningJobProvider({ clock: fastClock(), log: (line) => lines.push(line) });
  return { server: backend.server, provider, lines, client: testClient(backend.server) };
}

/** A job whose single trial runs until the test creates its release file. */
function heldJob(server: LocalServer, identity: string, extra: Partial<TuningJobInputs> = {}, maxTrialCount = 1) {
  const release = join(server.stateDir, `release-${identity}`);
  const inputs = testInputs(server, testJob({ maxTrialCount, env: { TRAINER_WAIT_FOR_FILE: release } }), identity, { waitTimeoutMinutes: 1, ...extra });
  // The same job with a deadline that leaves a loaded machine seconds of real time to finish it
  // once released (the fast clock's minute is 300 ms): for the call that waits for its end.
  const patient: TuningJobInputs = { ...inputs, waitTimeoutMinutes: 30 };
  return { inputs, patient, release: () => writeFileSync(release, "") };
}

type InitError = Error & { id: string; properties: TuningJobOutputs; reasons: string[] };

describe("create, wait and outputs", () => {
  it("runs the study to its end and reports trials, counts and the best trial", async () => {
    const { server, provider, lines, client } = await setup();
    const { id, outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 4, parallelTrialCount: 2 })));

    expect(id).toMatch(/^projects\/p\/locations\/us-central1\/hyperparameterTuningJobs\/\d+$/);
    expect(outs.name).toBe(id);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(outs.createTime).toBeTruthy();
    expect(outs.endTime).toBeTruthy();
    expect(outs.error).toBeUndefined();
    expect(outs.consoleUrl).toBe("");
    expect(outs.trialCounts).toEqual({ total: 4, succeeded: 4, infeasible: 0, active: 0, stopping: 0, requested: 0 });
    // Best trial: the largest score, with its parameters and measurement, among the trials as
    // the trainer reported them (score = 1 - (x - 0.3)^2).
    for (const trial of outs.trials) {
      expect(trial.metricValue).toBeCloseTo(1 - ((trial.parameters.x as number) - 0.3) ** 2, 12);
    }
    expectBestTrial(outs);
    // The inputs come back, with the job's labels as given (the idempotency labels are on the job in Vertex only).
    expect(outs.project).toBe("p");
    expect((await client.get(id)).labels).toEqual({ "pulumi-resource": "test-identity", "pulumi-spec": outs.specHash });

    // Progress: one line per change, the last says it all.
    const progress = lines.filter((l) => l.includes("trials finished"));
    expect(new Set(progress).size).toBe(progress.length);
    expect(progress.at(-1)).toMatch(/JOB_STATE_SUCCEEDED, 4\/4 trials finished, best score [\d.]+ \(trial \d+\)$/);
    expect(await client.list()).toHaveLength(1);
  });

  it("polls for only what its progress reads (fields), and reads the whole job once at the end for the outputs", async () => {
    // A rule that changes nothing: it counts the gets that carry a fields selector.
    const partial: FaultRule = { method: "GET", path: /\/hyperparameterTuningJobs\/\d+\?fields=/, times: 1_000 };
    const { server, provider, lines } = await setup([partial]);
    const { outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 2 })));
    const polls = 1_000 - partial.times!;
    expect(polls).toBeGreaterThan(0);
    expect(requests(server, "GET", PATHS.job)).toHaveLength(polls + 1);
    // Fields no poll asks for: the outputs come from the whole job.
    expect(outs.createTime).toBeTruthy();
    expect(outs.trials.map((t) => Boolean(t.startTime && t.endTime && Object.keys(t.parameters).length))).toEqual([true, true]);
    expect(lines.filter((l) => l.includes("trials finished")).at(-1)).toMatch(/JOB_STATE_SUCCEEDED, 2\/2 trials finished, best score [\d.]+ \(trial \d\)$/);
  });

  it("polls with a backoff from 5 s up to 60 s: a few requests for a long wait", async () => {
    const { server, provider } = await setup();
    const held = heldJob(server, "poll", { waitTimeoutMinutes: 10 });
    const error = await thrown<InitError>(provider.create(held.inputs));
    expect(error.properties.state).toBe("JOB_STATE_RUNNING");
    // 10 simulated minutes: a get, then sleeps of 5, 7.5, 11.3, 16.9, 25.3, 38 and 57 s (2.7 min),
    // then 8 of at most 60 s, each followed by a get: 16 polls, and one get of the whole job for the outputs.
    expect(requests(server, "GET", PATHS.job)).toHaveLength(17);
    held.release();
  });
});

describe("the vertex backend's path, against the local server", () => {
  it("reads the token from CLOUDSDK_AUTH_ACCESS_TOKEN; with wait false returns at once with the job's name and state", async () => {
    const { server, provider, client } = await setup();
    const held = heldJob(server, "no-wait", { backend: "vertex", wait: false });
    const saved = process.env.CLOUDSDK_AUTH_ACCESS_TOKEN;
    process.env.CLOUDSDK_AUTH_ACCESS_TOKEN = server.token;
    try {
      const { id, outs } = await provider.create(held.inputs);
      expect(["JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"]).toContain(outs.state);
      expect(outs.name).toBe(id);
      expect(outs.consoleUrl).toBe(`https://console.cloud.google.com/vertex-ai/locations/us-central1/training/${id.split("/").pop()}/cpu?project=p`);
      expect(requests(server, "GET", PATHS.job)).toHaveLength(0);
      // A later update with wait on resumes; it never creates.
      held.release();
      const { outs: done } = await provider.update(id, outs, { ...held.patient, wait: true });
      expect(done.state).toBe("JOB_STATE_SUCCEEDED");
    } finally {
      if (saved === undefined) delete process.env.CLOUDSDK_AUTH_ACCESS_TOKEN;
      else process.env.CLOUDSDK_AUTH_ACCESS_TOKEN = saved;
    }
    expect(await client.list()).toHaveLength(1);
  });
});

describe("retries: get, list, cancel and delete retried on 429, 5xx and dropped connections", () => {
  it("gets through 429s, 503s and dropped connections on every retried call", async () => {
    const { server, provider, client } = await setup([
      { method: "GET", path: PATHS.collection, status: 429 },
      { method: "GET", path: PATHS.job, status: 503, times: 2 },
      { method: "GET", path: PATHS.job, dropConnection: "before" },
      { method: "POST", path: PATHS.cancel, status: 503 },
      { method: "DELETE", path: PATHS.job, status: 429 },
    ]);
    const held = heldJob(server, "retries");
    const error = await thrown<InitError>(provider.create(held.inputs));
    await provider.delete(error.id, error.properties);

    expect(requests(server, "GET", PATHS.collection).map((r) => r.status)).toEqual([429, 200]);
    expect(requests(server, "GET", PATHS.job).slice(0, 4).map((r) => r.status)).toEqual([503, 503, 0, 200]);
    expect(requests(server, "POST", PATHS.cancel).map((r) => r.status)).toEqual([503, 200]);
    expect(requests(server, "DELETE", PATHS.job).map((r) => r.status)).toEqual([429, 200]);
    expect(await client.list()).toEqual([]);
  });

  it("still completes when answers are slow", async () => {
    const { server, provider, client } = await setup([{ method: "GET", delayMs: 400, times: 5 }]);
    const { outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 2 })));
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(await client.list()).toHaveLength(1);
  });
});

describe("ambiguous creates: never two jobs", () => {
  it("resolves a create answered 503 by listing, then creates once more (nothing was committed)", async () => {
    const { server, provider, lines, client } = await setup([{ method: "POST", path: PATHS.collection, status: 503 }]);
    const { outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 2 })));
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(requests(server, "POST", PATHS.collection).map((r) => r.status)).toEqual([503, 200]);
    // The window was searched before the second create.
    expect(requests(server, "GET", PATHS.collection).length).toBeGreaterThan(2);
    expect(lines.join("\n")).toContain("looking for the job");
    expect(await client.list()).toHaveLength(1);
  });

  it("adopts the job of a create whose connection dropped after it was committed", async () => {
    const { server, provider, lines, client } = await setup([{ method: "POST", path: PATHS.collection, dropConnection: "after" }]);
    const { id, outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 2 })));
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(requests(server, "POST", PATHS.collection).map((r) => r.status)).toEqual([0]);
    expect(lines.join("\n")).toContain(`adopting ${id}: the create did go through`);
    expect((await client.list()).map((j) => j.name)).toEqual([id]);
  });

  it("adopts the job of a create whose answer was cut off mid-body, and retries a get cut off the same way", async () => {
    // A 200 head and half a chunked body, then the connection closes: node-fetch calls it a
    // "Premature close" (ERR_STREAM_PREMATURE_CLOSE), which is a dropped connection like any other.
    const { server, provider, lines, client } = await setup([
      { method: "POST", path: PATHS.collection, dropConnection: "midBody" },
      { method: "GET", path: PATHS.job, dropConnection: "midBody" },
    ]);
    const { id, outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 2 })));
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(lines.join("\n")).toContain(`adopting ${id}: the create did go through`);
    expect(requests(server, "GET", PATHS.job).map((r) => r.status).slice(0, 2)).toEqual([0, 200]);
    expect((await client.list()).map((j) => j.name)).toEqual([id]);
  });

  it("creates again after a refused connection (ECONNREFUSED: the request never reached the server), without looking for a job", async () => {
    const { server, client } = await setup();
    const proxy = await startProxy(server);
    try {
      // The server goes away between the list and the create, and is back a moment later.
      const viaProxy = testClient(server, fastClock(), proxy.url);
      const refusing = { ...viaProxy, list: async (filter?: string) => (await viaProxy.list(filter)).concat(await proxy.refuse().then(() => [])) };
      const base = fastClock();
      const clock = { ...base, sleep: async (ms: number) => (await proxy.accept(), base.sleep(ms)) };
      const job = testJob({ maxTrialCount: 1 });
      const lines: string[] = [];
      const { adopted } = await createOrAdopt(refusing, withIdentityLabels(job, "refused", specHash(job)), clock, (l) => lines.push(l));
      expect(adopted).toBe(false);
      expect(lines).toEqual([]);
      expect(requests(server, "GET", PATHS.collection)).toHaveLength(1);
      expect(await client.list()).toHaveLength(1);

      // Still refused after the retries: the error says nothing was created.
      const error = await thrown(createOrAdopt(refusing, withIdentityLabels(job, "still-refused", specHash(job)), fastClock(), (l) => lines.push(l)));
      expect(error.message).toBe("create hyperparameter tuning job in projects/p/locations/us-central1 failed: no answer (ECONNREFUSED): the request never reached the server, so it was not carried out");
      expect(lines).toEqual([]);
      expect(await client.list()).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it("does not retry a create refused for quota (429: nothing was created), and says what to do", async () => {
    const { server, provider, client } = await setup([{ method: "POST", path: PATHS.collection, status: 429 }]);
    const error = await thrown(provider.create(testInputs(server, testJob())));
    expect(error.message).toContain("create hyperparameter tuning job in projects/p/locations/us-central1 failed: 429 RESOURCE_EXHAUSTED");
    expect(error.message).toContain("lower parallelTrialCount or the trial machine, or request more quota");
    expect(error.message).not.toContain(server.token);
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toEqual([]);
  });
});

describe("adoption on rerun (the resource's identity and spec labels)", () => {
  it("adopts a running job of the same identity and spec instead of creating another", async () => {
    const { server, provider, lines, client } = await setup();
    const held = heldJob(server, "rerun-running");
    const first = await thrown<InitError>(provider.create(held.inputs));
    held.release();
    const { id, outs } = await provider.create(held.patient);
    expect(id).toBe(first.id);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(lines.join("\n")).toContain(`adopting ${id} (JOB_STATE_RUNNING)`);
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toHaveLength(1);
  });

  it("lists by quoted label values (AIP-160), so a hash of digits or one like 12e4 is never read as a number", async () => {
    // The create goes through but its answer is lost, so the job is looked for by both labels.
    const { server } = await setup([{ method: "POST", path: PATHS.collection, dropConnection: "after" }]);
    const client = testClient(server);
    const filters: (string | undefined)[] = [];
    const listing = { ...client, list: (filter?: string) => (filters.push(filter), client.list(filter)) };
    const spec = specHash(testJob({ maxTrialCount: 1 }));
    const job = withIdentityLabels(testJob({ maxTrialCount: 1 }), "12e4", spec);
    const { adopted } = await createOrAdopt(listing, job, fastClock(), () => {}, { timing: DEFAULT_ADOPTION_TIMING });
    expect(adopted).toBe(true);
    expect(filters[0]).toBe('labels.pulumi-resource="12e4"');
    expect(filters.length).toBeGreaterThan(1);
    for (const filter of filters.slice(1)) expect(filter).toBe(`labels.pulumi-resource="12e4" AND labels.pulumi-spec="${spec}"`);
  });

  it("adopts a SUCCEEDED job of the same identity and spec", async () => {
    const { server, provider, client } = await setup();
    const inputs = testInputs(server, testJob({ maxTrialCount: 2 }));
    const first = await provider.create(inputs);
    const again = await provider.create(inputs);
    expect(again.id).toBe(first.id);
    expect(again.outs.bestTrial).toEqual(first.outs.bestTrial);
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toHaveLength(1);
  });

  it("with tune run's policy, adopts only a running job and leaves one of another spec running, named with the command that cancels it", async () => {
    const { server, client } = await setup();
    const release = join(server.stateDir, "release-policy");
    const base = testJob({ maxTrialCount: 1, env: { TRAINER_WAIT_FOR_FILE: release } });
    const policy = runAdoption(server.stateDir);
    const run = async (job: typeof base) => {
      const lines: string[] = [];
      const result = await createOrAdopt(client, withIdentityLabels(job, "tune-identity", specHash(job)), fastClock(), (l) => lines.push(l), { policy });
      return { ...result, lines };
    };
    const first = await run(base);
    expect(first.adopted).toBe(false);
    const again = await run(base);
    expect(again.adopted).toBe(true);
    expect(again.job.name).toBe(first.job.name);

    const other = await run({ ...base, displayName: "other settings" });
    expect(other.adopted).toBe(false);
    expect(other.lines.join("\n")).toContain(
      `${first.job.name} (JOB_STATE_RUNNING), started earlier with other settings, is left running; to cancel it: npm run tune -- cancel ${first.job.name} --state ${server.stateDir}`,
    );
    expect((await client.get(first.job.name!)).state).toBe("JOB_STATE_RUNNING");

    writeFileSync(release, "");
    const clock = fastClock();
    // A fast clock's half hour: a few real seconds for the trainer to see the release and exit.
    expect((await waitForJob(client, first.job.name!, clock.now() + 30 * 60_000, clock)).job.state).toBe("JOB_STATE_SUCCEEDED");
    const afterSuccess = await run(base);
    expect(afterSuccess.adopted).toBe(false);
    expect(afterSuccess.job.name).not.toBe(first.job.name);
    expect(await client.list()).toHaveLength(3);
  });

  it("does not adopt a FAILED job: a rerun creates a new one, and the failure says why", async () => {
    const { server, provider, client } = await setup();
    const inputs = testInputs(server, testJob({ maxTrialCount: 4, env: { TRAINER_FAIL: "1" } }));
    const first = await thrown<InitError>(provider.create(inputs));
    expect(first.properties.state).toBe("JOB_STATE_FAILED");
    expect(first.message).toContain("ended JOB_STATE_FAILED: the job failed:");
    // The first (up to 3) trials' reasons.
    expect(first.message.match(/trial \d+: the trial process exited with code 1/g)).toHaveLength(3);
    expect(first.message).toContain(`${first.properties.error}. To run the study again, fix the cause and replace the job`);

    const second = await thrown<InitError>(provider.create(inputs));
    expect(second.id).not.toBe(first.id);
    expect((await client.list()).map((j) => j.state)).toEqual(["JOB_STATE_FAILED", "JOB_STATE_FAILED"]);
  });

  it("does not adopt a CANCELLED job: a rerun creates a new one", async () => {
    const { server, provider, client } = await setup();
    const held = heldJob(server, "rerun-cancelled");
    const first = await thrown<InitError>(provider.create(held.inputs));
    await client.cancel(first.id);
    held.release();
    const { id, outs } = await provider.create(held.patient);
    expect(id).not.toBe(first.id);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect((await client.get(first.id)).state).toBe("JOB_STATE_CANCELLED");
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(2);
  });

  it("names, never adopts or cancels, a running job under the identity of before the organization was part of it, of either spec", async () => {
    // An up of the earlier version created the job and was interrupted before recording it; the
    // next up runs this version, whose identity label on Pulumi Cloud includes the organization.
    // The label is every organization's stack of that name's: the job may as well be another's.
    const { server, provider, client } = await setup();
    const held = heldJob(server, "urn-hash-only");
    const left = await thrown<InitError>(provider.create(held.inputs));
    // And a job of another spec under that label.
    const otherJob = heldJob(server, "other-organization", {}, 2).inputs.job;
    const other = { id: (await client.create(withIdentityLabels(otherJob, "urn-hash-only", specHash(otherJob)))).name! };
    const upgraded = { ...held.patient, identity: "org-and-urn-hash", formerIdentity: "urn-hash-only" };
    const lines: string[] = [];
    const upgradedProvider = makeTuningJobProvider({ clock: fastClock(), log: (line) => (lines.push(line), line.startsWith("created") && held.release()) });
    const { id, outs } = await upgradedProvider.create(upgraded);
    expect(id).not.toBe(left.id);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    for (const job of [left.id, other.id]) {
      expect(lines.join("\n")).toContain(`${job} (JOB_STATE_RUNNING) carries this resource's label of before the Pulumi organization was part of it: it is left running`);
    }
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(3);
    expect(requests(server, "POST", PATHS.cancel)).toHaveLength(0);
    await client.cancel(other.id);
  });

  it("never takes another organization's running job of the same spec under the former label (it would delete it on destroy)", async () => {
    // Organization B's stack, on an earlier version, runs its job under the URN's hash alone and
    // records it. Organization A runs the same program as a stack of the same name against the
    // same project and region: its up, on this version, must leave B's job alone.
    const { server, provider, client } = await setup();
    const theirs = heldJob(server, "urn-hash-only");
    const recordedByB = await thrown<InitError>(provider.create(theirs.inputs));
    const lines: string[] = [];
    const orgA = makeTuningJobProvider({ clock: fastClock(), log: (line) => lines.push(line) });
    const ours = await thrown<InitError>(orgA.create({ ...theirs.inputs, identity: "org-a-and-urn-hash", formerIdentity: "urn-hash-only" }));
    expect(ours.id).not.toBe(recordedByB.id);
    expect(lines.join("\n")).toContain(`${recordedByB.id} (JOB_STATE_RUNNING) carries this resource's label of before the Pulumi organization was part of it: it is left running`);
    await orgA.delete(ours.id, ours.properties);
    expect((await client.get(recordedByB.id)).state).toBe("JOB_STATE_RUNNING");
    await client.cancel(recordedByB.id);
  });

  it("cancels the orphan of an interrupted replacement (same identity, another spec) and creates the new job", async () => {
    const { server, provider, lines, client } = await setup();
    const old = heldJob(server, "replaced");
    const orphan = await thrown<InitError>(provider.create(old.inputs));
    const next = testInputs(server, testJob({ maxTrialCount: 2, displayName: "replacement" }), "replaced");
    const { id, outs } = await provider.create(next);
    expect(id).not.toBe(orphan.id);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect((await client.get(orphan.id)).state).toBe("JOB_STATE_CANCELLED");
    expect(lines.join("\n")).toContain(`cancelling ${orphan.id}`);
    expect((await client.list()).map((j) => [j.name, j.state])).toEqual([
      [orphan.id, "JOB_STATE_CANCELLED"],
      [id, "JOB_STATE_SUCCEEDED"],
    ]);
  });
});

describe("two running jobs of the resource and spec (a create that went through unseen, then another)", () => {
  it("adopts the older and cancels the other, which no stack records", async () => {
    const { server, provider, lines, client } = await setup();
    const held = heldJob(server, "duplicated");
    const labelled = withIdentityLabels(held.inputs.job, "duplicated", specHash(held.inputs.job));
    const first = (await client.create(labelled)).name!;
    const second = (await client.create(labelled)).name!;
    held.release();
    const { id, outs } = await provider.create(held.patient);
    expect(id).toBe(first);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect((await client.get(second)).state).toBe("JOB_STATE_CANCELLED");
    expect(lines.join("\n")).toContain(`cancelling ${second}: a second job of this resource and spec, left running by an interrupted create`);
    expect(await client.list()).toHaveLength(2);
  });
});

describe("a job of the resource still being cancelled (CANCELLING)", () => {
  /**
   * The resource's job of `identity`, created by an up and then cancelled by a call interrupted in
   * its wait: its trial ignores SIGTERM, so the job stays CANCELLING for the backend's grace period.
   */
  async function cancellingJob({ server, provider, client }: Awaited<ReturnType<typeof setup>>, identity: string): Promise<InitError> {
    const old = heldJob(server, identity, { job: testJob({ maxTrialCount: 1, env: { TRAINER_WAIT_FOR_FILE: join(server.stateDir, "never"), TRAINER_IGNORE_SIGTERM: "1" } }) });
    const error = await thrown<InitError>(provider.create({ ...old.inputs, specHash: specHash(old.inputs.job) }));
    await client.cancel(error.id);
    return error;
  }

  it("is waited for before the new job is created, and not cancelled again: it holds the quota the new job needs", async () => {
    const context = await setup();
    const { server, provider, lines, client } = context;
    // An up cancelled it as the orphan of an interrupted replacement, and was itself interrupted in its wait.
    const orphan = await cancellingJob(context, "being-cancelled");
    expect((await client.get(orphan.id)).state).toBe("JOB_STATE_CANCELLING");
    const { id } = await provider.create(testInputs(server, testJob({ maxTrialCount: 1, displayName: "replacement" }), "being-cancelled"));
    const ended = await client.get(orphan.id);
    expect(ended.state).toBe("JOB_STATE_CANCELLED");
    expect(Date.parse((await client.get(id)).createTime!)).toBeGreaterThanOrEqual(Date.parse(ended.endTime!));
    expect(lines.join("\n")).toContain(`waiting for ${orphan.id} to end: a job of this resource being cancelled`);
    expect(requests(server, "POST", PATHS.cancel)).toHaveLength(1);
  });

  it("is waited for by delete without a second cancel", async () => {
    const context = await setup();
    const { server, provider, client } = context;
    // A destroy cancelled it and was interrupted in its wait; the next destroy.
    const error = await cancellingJob(context, "delete-cancelling");
    await provider.delete(error.id, error.properties);
    expect(requests(server, "POST", PATHS.cancel)).toHaveLength(1);
    expect(await client.list()).toEqual([]);
  });
});

describe("jobs in the states the local backend never reports, through a proxy that rewrites them", () => {
  /** A job request whose trial runs until the test ends. */
  const endlessJob = (server: LocalServer, displayName: string) => testJob({ maxTrialCount: 1, displayName, env: { TRAINER_WAIT_FOR_FILE: join(server.stateDir, "never") } });
  /** A job of `identity` that runs until the test ends, created as an earlier run would have. */
  async function runningJob(server: LocalServer, identity: string, displayName: string) {
    const job = endlessJob(server, displayName);
    return (await testClient(server).create(withIdentityLabels(job, identity, specHash(job)))).name!;
  }
  /**
   * A proxy that shows the job `name` as `state` while the local backend runs it (by its state: a
   * poll may ask for its state alone, with no endTime to tell).
   */
  function showingAs(server: LocalServer, name: string, state: string) {
    const running = ["JOB_STATE_QUEUED", "JOB_STATE_PENDING", "JOB_STATE_RUNNING"];
    return startProxy(server, (job) => {
      if (job.name === name && running.includes(job.state ?? "")) job.state = state;
    });
  }

  it.each(["JOB_STATE_PAUSED", "JOB_STATE_UPDATING"])("adopts a job of the same identity and spec that is %s instead of creating a second", async (state) => {
    const { server, client } = await setup();
    const name = await runningJob(server, "live", "paused");
    const proxy = await showingAs(server, name, state);
    try {
      const job = endlessJob(server, "paused");
      const lines: string[] = [];
      const result = await createOrAdopt(testClient(server, fastClock(), proxy.url), withIdentityLabels(job, "live", specHash(job)), fastClock(), (l) => lines.push(l));
      expect(result).toMatchObject({ adopted: true, job: { name, state } });
      expect(lines).toEqual([`adopting ${name} (${state}): the job of this resource and spec, started by an earlier run`]);
      expect(await client.list()).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it.each(["JOB_STATE_PAUSED", "JOB_STATE_UPDATING"])("cancels a job of the same identity and another spec that is %s, as any orphan of an interrupted replacement", async (state) => {
    const { server, client } = await setup();
    const name = await runningJob(server, "live", "old settings");
    const proxy = await showingAs(server, name, state);
    try {
      const job = testJob({ maxTrialCount: 1, displayName: "new settings" });
      const result = await createOrAdopt(testClient(server, fastClock(), proxy.url), withIdentityLabels(job, "live", specHash(job)), fastClock(), () => {});
      expect(result.adopted).toBe(false);
      expect((await client.get(name)).state).toBe("JOB_STATE_CANCELLED");
      expect(await client.list()).toHaveLength(2);
    } finally {
      await proxy.close();
    }
  });
});

describe("deadline, update, read and delete", () => {
  it("keeps a created job in the stack when waiting for it fails otherwise (a token that expired mid-wait): the error carries its id", async () => {
    const { server, provider, client } = await setup([{ method: "GET", path: PATHS.job, status: 401 }]);
    const inputs = testInputs(server, testJob({ maxTrialCount: 1 }), "wait-fails");
    const error = await thrown<InitError>(provider.create(inputs));
    expect(error.id).toMatch(/^projects\/p\/locations\/us-central1\/hyperparameterTuningJobs\/\d+$/);
    expect(error.properties).toMatchObject({ name: error.id, project: "p", identity: "wait-fails" });
    expect(error.message).toContain(`${error.id} was created, but waiting for it failed:`);
    expect(error.message).toContain("Run pulumi up again to keep waiting; the job keeps running");
    expect(error.reasons).toEqual([error.message]);

    // The next pulumi up calls update, which resumes the wait on the same job.
    const { outs } = await provider.update(error.id, error.properties, inputs);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toHaveLength(1);
  });

  it("throws with the id and outputs on the deadline; update resumes and completes without creating", async () => {
    const { server, provider, client } = await setup();
    // Two trials: the best trial is then one of them, not the only one.
    const held = heldJob(server, "deadline", {}, 2);
    const error = await thrown<InitError>(provider.create(held.inputs));
    expect(error.id).toMatch(/^projects\/p\/locations\/us-central1\/hyperparameterTuningJobs\/\d+$/);
    expect(error.properties).toMatchObject({ name: error.id, state: "JOB_STATE_RUNNING", project: "p" });
    expect(error.message).toContain("after waiting 1 min (waitTimeoutMinutes): run pulumi up again to keep waiting; the job keeps running");
    expect(error.reasons).toEqual([error.message]);

    held.release();
    const { outs } = await provider.update(error.id, error.properties, held.patient);
    expect(outs.state).toBe("JOB_STATE_SUCCEEDED");
    expectBestTrial(outs);
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
    expect(await client.list()).toHaveLength(1);
  });

  it("update resumes a local job in the state folder it was created in when localStateDir changed too, and keeps recording that folder", async () => {
    const { server, provider, lines, client } = await setup();
    const held = heldJob(server, "state-dir");
    const first = await thrown<InitError>(provider.create(held.inputs));
    held.release();
    const other = mkdtempSync(join(tmpdir(), "other-state-"));
    try {
      // The state folder holds the server's token here (apiEndpoint); without one, the embedded server it runs.
      const { outs } = await provider.update(first.id, first.properties, { ...held.patient, localStateDir: other });
      expect(outs).toMatchObject({ name: first.id, state: "JOB_STATE_SUCCEEDED", localStateDir: server.stateDir, waitTimeoutMinutes: 30 });
      expect(lines.join("\n")).toContain(`${first.id} stays in the state folder ${server.stateDir}`);
      expect(readdirSync(other)).toEqual([]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
    expect(await client.list()).toHaveLength(1);
  });

  it("update with a job that is gone says so and creates nothing", async () => {
    const { server, provider } = await setup();
    const inputs = testInputs(server, testJob({ maxTrialCount: 1 }));
    const { id, outs } = await provider.create(inputs);
    await provider.delete(id, outs);
    const error = await thrown(provider.update(id, outs, inputs));
    expect(error.message).toContain("no longer exists: run `pulumi refresh`");
    expect(requests(server, "POST", PATHS.collection)).toHaveLength(1);
  });

  it("read refreshes state and trials, returns the inputs, and drops a job that is gone", async () => {
    const { server, provider, client } = await setup();
    const held = heldJob(server, "read", {}, 2);
    const error = await thrown<InitError>(provider.create(held.inputs));
    held.release();
    // Let the job end on its own, then refresh.
    for (let i = 0; i < 100 && (await client.get(error.id)).state !== "JOB_STATE_SUCCEEDED"; i++) await new Promise((r) => setTimeout(r, 50));
    const read = await provider.read(error.id, error.properties);
    expect(read.id).toBe(error.id);
    expect(read.props!.state).toBe("JOB_STATE_SUCCEEDED");
    expectBestTrial(read.props!);
    expect(read.inputs).toMatchObject({ project: "p", location: "us-central1", identity: "read", waitTimeoutMinutes: 1 });
    expect(read.inputs).not.toHaveProperty("state");

    await client.waitForOperation(await client.delete(error.id));
    expect(await provider.read(error.id, error.properties)).toEqual({ id: "" });
  });

  it("read keeps a job in the stack on a 404 that is not Vertex's NOT_FOUND for it (a proxy's page, an id of another shape), and says why", async () => {
    const { server, provider, client } = await setup();
    const { id, outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 1 })));
    // A misconfigured endpoint: something that answers every path with an HTML 404 page.
    const proxy = createServer((_req, res) => res.writeHead(404, { "content-type": "text/html" }).end("<html><body>404 Not Found</body></html>"));
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    try {
      const viaProxy = { ...outs, apiEndpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/` };
      const error = await thrown(provider.read(id, viaProxy));
      expect(error.message).toContain(`get ${id} failed: 404 HTTP_404: <html><body>404 Not Found</body></html>`);
      expect(error.message).toContain(`not Vertex AI's NOT_FOUND for ${id}: the job is kept in the stack`);
    } finally {
      proxy.close();
    }
    // The local backend answers any path it does not serve with NOT_FOUND; an id that is no job's name is refused before.
    const odd = await thrown(provider.read("42", outs));
    expect(odd.message).toContain('"42" is not the full name of a hyperparameter tuning job');
    await expect(provider.delete("42", outs)).rejects.toThrow('"42" is not the full name of a hyperparameter tuning job');
    expect((await client.get(id)).state).toBe("JOB_STATE_SUCCEEDED");
  });

  it("read and delete refuse a local job whose state folder is not there, rather than start an empty backend over it and drop the job", async () => {
    const { server, provider, client } = await setup();
    const { id, outs } = await provider.create(testInputs(server, testJob({ maxTrialCount: 1 })));
    const missing = join(server.stateDir, "moved-away");
    const recorded = { ...outs, apiEndpoint: undefined, localStateDir: missing, localRepoRoot: REPO_ROOT, localBackendModule: join(REPO_ROOT, "local", "embedded.ts") };
    const refusal = `the local backend's state folder ${missing}, where this job was created, is not there (no journal.jsonl)`;
    await expect(provider.read(id, recorded)).rejects.toThrow(refusal);
    await expect(provider.delete(id, recorded)).rejects.toThrow(refusal);
    expect(existsSync(missing)).toBe(false);
    expect((await client.get(id)).state).toBe("JOB_STATE_SUCCEEDED");
  });

  it("delete of a running job cancels it, waits for it to end and deletes it (the local delete operation is done at once)", async () => {
    // A rule that changes nothing: it counts the gets that ask for the job's name and state alone.
    const named: FaultRule = { method: "GET", path: /\/hyperparameterTuningJobs\/\d+\?fields=name(%2C|,)state$/, times: 1_000 };
    const { server, provider, client } = await setup([named]);
    const held = heldJob(server, "delete-running");
    const error = await thrown<InitError>(provider.create(held.inputs));
    const before = requests(server, "GET", PATHS.job).length;
    await provider.delete(error.id, error.properties);
    // Its wait for the cancel's end asks for no trial (a study of thousands is some 20 MB whole).
    expect(1_000 - named.times!).toBeGreaterThan(0);
    expect(requests(server, "GET", PATHS.job).length - before).toBe(1_000 - named.times!);
    expect(requests(server, "POST", PATHS.cancel)).toHaveLength(1);
    expect(requests(server, "DELETE", PATHS.job)).toHaveLength(1);
    expect(await client.list()).toEqual([]);
    // A second delete (the job is gone: 404) is fine.
    await provider.delete(error.id, error.properties);
  });
});
