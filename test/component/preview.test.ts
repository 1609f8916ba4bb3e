/**
 * At preview (mocks with `preview = true`) the children's outputs are unknown: the study still
 * validates at construction, and a good study registers every child without waiting on them.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy, type StudyDefinition } from "../../components";
import { JOB_TYPE, PROJECT, STACK, type Recorded } from "./mocks";
import { constructionMessage, makeTrainer, ROOT, stackStudy } from "./fixtures";

/** Runs a program of this folder as its own process (`args` its arguments): a failure in an Output's callback is the program's, as the Pulumi runtime reports it. */
function runProgram(file: string, ...args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(__dirname, file), ...args], { cwd: ROOT, encoding: "utf8", timeout: 120_000 });
}

const recorded: Recorded[] = [];
beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        recorded.push({ type: args.type, name: args.name, inputs: args.inputs, custom: args.custom });
        // A preview knows no computed output: the state is the inputs alone.
        return { id: undefined, state: args.inputs };
      },
      call: () => ({}),
    },
    PROJECT,
    STACK,
    true,
  );
});

describe("HyperparameterTuningStudy at preview", () => {
  it("fails a bad study with its problems before anything is known", () => {
    const study = { ...stackStudy("dev").study, maxTrials: 2, parallelTrials: 3 } as StudyDefinition;
    expect(() => new HyperparameterTuningStudy("pbad", { study, project: "my-project", region: "us-central1", trainer: { source: makeTrainer() } })).toThrow(
      /study\.parallelTrials: must not exceed maxTrials/,
    );
  });

  it("fails a bad idName at its argument, with the study's other problems", () => {
    const study = { ...stackStudy("dev").study, maxTrials: 2, parallelTrials: 3 } as StudyDefinition;
    const args = { study, project: "my-project", region: "us-central1", trainer: { source: makeTrainer() }, enableApis: "no" as never };
    const messageOf = (idName: unknown) => constructionMessage(() => new HyperparameterTuningStudy("pidname", { ...args, idName: idName as never }));
    // An Output is refused too: the ids are decided before its value exists.
    for (const [idName, got] of [["", '""'], [" ", '" "'], [5, "5"], [pulumi.output("old"), "an Output or Promise"]] as const) {
      const message = messageOf(idName);
      expect(message.split("\n")[0]).toBe("HyperparameterTuningStudy pidname is invalid:");
      expect(message).toContain(`\n  idName: must be a non-blank string, such as the component's name before a rename (got ${got})`);
      expect(message).toMatch(/^\s+study\.parallelTrials: must not exceed maxTrials/m);
      expect(message).toMatch(/^\s+enableApis: must be true or false/m);
    }
  });

  it("fails the preview of a study given as an Output once it is known, not at up after the children", () => {
    const preview = runProgram("outputStudyPreview.ts");
    expect(preview.status).not.toBe(0);
    expect(preview.stderr).toMatch(/HyperparameterTuningStudy pout is invalid:\n\s+study\.parallelTrials: must not exceed maxTrials \(3 > 2\)/);
  });

  it("fails the preview of a study under a gcp.Provider without a region, naming it, and at up creates no child", () => {
    const preview = runProgram("providerPlacement.ts", "preview");
    expect(preview.status).not.toBe(0);
    expect(preview.stderr).toMatch(/HyperparameterTuningStudy noregion is invalid:\n\s+region: set the region argument or the provider's region/);
    const up = runProgram("providerPlacement.ts", "up");
    expect(up.status).not.toBe(0);
    expect(up.stdout.split("\n").filter((line) => line.includes(" noregion-"))).toEqual(["pulumi:providers:gcp noregion-gcp"]);
  });

  it("registers every child of a good study, the job included", async () => {
    const study = new HyperparameterTuningStudy("pgood", { study: stackStudy("dev").study, project: "my-project", region: "us-central1", trainer: { source: makeTrainer() } });
    // URNs are known at preview: the job's resolves once it is registered, after all it depends on.
    await new Promise((resolve) => study.job.urn.apply(resolve));
    const mine = recorded.filter((r) => r.name.startsWith("pgood-"));
    expect(mine.map((r) => r.type)).toEqual(expect.arrayContaining(["gcp:storage/bucket:Bucket", "command:local:Command", JOB_TYPE]));
    // 6 APIs, bucket, 2 accounts, 4 trial grants, 4 build grants, repository, build, job.
    expect(mine.length).toBe(20);
  });
});
