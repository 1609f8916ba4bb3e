/**
 * The provider as `pulumi up` runs it: serialized into a string, loaded by Pulumi's own
 * dynamic-provider host in another process, and called over gRPC, against the real local
 * backend. Proves the provider survives serialization outside the test process (googleapis and
 * node modules required inside the methods, our pure helpers carried by value).
 */
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { tuningJobProvider, vertexApiModulePath } from "../../components/tuningJob";
import { loadAiplatform } from "../../components/vertex/client";
import { specHash, UNKNOWN } from "../../components/spec";
import type { TuningJobOutputs } from "../../components/tuningJobTypes";
import { startDynamicProviderHost, type DynamicProviderHost } from "./dynamicProviderHost";
import { embeddedInputs, expectBestTrial, REPO_ROOT, startLocalBackend, testInputs, testJob, type LocalBackend } from "./helpers";

let backend: LocalBackend | undefined;
let host: DynamicProviderHost | undefined;
afterEach(async () => {
  await host?.stop();
  await backend?.stop();
  host = backend = undefined;
});

describe("the provider in Pulumi's dynamic-provider host", () => {
  it("validates inputs in check, every failure at its path, tolerating unknowns", async () => {
    host = await startDynamicProviderHost(tuningJobProvider, REPO_ROOT);
    const job = testJob();
    const inputs = { project: "p", location: "us-central1", job, backend: "local" };
    const bad = structuredClone(inputs);
    bad.job.studySpec!.parameters![0].doubleValueSpec!.minValue = 2;
    bad.job.maxTrialCount = 0;
    const checked = await host.check({}, bad);
    expect(checked.failures.map((f) => f.property)).toEqual(
      expect.arrayContaining(["job.studySpec.parameters[0].doubleValueSpec.minValue", "job.maxTrialCount"]),
    );
    const preview = await host.check({}, { ...inputs, project: UNKNOWN, job: { ...job, displayName: UNKNOWN } });
    expect(preview.failures).toEqual([]);
  });

  it("runs from a program folder without the library's dependencies (a pnpm workspace or file: link), loading googleapis by the path the class gives", async () => {
    backend = await startLocalBackend();
    // The repository's provider is outside any node_modules, so it is serialized by value, as a
    // linked library's is; the host then resolves bare module names from this empty folder.
    const program = mkdtempSync(join(tmpdir(), "linked-program-"));
    try {
      host = await startDynamicProviderHost(tuningJobProvider, program);
      const inputs = testInputs(backend.server, testJob({ maxTrialCount: 1 }), "linked", { vertexApiModule: vertexApiModulePath() });
      const created = await host.create("job", inputs);
      expect(created.properties.state).toBe("JOB_STATE_SUCCEEDED");
      await host.delete("job", created.id, created.properties);
    } finally {
      rmSync(program, { recursive: true, force: true });
    }
  });

  it("loads googleapis by its package name when a recorded module path is gone (a destroy from another machine)", () => {
    expect(loadAiplatform("/nonexistent/googleapis/build/src/apis/aiplatform")).toBe(loadAiplatform());
  });

  it("creates, reads and deletes a job over gRPC", async () => {
    backend = await startLocalBackend();
    host = await startDynamicProviderHost(tuningJobProvider, REPO_ROOT);
    // The resource's own way to the local backend: the host process loads local/embedded.ts.
    const inputs = embeddedInputs(backend.server, testJob({ maxTrialCount: 2 }), "host-test");

    const created = await host.create("job", inputs);
    expect(created.id).toMatch(/^projects\/p\/locations\/us-central1\/hyperparameterTuningJobs\/\d+$/);
    expect(created.properties.state).toBe("JOB_STATE_SUCCEEDED");
    expectBestTrial(created.properties as unknown as TuningJobOutputs);
    // The provider's stdout: what `pulumi up` shows as diagnostics.
    expect(host.output()).toContain("2/2 trials finished");

    const read = await host.read("job", created.id, created.properties);
    expect(read.id).toBe(created.id);
    expect(read.properties.trialCounts).toEqual(created.properties.trialCounts);

    await host.delete("job", created.id, created.properties);
    const gone = await host.read("job", created.id, created.properties);
    expect(gone.id).toBe("");
  });

  it("refreshes and destroys a local job after its repository moved (the state's absolute paths are gone), and never makes a state folder at a stale path", async () => {
    const tmp = mkdtempSync(join(tmpdir(), "moved-repo-"));
    try {
      // A repository with the library in it (its local/ and node_modules/ linked), run from its own folder, as `pulumi up -s local` is.
      const oldRoot = join(tmp, "before", "repo");
      mkdirSync(oldRoot, { recursive: true });
      for (const linked of ["local", "node_modules"]) symlinkSync(join(REPO_ROOT, linked), join(oldRoot, linked));
      const job = testJob({ maxTrialCount: 1 });
      const inputs = {
        project: "p", location: "us-central1", job, backend: "local", identity: "moved", specHash: specHash(job),
        localRepoRoot: oldRoot, localBackendModule: join(oldRoot, "local", "embedded.ts"),
      };
      host = await startDynamicProviderHost(tuningJobProvider, oldRoot);
      const created = await host.create("job", inputs);
      expect(created.properties.state).toBe("JOB_STATE_SUCCEEDED");
      await host.stop();

      renameSync(join(tmp, "before"), join(tmp, "after"));
      const newRoot = join(tmp, "after", "repo");
      host = await startDynamicProviderHost(tuningJobProvider, newRoot);
      const read = await host.read("job", created.id, created.properties);
      expect(read.id).toBe(created.id);
      expect(read.properties).toMatchObject({ state: "JOB_STATE_SUCCEEDED", localRepoRoot: newRoot, localBackendModule: join(newRoot, "local", "embedded.ts") });
      // The destroy of a stack not refreshed since the move: the recorded paths are the old ones.
      await host.delete("job", created.id, created.properties);
      expect((await host.read("job", created.id, created.properties)).id).toBe("");
      expect(existsSync(oldRoot)).toBe(false);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  // A create that hits its deadline throws { id, properties, ... }; the host packs it as
  // ErrorResourceInitFailed in the `grpc-status-details-bin` trailer. With `__provider` (~80 kB)
  // among the properties that trailer exceeds 64 KiB: the engine's Go client accepts it (its
  // limit is 16 MiB), but Node's HTTP/2 decoder (nghttp2) refuses any header value over 64 KiB
  // with COMPRESSION_ERROR, so a Node client like this test's cannot receive it. The deadline
  // itself is tested on the provider object (provider.test.ts); here the host resumes the wait.
  it("update resumes the wait on a job left running by a deadline, over gRPC", async () => {
    backend = await startLocalBackend();
    const release = `${backend.server.stateDir}/release`;
    const inputs = testInputs(backend.server, testJob({ maxTrialCount: 1, env: { TRAINER_WAIT_FOR_FILE: release } }), "host-deadline", { waitTimeoutMinutes: 0.05 });
    const failure = (await tuningJobProvider.create(inputs).then(
      () => undefined,
      (e: unknown) => e,
    )) as { id: string; properties: Record<string, unknown> };
    expect(failure.properties.state).toBe("JOB_STATE_RUNNING");

    host = await startDynamicProviderHost(tuningJobProvider, REPO_ROOT);
    writeFileSync(release, "");
    const outputs = await host.update("job", failure.id, failure.properties, { ...inputs, waitTimeoutMinutes: 5 });
    expect(outputs.state).toBe("JOB_STATE_SUCCEEDED");
    expect(outputs.name).toBe(failure.id);
    const creates = backend.server.requestLog.filter((r) => r.method === "POST" && r.path.endsWith("/hyperparameterTuningJobs"));
    expect(creates).toHaveLength(1);
  });
});
