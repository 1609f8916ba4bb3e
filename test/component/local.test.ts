/** On the local backend the study is the job alone: no Google Cloud resource at all. */
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy, type HyperparameterTuningStudyArgs } from "../../components";
import { JOB_TYPE, installMocks, promiseOf, type Recorded } from "./mocks";
import { constructionMessage, ROOT, stackStudy, write } from "./fixtures";

let recorded: Recorded[];

/**
 * Runs `make` with the engine's project root (`pulumi.runtime.getRootDirectory()`) set to `root`,
 * as `pulumi` sets it to Pulumi.yaml's folder while the program runs in `main`; the mocks leave a
 * placeholder, for which the component takes the working directory.
 */
function withProjectRoot<T>(root: string, make: () => T): T {
  const { options } = (require("@pulumi/pulumi/runtime/state") as { getStore(): { settings: { options: { rootDirectory?: string } } } }).getStore().settings;
  const before = options.rootDirectory;
  options.rootDirectory = root;
  try {
    return make();
  } finally {
    options.rootDirectory = before;
  }
}

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
    expect(pool.containerSpec).toEqual({ imageUri: expect.stringMatching(/^local\/trainer:[0-9a-f]{16}$/), command: [".venv/bin/python", "-m", "trainer.task"], args: ["--dataset=digits", "--epochs=5"], env: [] });
    expect(job.job.trialJobSpec.serviceAccount).toBeUndefined();
    expect(job.job.studySpec.medianAutomatedStoppingSpec).toEqual({ useElapsedDuration: false });

    expect(await promiseOf(study.bucketName)).toBeUndefined();
    expect(await promiseOf(study.serviceAccountEmail)).toBeUndefined();
    expect(await promiseOf(study.imageUri)).toBeUndefined();
    expect(await promiseOf(study.consoleUrl)).toBe("");
    expect(await promiseOf(study.bestParameters)).toMatchObject({ "num-units": 256 });
  });

  it("names the job after idName, as the component it was renamed from did, and labels it as that one's", async () => {
    // No displayName: the job's defaults to the name.
    const { study: { displayName: _seedName, ...study }, trainer } = stackStudy("local");
    // Two program runs, before and after the rename: in one, the second would claim the first's job.
    const inputsOf = async (name: string, args: Partial<HyperparameterTuningStudyArgs> = {}) => {
      await pulumi.runtime.runInPulumiStack(async () => {
        await promiseOf(new HyperparameterTuningStudy(name, { backend: "local", study, trainer, ...args }).jobName);
      });
      return recorded.find((r) => r.type === JOB_TYPE && r.name === `${name}-job`)!.inputs;
    };
    const before = await inputsOf("lold");
    expect(before.job.displayName).toBe("lold");
    const after = await inputsOf("lnew", { idName: "lold" });
    expect(after.job).toEqual(before.job);
    // The identity label the job an interrupted up of "lold" left running carries: an up of
    // "lnew" adopts it (or cancels it, for another spec), where it left it running and made a second.
    expect(after.identity).toBe(before.identity);
    expect(after.specHash).toBe(before.specHash);
  });

  it("refuses a study whose idName is another local study's name or idName in the stack: their jobs would carry one identity label", () => {
    const { study, trainer } = stackStudy("local");
    const args = { backend: "local" as const, study, trainer };
    new HyperparameterTuningStudy("lkept", args);
    expect(constructionMessage(() => new HyperparameterTuningStudy("lrenamed", { ...args, idName: "lkept" }))).toMatch(
      /^HyperparameterTuningStudy lrenamed is invalid:\n\s+idName: the study "lkept" in this stack names its local job after the same "lkept": each would take the other's job for its own \(adopting or cancelling it\); give one of the two another idName$/,
    );
    new HyperparameterTuningStudy("lmoved", { ...args, idName: "lorigin" });
    expect(constructionMessage(() => new HyperparameterTuningStudy("lorigin", args))).toMatch(/^\s+name: the study "lmoved" \(idName "lorigin"\) in this stack names its local job after the same "lorigin":/m);
    // A name of its own, and the same name under another parent (their jobs' URNs differ), are free.
    expect(constructionMessage(() => new HyperparameterTuningStudy("ltwin", { ...args, idName: "lmoved" }))).toBe("created");
    const parent = new pulumi.ComponentResource("test:index:Team", "team");
    expect(constructionMessage(() => new HyperparameterTuningStudy("lkept", args, { parent }))).toBe("created");
  });

  it("refuses at construction a source folder that python -m <last segment>.task from the repository root would not run", () => {
    // A repository with its own trainer/ beside the user's ml/trainer, which a nested source ran in its place.
    const repo = mkdtempSync(join(tmpdir(), "vt-repo-"));
    write(repo, "trainer/task.py", "");
    write(repo, "ml/trainer/task.py", "");
    write(repo, "other/main.py", "");
    const { study } = stackStudy("local");
    const message = (name: string, source: string, studyArgs = study) =>
      constructionMessage(() => new HyperparameterTuningStudy(name, { backend: "local", study: studyArgs, trainer: { source }, localRepoRoot: repo }));
    expect(message("nested", join(repo, "ml/trainer"))).toMatch(
      new RegExp(`^ {2}trainer\\.source: ${join(repo, "ml/trainer")} is not a folder at the repository's top level: the local backend runs a source trainer as \`.venv/bin/python -m trainer.task\` from the repository root ${repo}, which would run ${join(repo, "trainer")}; move the package`, "m"),
    );
    expect(message("missing", join(repo, "mytr"))).toMatch(/^ {2}trainer\.source: \S+\/mytr does not exist: .*the package's entry module must be mytr\/task\.py/m);
    expect(message("no-task", join(repo, "other"))).toMatch(/^ {2}trainer\.source: \S+\/other has no task\.py: /m);
    // Reported with the study's own problems, all at once.
    const both = message("both", join(repo, "mytr"), { ...study, maxTrials: 0 });
    expect(both).toMatch(/^ {2}trainer\.source: /m);
    expect(both).toMatch(/^ {2}study\.maxTrials: /m);
    expect(message("top", join(repo, "trainer"))).toBe("created");
  });

  it("records the trainer folder's content in the job, so a changed trainer replaces the job and the study runs again, as on Vertex AI", async () => {
    // The job named `local/trainer` whatever the folder held: after an edit of task.py, `pulumi up -s local` saw no change and kept the old trainer's best trial.
    const repo = mkdtempSync(join(tmpdir(), "vt-repo-"));
    write(repo, "trainer/task.py", "print('v1')\n");
    write(repo, "trainer/__pycache__/task.cpython-311.pyc", "cache");
    const { study } = stackStudy("local");
    const jobOf = async (name: string) => {
      await promiseOf(new HyperparameterTuningStudy(name, { backend: "local", study, trainer: { source: join(repo, "trainer") }, localRepoRoot: repo }).jobName);
      return recorded.find((r) => r.type === JOB_TYPE && r.name === `${name}-job`)!.inputs.job;
    };
    const first = await jobOf("lcontent1");
    expect(first.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toMatch(/^local\/\S*trainer:[0-9a-f]{16}$/);
    write(repo, "trainer/__pycache__/task.cpython-311.pyc", "another cache");
    expect(await jobOf("lcontent2")).toEqual(first);
    write(repo, "trainer/task.py", "print('v2')\n");
    const edited = await jobOf("lcontent3");
    expect(edited.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).not.toBe(first.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri);
    expect({ ...edited, trialJobSpec: undefined }).toEqual({ ...first, trialJobSpec: undefined });
  });

  it("gives the same job to a source spelled as a path from the project root, with ./ or absolute: a checkout elsewhere keeps its job", async () => {
    // The job recorded the source as written: path.join(__dirname, ...) put the checkout's path in it, so a moved clone or a CI runner replaced the job.
    const { study } = stackStudy("local");
    const jobOf = async (name: string, source: string) => {
      await promiseOf(new HyperparameterTuningStudy(name, { backend: "local", study, trainer: { source } }).jobName);
      return recorded.find((r) => r.type === JOB_TYPE && r.name === `${name}-job`)!.inputs.job;
    };
    const plain = await jobOf("lsrc1", "trainer");
    expect(plain.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toMatch(/^local\/trainer:[0-9a-f]{16}$/);
    expect(await jobOf("lsrc2", "./trainer")).toEqual(plain);
    expect(await jobOf("lsrc3", join(ROOT, "trainer"))).toEqual(plain);
  });

  it("takes a relative localStateDir and localRepoRoot from the Pulumi project root, as trainer.source, not from the program's folder", async () => {
    // The provider runs in the program's folder (Pulumi.yaml's main, stacks/study/): `.tune/state`,
    // the documented default written out, named stacks/study/.tune/state, beside no tune run's jobs.
    const { study, trainer } = stackStudy("local");
    const made = new HyperparameterTuningStudy("lrelative", { backend: "local", study, trainer, localStateDir: ".tune/state", localRepoRoot: "." });
    await promiseOf(made.jobName);
    const inputs = recorded.find((r) => r.type === JOB_TYPE && r.name === "lrelative-job")!.inputs;
    expect({ localStateDir: inputs.localStateDir, localRepoRoot: inputs.localRepoRoot }).toEqual({ localStateDir: join(ROOT, ".tune/state"), localRepoRoot: ROOT });
    // The mocks' project root is the working directory: the same folder again under the engine's
    // own project root, elsewhere than the working directory (the program's folder stands in).
    const project = mkdtempSync(join(tmpdir(), "vt-project-"));
    write(project, "trainer/task.py", "print('v1')\n");
    const made2 = withProjectRoot(project, () => new HyperparameterTuningStudy("lrelative2", { backend: "local", study, trainer: { source: join(project, "trainer") }, localStateDir: ".tune/state", localRepoRoot: "." }));
    await promiseOf(made2.jobName);
    const inputs2 = recorded.find((r) => r.type === JOB_TYPE && r.name === "lrelative2-job")!.inputs;
    expect({ localStateDir: inputs2.localStateDir, localRepoRoot: inputs2.localRepoRoot }).toEqual({ localStateDir: join(project, ".tune/state"), localRepoRoot: project });
    // The job's image names the source folder from the project root too, not from the working directory.
    expect(inputs2.job.trialJobSpec.workerPoolSpecs[0].containerSpec.imageUri).toMatch(/^local\/trainer:[0-9a-f]{16}$/);
  });

  it("names a trainer folder it cannot read for its content tag at trainer.source, with the study's other problems, as the vertex backend does", async () => {
    // The tag's read of a file it cannot read (here a socket, refused as one; a file another user's
    // container left, EACCES) escaped the component as a bare error, where the local backend never read the folder before.
    const repo = mkdtempSync(join(tmpdir(), "vt-repo-"));
    write(repo, "trainer/task.py", "print('v1')\n");
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(repo, "trainer", "dev.sock"), resolve));
    try {
      const { study } = stackStudy("local");
      const text = constructionMessage(() => new HyperparameterTuningStudy("lunreadable", { backend: "local", study: { ...study, maxTrials: 0 }, trainer: { source: join(repo, "trainer") }, localRepoRoot: repo }));
      expect(text).toMatch(/^HyperparameterTuningStudy lunreadable is invalid:$/m);
      expect(text).toMatch(/^ {2}study\.maxTrials: /m);
      expect(text).toMatch(/^ {2}trainer\.source: .*dev\.sock/m);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("refuses at construction what the local backend would refuse at create, at the argument path and with the study's other problems", () => {
    const { study, trainer } = stackStudy("local");
    const message = (name: string, args: HyperparameterTuningStudyArgs) => constructionMessage(() => new HyperparameterTuningStudy(name, args));
    // The provider's check (a second preview, at job.studySpec...) or the local server (400) named these only after the rest was fixed.
    const convex = message("lconvex", { backend: "local", study: { ...study, maxTrials: 0, earlyStopping: { convex: { maxStepCount: 10 } } }, trainer });
    expect(convex).toMatch(/^ {2}study\.maxTrials: /m);
    expect(convex).toMatch(/^ {2}study\.earlyStopping\.convex: the convex early-stopping rule is not built in the local backend: use median or decayCurve, or run on Vertex AI$/m);
    expect(message("limage", { backend: "local", study, trainer: { imageUri: "gcr.io/p/trainer:1" } })).toMatch(/^ {2}trainer\.command: a local trial needs a command: /m);
    expect(message("lcommand", { backend: "local", study, trainer: { imageUri: "gcr.io/p/trainer:1", command: ["python", "-m", "trainer.task"] } })).toBe("created");
  });
});
