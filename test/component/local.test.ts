/** On the local backend the study is the job alone: no Google Cloud resource at all. */
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy } from "../../components";
import { JOB_TYPE, installMocks, promiseOf, type Recorded } from "./mocks";
import { ROOT, stackStudy } from "./fixtures";

let recorded: Recorded[];
beforeAll(async () => {
  recorded = await installMocks();
});

describe("HyperparameterTuningStudy on the local backend", () => {
  it("creates only the job, which runs the trainer's task from the project root", async () => {
    const local = stackStudy("local");
    const study = new HyperparameterTuningStudy("l1", { backend: "local", study: local.study, trainer: local.trainer, localStateDir: "/tmp/vt-state" });
    await promiseOf(study.jobName);
    const custom = recorded.filter((r) => r.custom);
    expect(custom.map((r) => r.type)).toEqual([JOB_TYPE]);
    expect(recorded.some((r) => r.type.startsWith("gcp:") || r.type.startsWith("command:"))).toBe(false);

    const job = custom[0].inputs;
    expect(job).toMatchObject({ backend: "local", project: "local", location: "local", localStateDir: "/tmp/vt-state", localRepoRoot: ROOT });
    const pool = job.job.trialJobSpec.workerPoolSpecs[0];
    expect(pool.containerSpec).toEqual({ imageUri: "local/trainer", command: [".venv/bin/python", "-m", "trainer.task"], args: ["--dataset=digits", "--epochs=5"], env: [] });
    expect(job.job.trialJobSpec.serviceAccount).toBeUndefined();
    expect(job.job.studySpec.medianAutomatedStoppingSpec).toEqual({ useElapsedDuration: false });

    expect(await promiseOf(study.bucketName)).toBeUndefined();
    expect(await promiseOf(study.serviceAccountEmail)).toBeUndefined();
    expect(await promiseOf(study.imageUri)).toBeUndefined();
    expect(await promiseOf(study.consoleUrl)).toBe("");
    expect(await promiseOf(study.bestParameters)).toMatchObject({ "num-units": 256 });
  });
});
