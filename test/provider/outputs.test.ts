/** What the resource reports about a job, for the states the local backend cannot easily produce. */
import { describe, expect, it } from "vitest";
import { consoleUrl, failureReason } from "../../components/vertex/outputs";
import type { VertexClient } from "../../components/vertex/client";
import { DEFAULT_POLL, progressReporter, waitForJob } from "../../components/vertex/wait";
import { INTERRUPTED_REASON, type VertexJob } from "../../components/spec";
import { testJob } from "./helpers";

const infeasible = (id: string, reason: string) => ({ id, state: "INFEASIBLE", infeasibleReason: reason });
const succeeded = (id: string, value: number) => ({ id, state: "SUCCEEDED", parameters: [{ parameterId: "x", value: 0.1 }], finalMeasurement: { metrics: [{ metricId: "score", value }] } });

describe("failureReason", () => {
  it("says why a SUCCEEDED study has no best trial", () => {
    const job: VertexJob = { ...testJob(), state: "JOB_STATE_SUCCEEDED", trials: [infeasible("1", "the metric score was never reported (reported: loss)")] };
    expect(failureReason(job)).toBe(
      'the study ended without a successful trial reporting the metric "score", so there is no best trial; trial 1: the metric score was never reported (reported: loss)',
    );
    expect(failureReason({ ...job, trials: [succeeded("2", 0.5)] })).toBeUndefined();
  });

  it("reports the job's error and at most three trials' reasons for FAILED", () => {
    const trials = ["1", "2", "3", "4"].map((id) => infeasible(id, `crashed ${id}`));
    const job: VertexJob = { ...testJob(), state: "JOB_STATE_FAILED", error: { code: 9, message: "too many failed trials" }, trials };
    expect(failureReason(job)).toBe("the job failed: too many failed trials; trial 1: crashed 1; trial 2: crashed 2; trial 3: crashed 3");
  });

  it("leaves out a trial a restart of the local backend interrupted: its rerun is the one that counts, and the restart no cause", () => {
    const trials = [infeasible("1", INTERRUPTED_REASON), infeasible("2", "crashed 2"), infeasible("3", "crashed 3"), infeasible("4", "crashed 4")];
    const job: VertexJob = { ...testJob(), state: "JOB_STATE_FAILED", error: { code: 9, message: "3 trials failed (the limit is 3): trial 2: crashed 2" }, trials };
    expect(failureReason(job)).toBe("the job failed: 3 trials failed (the limit is 3): trial 2: crashed 2; trial 3: crashed 3; trial 4: crashed 4");
  });

  it("says a CANCELLED job was cancelled, and why when the API says", () => {
    expect(failureReason({ ...testJob(), state: "JOB_STATE_CANCELLED" })).toBe("the job was cancelled (by a user or another tool)");
    expect(failureReason({ ...testJob(), state: "JOB_STATE_CANCELLED", error: { code: 1, message: "CANCELED" } })).toBe("the job was cancelled: CANCELED");
  });

  it("says it as plain text: a trainer's colour codes, carriage returns and bidirectional controls in a trial's reason never reach pulumi up's terminal", () => {
    const stderr = "the trial process exited with code 1; last lines of stderr:\n 10%|#  |\r 20%|## |\r\n\x1b[31mValueError\x1b[0m: bad\tinput \u202eevil\r\n";
    const job: VertexJob = { ...testJob(), state: "JOB_STATE_FAILED", error: { code: 9, message: "1 trial failed\x1b[2J" }, trials: [infeasible("1", stderr)] };
    expect(failureReason(job)).toBe("the job failed: 1 trial failed; trial 1: the trial process exited with code 1; last lines of stderr:\n 20%|## |\nValueError: bad input evil\n");
  });

  it("has nothing to say while the job runs", () => {
    expect(failureReason({ ...testJob(), state: "JOB_STATE_RUNNING", trials: [infeasible("1", "x")] })).toBeUndefined();
  });
});

describe("consoleUrl", () => {
  it("links the Vertex console on Vertex, nothing on the local backend", () => {
    const name = "projects/p/locations/us-central1/hyperparameterTuningJobs/123";
    expect(consoleUrl({ project: "my-proj", location: "us-central1", job: {} }, name)).toBe(
      "https://console.cloud.google.com/vertex-ai/locations/us-central1/training/123/cpu?project=my-proj",
    );
    expect(consoleUrl({ project: "p", location: "us-central1", job: {}, backend: "local" }, name)).toBe("");
  });
});

