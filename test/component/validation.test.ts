/**
 * A bad study fails at construction (so at `pulumi preview`) with ONE error that lists every
 * problem at the argument path the user wrote, before any child exists.
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp/provider";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy, type StudyDefinition } from "../../components";
import { installMocks, promiseOf, type Recorded } from "./mocks";

let recorded: Recorded[];
beforeAll(async () => {
  recorded = await installMocks();
});

/** Every mistake the issue lists, in one study. */
const bad = {
  metric: { id: "accuracy", goal: "MAXIMIZE" },
  algorithm: "GRID",
  parameters: [
    { id: "learning-rate", type: "DOUBLE", min: 0.1, max: 0.01 },
    { id: "weight-decay", type: "DOUBLE", min: 0, max: 0.1, scale: "LOG" },
    { id: "learning-rate", type: "INTEGER", min: 1, max: 3 },
    { id: "optimizer", type: "CATEGORICAL", values: [] },
  ],
  maxTrials: 4,
  parallelTrials: 5,
  earlyStopping: { median: {}, decayCurve: {} },
  trial: { acceleratorType: "NVIDIA_TESLA_T4" },
} as unknown as StudyDefinition;

/** Lets registrations already started reach the mocks (they are asynchronous). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected an error");
}

describe("HyperparameterTuningStudy validation", () => {
  it("names a JavaScript caller's malformed definitions at their paths, where they were TypeErrors", async () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ["parameters-object", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: {}, maxTrials: 2 } }, "study.parameters: must be a list (got an object)"],
      ["parameter-null", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [null], maxTrials: 2 } }, "study.parameters[0]: must be an object (got null)"],
      ["orphan-child", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "c", type: "CATEGORICAL", values: ["a"], children: [{ parentValues: ["a"] }] }], maxTrials: 2 } }, "study.parameters[0].children[0].parameter: parameter is required"],
      ["name-number", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2, displayName: 5 } }, "study.displayName: must be a string (got 5)"],
      ["package-null", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 }, trainer: { pythonPackage: null } }, "trainer.pythonPackage: has no value"],
      ["source-number", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 }, trainer: { source: 5 } }, "trainer.source: must be a string (got 5)"],
      ["no-study", {}, "study: the study is required"],
      ["empty-image", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 }, trainer: { imageUri: "" } }, "trainer.imageUri: must not be empty"],
    ];
    for (const [name, args, line] of cases) {
      const error = errorOf(() => new HyperparameterTuningStudy(name, { project: "my-project", region: "us-central1", ...args } as never));
      expect(error.message, name).toContain(`HyperparameterTuningStudy ${name} is invalid:\n  ${line}`);
    }
    // An Output where a value goes is not known yet, not a wrong type.
    expect(() => new HyperparameterTuningStudy("output-image", { study: { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 } as StudyDefinition, trainer: { imageUri: pulumi.output("gcr.io/p/i") }, project: "my-project", region: "us-central1" })).not.toThrow();
    await settle();
    expect(recorded.filter((r) => cases.some(([name]) => r.name.startsWith(`${name}-`)))).toEqual([]);
  });

  it("names the study's meaning problems with its shape problems, all at once, as the config reader does", () => {
    // A study read with config.requireObject (or from another stack) with a misspelt key: its other problems came one run later.
    const study = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 1, max: 0 }], maxTrials: 2, parallelTrials: 3, maxFailedTrial: 1 } as unknown as StudyDefinition;
    const error = errorOf(() => new HyperparameterTuningStudy("shape-meaning", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "gcr.io/p/i" }, wait: "no" as never }));
    expect(error.message.split("\n").slice(1).map((l) => l.trim())).toEqual([
      "study.maxFailedTrial: unknown key: did you mean study.maxFailedTrials?",
      "study.parallelTrials: must not exceed maxTrials (3 > 2)",
      "study.parameters[0].min: must be less than max (1 >= 0)",
      'wait: must be true or false (got "no")',
    ]);
  });

  it("names the arguments around a malformed study with it: the trainer folder, the build account, the bucket, the region", () => {
    // A misspelt study key hid these until the next run, which the same study without it reports at once.
    const study = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: "2", displayName: "source" } as unknown as StudyDefinition;
    const error = errorOf(() => new HyperparameterTuningStudy("shape-infra", {
      study, project: "my-project", region: "us-central-1", trainer: { source: "/nonexistent/trainer" },
      buildServiceAccountEmail: "builder", bucket: { stagingObjectAgeDays: 0 }, waitTimeoutMinutes: 0,
    }));
    expect(error.message.split("\n").slice(1).map((l) => l.trim().split(":")[0]).sort()).toEqual([
      "bucket.stagingObjectAgeDays", "buildServiceAccountEmail", "region", "study.displayName", "study.maxTrials", "trainer.source", "waitTimeoutMinutes",
    ]);
  });

  it("does not judge the display name of a study not known yet beside a malformed trainer: the component's name is not its display name", () => {
    // An Output study was taken as one without a displayName, so a component named `source`
    // was told to choose another displayName, although the study gives its own.
    const study = pulumi.output({ metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2, displayName: "churn" } as StudyDefinition);
    const error = errorOf(() => new HyperparameterTuningStudy("source", { study, project: "my-project", region: "us-central1", trainer: { source: 5 as unknown as string } }));
    expect(error.message.split("\n").slice(1).map((l) => l.trim().split(":")[0])).toEqual(["trainer.source"]);
  });

  it("refuses a parameter field its type does not take, a child's too, with the study's other problems, where it was dropped without a word", async () => {
    const study = {
      metric: { id: "a", goal: "MAXIMIZE" },
      parameters: [
        { id: "opt", type: "CATEGORICAL", values: ["adam", "sgd"], scale: "LOG", children: [{ parentValues: ["sgd"], parameter: { id: "n", type: "DISCRETE", values: [1, 2], min: 1 } }] },
        { id: "x", type: "DOUBLE", min: 1, max: 0 },
      ],
      maxTrials: 2,
    } as unknown as StudyDefinition;
    const error = errorOf(() => new HyperparameterTuningStudy("foreign-field", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "gcr.io/p/i" } }));
    expect(error.message.split("\n").slice(1).map((l) => l.trim())).toEqual([
      "study.parameters[0].scale: scale does not apply to a CATEGORICAL parameter (only DOUBLE, INTEGER and DISCRETE take it): remove it, or change the type",
      "study.parameters[0].children[0].parameter.min: min does not apply to a DISCRETE parameter (only DOUBLE and INTEGER take it): remove it, or change the type",
      "study.parameters[1].min: must be less than max (1 >= 0)",
    ]);
    await settle();
    expect(recorded.filter((r) => r.name.startsWith("foreign-field-"))).toEqual([]);
  });

  it("refuses flags of the wrong type, read by their truthiness before (forceDestroy \"false\" let the bucket go), and a misspelt backend", async () => {
    const good = { metric: { id: "accuracy", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 } as StudyDefinition;
    const error = errorOf(() => new HyperparameterTuningStudy("flags", {
      study: good, project: "my-project", region: "us-central1", trainer: { imageUri: "gcr.io/p/i" },
      bucket: { forceDestroy: "false" as never }, enableApis: "false" as never, wait: 0 as never, waitTimeoutMinutes: "60" as never,
    }));
    expect(error.message.split("\n").slice(1).map((l) => l.trim())).toEqual([
      'bucket.forceDestroy: must be true or false (got "false")',
      'enableApis: must be true or false (got "false")',
      "wait: must be true or false (got 0)",
      'waitTimeoutMinutes: must be a positive number of minutes (got "60")',
    ]);
    expect(errorOf(() => new HyperparameterTuningStudy("cased", { study: good, backend: "Local" as never })).message).toContain('backend: must be "vertex" or "local" (got "Local")');
    await settle();
    expect(recorded.filter((r) => r.name.startsWith("flags-") || r.name.startsWith("cased-"))).toEqual([]);
  });

  it("throws one error naming every problem with its argument path, and creates no child", async () => {
    const error = errorOf(() => new HyperparameterTuningStudy("bad", { study: bad, project: "my-project", region: "us-central1" }));
    const lines = error.message.split("\n").slice(1).map((l) => l.trim());
    const at = (path: string, rule: RegExp) => expect(lines.some((l) => l.startsWith(`${path}:`) && rule.test(l)), `${path} ${rule}\n${error.message}`).toBe(true);
    expect(error.message.split("\n")[0]).toBe("HyperparameterTuningStudy bad is invalid:");
    at("study.parameters[0].min", /less than/); // min above max
    at("study.parameters[1].min", /> 0 for LOG \(got 0\)$/); // LOG scale with a non-positive bound
    at("study.parameters[2].id", /duplicate/); // duplicate ids
    at("study.parameters[3].values", /at least one value/); // empty values
    at("study.parameters[0].type", /: GRID cannot search a DOUBLE/); // GRID with a DOUBLE
    at("study.parallelTrials", /must not exceed/); // parallel above max
    at("study.earlyStopping", /at most one early-stopping spec may be set \(found median, decayCurve\)$/); // two early-stopping rules
    at("study.trial.acceleratorCount", /set together/); // accelerator type without count
    await settle();
    expect(recorded.some((r) => r.name === "bad")).toBe(true); // the component itself did register by now
    expect(recorded.filter((r) => r.name.startsWith("bad-"))).toEqual([]);
  });

  it("names a missing project and region on Vertex AI", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const error = errorOf(() => new HyperparameterTuningStudy("noproject", { study, project: "", region: "", trainer: { imageUri: "i" } }));
    expect(error.message).toMatch(/^\s+project: set the gcp:project config/m);
    expect(error.message).toMatch(/^\s+region: set the gcp:region config/m);
  });

  it("names each refused CATEGORICAL value once, never its placeholder as a duplicate", () => {
    const study = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "CATEGORICAL", values: [1, 2] }], maxTrials: 2 } as unknown as StudyDefinition;
    const error = errorOf(() => new HyperparameterTuningStudy("numbers", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } }));
    expect(error.message.split("\n").slice(1)).toEqual([
      "  study.parameters[0].values[0]: must be a string (got 1)",
      "  study.parameters[0].values[1]: must be a string (got 2)",
    ]);
  });

  it("names a bad variable at study.trial.env, the map the user wrote, not at a Vertex index", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2, trial: { env: { GOOD: "1", "1BAD": "x" } } };
    const error = errorOf(() => new HyperparameterTuningStudy("badenv", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } }));
    expect(error.message).toMatch(/^\s+study\.trial\.env: must be a valid variable name \(got "1BAD"\)$/m);
  });

  it("refuses a project or region Google Cloud would refuse only at up, after the bucket and accounts", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const error = errorOf(() => new HyperparameterTuningStudy("badplace", { study, project: "My Project", region: "us-central-1", trainer: { imageUri: "i" } }));
    expect(error.message).toMatch(/^\s+project: must be a Google Cloud project id .* \(got "My Project"\)$/m);
    expect(error.message).toMatch(/^\s+region: must be a Google Cloud region such as us-central1 or europe-west4 \(got "us-central-1"\)$/m);
    for (const [project, region] of [["example.com:my-project", "northamerica-northeast1"], ["123456789012", "europe-west4"]]) {
      expect(() => new HyperparameterTuningStudy(`place-${region}`, { study, project, region, trainer: { imageUri: "i" } })).not.toThrow();
    }
  });

  it("names a key outside the bucket's location at bucket.location", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const error = errorOf(
      () =>
        new HyperparameterTuningStudy("badkey", {
          study,
          project: "my-project",
          region: "us-central1",
          bucket: { location: "US" },
          kmsKeyName: "projects/p/locations/us-central1/keyRings/r/cryptoKeys/k",
        }),
    );
    expect(error.message).toMatch(/bucket\.location: the KMS key is in us-central1/);
  });

  it("still validates the study at construction when the key, labels or region are Outputs (a key made in the same stack)", async () => {
    const outputs = {
      kmsKeyName: pulumi.output("projects/p/locations/us-central1/keyRings/r/cryptoKeys/k"),
      labels: pulumi.output({ team: "ml" }),
      region: pulumi.output("us-central1"),
    };
    for (const [key, value] of Object.entries(outputs)) {
      const error = errorOf(() => new HyperparameterTuningStudy(`late-${key}`, { study: bad, project: "my-project", region: "us-central1", trainer: { imageUri: "i" }, [key]: value }));
      expect(error.message, key).toMatch(/^\s+study\.parameters\[0\]\.min: /m);
    }
    await settle();
    expect(recorded.filter((r) => r.name.startsWith("late-") && r.name.includes("-", 5))).toEqual([]);
  });

  it("takes a project and region given as Outputs (a project made in the same stack): checked once known, not refused as the placeholder", async () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const late = new HyperparameterTuningStudy("late-place", { study, project: pulumi.output("my-project"), region: pulumi.output("europe-west4"), trainer: { imageUri: "i" } });
    expect(await promiseOf(late.job.project)).toBe("my-project");
    expect(await promiseOf(late.job.location)).toBe("europe-west4");
  });

  it("refuses a displayName under the bucket's build staging folders, which the bucket empties after a week", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const byName = errorOf(() => new HyperparameterTuningStudy("source", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } }));
    expect(byName.message).toMatch(/^\s+study\.displayName: the trials write under gs:\/\/<bucket>\/source\/.*\(it defaults to the component's name\)$/m);
    const byDisplayName = errorOf(() => new HyperparameterTuningStudy("logs", { study: { ...study, displayName: "build-logs/v2" }, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } }));
    expect(byDisplayName.message).toMatch(/^\s+study\.displayName: .*everything under build-logs\/ /m);
    // A renamed study's folder is its idName's.
    const byIdName = errorOf(() => new HyperparameterTuningStudy("renamed-source", { study, idName: "source", project: "my-project", region: "us-central1", trainer: { imageUri: "i" } }));
    expect(byIdName.message).toMatch(/^\s+study\.displayName: the trials write under gs:\/\/<bucket>\/source\/.*\(it defaults to idName\)$/m);
    // On the local backend there is no bucket to empty.
    expect(() => new HyperparameterTuningStudy("source-local", { study: { ...study, displayName: "source" }, backend: "local" })).not.toThrow();
  });

  it("refuses at construction a displayName with a line break (a YAML block scalar's), which no Cloud Storage folder takes, at study.displayName", () => {
    // It passed construction and failed at up, after the bucket and accounts, at trialJobSpec.baseOutputDirectory.outputUriPrefix, a path the study does not have.
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2, displayName: "churn-study\n" };
    const message = errorOf(() => new HyperparameterTuningStudy("newline", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } })).message;
    expect(message.split("\n").slice(1).map((l) => l.trim().split(": ")[0])).toEqual(["study.displayName"]);
    expect(message).toMatch(/line break/);
  });

  it("refuses at construction what Google Cloud would refuse at up: a gcloud-style accelerator, a network by name, a builder that is no email, a negative age", () => {
    const study: StudyDefinition = {
      metric: { id: "a", goal: "MAXIMIZE" },
      parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }],
      maxTrials: 2,
      trial: { acceleratorType: "nvidia-tesla-t4", acceleratorCount: 1, network: "default" },
    };
    const error = errorOf(
      () =>
        new HyperparameterTuningStudy("cloudrules", {
          study,
          project: "my-project",
          region: "us-central1",
          buildServiceAccountEmail: "builder",
          bucket: { stagingObjectAgeDays: -3 },
        }),
    );
    expect(error.message).toMatch(/^\s+study\.trial\.acceleratorType: must be Vertex's accelerator name, such as NVIDIA_TESLA_T4 \(got "nvidia-tesla-t4"; NVIDIA_TESLA_T4\?\)$/m);
    expect(error.message).toMatch(/^\s+study\.trial\.network: must be projects\/<project number>\/global\/networks\/<name> \(got "default"\)$/m);
    expect(error.message).toMatch(/^\s+buildServiceAccountEmail: must be a service account's email/m);
    expect(error.message).toMatch(/^\s+bucket\.stagingObjectAgeDays: must be a whole number of days, at least 1 \(got -3\)$/m);
    const fine = { ...study, trial: { acceleratorType: "TPU_V5_LITEPOD", acceleratorCount: 1, network: "projects/123/global/networks/vpc" } };
    expect(() => new HyperparameterTuningStudy("cloudrules-ok", { study: fine, project: "my-project", region: "us-central1", buildServiceAccountEmail: "b@p.iam.gserviceaccount.com", bucket: { stagingObjectAgeDays: 1 } })).not.toThrow();
  });

  it("refuses a second study whose Google Cloud ids would be the first one's, though Pulumi allows both", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const args = { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } };
    const teamA = new pulumi.ComponentResource("acme:platform:TeamA", "a");
    const teamB = new pulumi.ComponentResource("acme:platform:TeamB", "b");
    new HyperparameterTuningStudy("twin", args, { parent: teamA });
    const sameName = errorOf(() => new HyperparameterTuningStudy("twin", args, { parent: teamB }));
    expect(sameName.message).toMatch(/^\s+name: the study "twin" in this stack already has this name's Google Cloud ids in project my-project \(repository vertex-tuning-twin-dev, and its service accounts\)/m);
    const sameId = errorOf(() => new HyperparameterTuningStudy("Twin", args));
    expect(sameId.message).toMatch(/^HyperparameterTuningStudy Twin is invalid:\n\s+name: the study "twin"/);
    // Ids are unique per Google Cloud project: in another one the same name is fine.
    expect(() => new HyperparameterTuningStudy("twin", { ...args, project: "other-project" }, { parent: teamB })).not.toThrow();
    // The local backend makes no Google Cloud ids.
    expect(() => new HyperparameterTuningStudy("twin", { study, backend: "local" }, { parent: teamB })).not.toThrow();
  });

  it("refuses the same name under two parents sharing a gcp.Provider, whose project is not known yet", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const args = { study, trainer: { imageUri: "i" } };
    const provider = new gcp.Provider("team-gcp", { project: "team-project", region: "europe-west4" });
    const teamA = new pulumi.ComponentResource("acme:platform:TeamA", "pa", {}, { providers: [provider] });
    const teamB = new pulumi.ComponentResource("acme:platform:TeamB", "pb", {}, { providers: [provider] });
    new HyperparameterTuningStudy("shared", args, { parent: teamA });
    const sameName = errorOf(() => new HyperparameterTuningStudy("shared", args, { parent: teamB }));
    expect(sameName.message).toMatch(/^\s+name: the study "shared" in this stack already has this name's Google Cloud ids in the project of their gcp\.Provider \(repository vertex-tuning-shared-dev/m);
    // Another provider may be another project; a project given as an Output may be any.
    const other = new gcp.Provider("other-gcp", { project: "other-project", region: "europe-west4" });
    expect(() => new HyperparameterTuningStudy("shared", args, { parent: teamB, providers: [other] })).not.toThrow();
    expect(() => new HyperparameterTuningStudy("shared", { ...args, project: pulumi.output("third-project") }, { parent: teamB })).not.toThrow();
  });

  it("claims the ids of idName, not of the name: a renamed study beside the component it was renamed from is refused", () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const args = { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } };
    new HyperparameterTuningStudy("kept", args);
    const renamed = errorOf(() => new HyperparameterTuningStudy("renamed", { ...args, idName: "kept" }));
    expect(renamed.message).toMatch(
      /^HyperparameterTuningStudy renamed is invalid:\n\s+idName: the study "kept" in this stack already has this idName's Google Cloud ids in project my-project \(repository vertex-tuning-kept-dev, and its service accounts\): give one of the two another idName$/,
    );
    new HyperparameterTuningStudy("moved", { ...args, idName: "origin" });
    const byName = errorOf(() => new HyperparameterTuningStudy("origin", args));
    expect(byName.message).toMatch(/^\s+name: the study "moved" \(idName "origin"\) in this stack already has this name's Google Cloud ids in project my-project \(repository vertex-tuning-origin-dev,/m);
    // The name's own ids are free: only idName's are taken.
    expect(() => new HyperparameterTuningStudy("moved-twin", { ...args, idName: "moved" })).not.toThrow();
  });

  it("keeps one record of ids per program run: an Automation API program that runs again keeps its study", async () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const outcomes: string[] = [];
    const program = async () => {
      try {
        new HyperparameterTuningStudy("rerun", { study, project: "my-project", region: "us-central1", trainer: { imageUri: "i" } });
        outcomes.push("created");
      } catch (error) {
        outcomes.push((error as Error).message);
      }
    };
    const children = () => recorded.filter((r) => r.name.startsWith("rerun-")).length;
    await pulumi.runtime.runInPulumiStack(program);
    await settle();
    const once = children();
    await pulumi.runtime.runInPulumiStack(program);
    await settle();
    expect(outcomes).toEqual(["created", "created"]);
    expect(once).toBeGreaterThan(0);
    expect(children()).toBe(2 * once);
  });

  it("names a trainer folder that cannot be built at trainer.source, before creating any child", async () => {
    const study: StudyDefinition = { metric: { id: "a", goal: "MAXIMIZE" }, parameters: [{ id: "x", type: "DOUBLE", min: 0, max: 1 }], maxTrials: 2 };
    const error = errorOf(() => new HyperparameterTuningStudy("nofolder", { study, project: "my-project", region: "us-central1", trainer: { source: "/nonexistent/trainer" } }));
    expect(error.message).toMatch(/^HyperparameterTuningStudy nofolder is invalid:\n {2}trainer\.source: \/nonexistent\/trainer has no Dockerfile/);
    await settle();
    expect(recorded.filter((r) => r.name.startsWith("nofolder-"))).toEqual([]);
  });

  it("names the trainer folder's problem together with the study's, in the one error", () => {
    const error = errorOf(() => new HyperparameterTuningStudy("both", { study: bad, project: "my-project", region: "us-central1", trainer: { source: "/nonexistent/trainer" } }));
    expect(error.message).toMatch(/^\s+trainer\.source: \/nonexistent\/trainer has no Dockerfile/m);
    expect(error.message).toMatch(/^\s+study\.parameters\[0\]\.min: /m);
    expect(error.message).toMatch(/^\s+study\.parallelTrials: /m);
  });
});