describe("progressReporter", () => {
  it("writes one line per change of state, trials finished or best value", () => {
    const lines: string[] = [];
    const report = progressReporter((l) => lines.push(l));
    const base: VertexJob = { ...testJob({ maxTrialCount: 3 }), name: "jobs/1", state: "JOB_STATE_RUNNING" };
    report({ ...base, trials: [] });
    report({ ...base, trials: [] });
    report({ ...base, trials: [succeeded("1", 0.5)] });
    report({ ...base, trials: [succeeded("1", 0.5), { id: "2", state: "ACTIVE" }] });
    report({ ...base, trials: [succeeded("1", 0.5), succeeded("2", 0.7)] });
    expect(lines).toEqual([
      "jobs/1: JOB_STATE_RUNNING, 0/3 trials finished",
      "jobs/1: JOB_STATE_RUNNING, 1/3 trials finished, best score 0.5 (trial 1)",
      "jobs/1: JOB_STATE_RUNNING, 2/3 trials finished, best score 0.7 (trial 2)",
    ]);
  });

  it("writes a metric id's control characters and bidirectional controls escaped, as tune's lines do: pulumi up's terminal gets no escape sequence, and no right-to-left override reverses the rest of the line", () => {
    // Only white space is refused in a metric id: an escape sequence that clears the screen is not.
    for (const [metricId, shown] of [
      ["score\x1b[2J\x9b", "score\\u001b[2J\\u009b"],
      ["score\u202e\u2066", "score\\u202e\\u2066"],
    ]) {
      const lines: string[] = [];
      const job = testJob({ maxTrialCount: 1 });
      job.studySpec!.metrics![0]!.metricId = metricId;
      progressReporter((l) => lines.push(l))({ ...job, name: "jobs/1", state: "JOB_STATE_SUCCEEDED", trials: [{ ...succeeded("1", 0.5), finalMeasurement: { metrics: [{ metricId, value: 0.5 }] } }] });
      expect(lines).toEqual([`jobs/1: JOB_STATE_SUCCEEDED, 1/1 trials finished, best ${shown} 0.5 (trial 1)`]);
    }
  });
});

describe("waitForJob with fields", () => {
  /** A client whose job is `states` in turn, one a get; it records each get's fields. */
  function scripted(states: string[]) {
    const asked: (string | undefined)[] = [];
    const client = {
      get: async (name: string, fields?: string) => {
        asked.push(fields);
        const state = states[Math.min(asked.length - 1, states.length - 1)];
        return fields ? { state } : { name, state, trials: [succeeded("1", 0.5)] };
      },
    } as unknown as VertexClient;
    return { client, asked };
  }
  const clock = { now: () => 0, sleep: async () => {} };

  it("polls with the selector, then reads the whole job once", async () => {
    const { client, asked } = scripted(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED", "JOB_STATE_SUCCEEDED"]);
    const seen: VertexJob[] = [];
    const { job, timedOut } = await waitForJob(client, "n", 1_000, clock, (j) => seen.push(j), DEFAULT_POLL, "state");
    expect(asked).toEqual(["state", "state", undefined]);
    expect(seen.map((j) => j.state)).toEqual(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]);
    expect({ job, timedOut }).toEqual({ job: { name: "n", state: "JOB_STATE_SUCCEEDED", trials: [succeeded("1", 0.5)] }, timedOut: false });
  });

  it("on the deadline returns the whole job, and no time-out when it ended since the last poll", async () => {
    const late = { now: () => 2_000, sleep: async () => {} };
    const running = scripted(["JOB_STATE_RUNNING"]);
    expect(await waitForJob(running.client, "n", 1_000, late, () => {}, DEFAULT_POLL, "state")).toMatchObject({ job: { name: "n", state: "JOB_STATE_RUNNING" }, timedOut: true });
    const ended = scripted(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]);
    expect(await waitForJob(ended.client, "n", 1_000, late, () => {}, DEFAULT_POLL, "state")).toMatchObject({ job: { name: "n", state: "JOB_STATE_SUCCEEDED" }, timedOut: false });
    expect(ended.asked).toEqual(["state", undefined]);
  });

  it("without a selector reads each poll whole and nothing more", async () => {
    const { client, asked } = scripted(["JOB_STATE_RUNNING", "JOB_STATE_SUCCEEDED"]);
    expect((await waitForJob(client, "n", 1_000, clock)).job.name).toBe("n");
    expect(asked).toEqual([undefined, undefined]);
  });
});
