/**
 * The published package: compiled with the repository's tsconfig, packed with `npm pack`, the
 * tarball installed into a scratch consumer, and the component constructed there under Pulumi's
 * mocks by a plain node script, so the public surface works from `node_modules`, compiled,
 * with the trainer folder the package ships, and the job's provider serializes from there.
 *
 * The consumer reuses the repository's Pulumi, googleapis and yaml packages as linked `file:`
 * dependencies (an offline install of those from the npm cache takes longer than the test may);
 * the tarball itself is installed by npm.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "../..");
const modules = join(ROOT, "node_modules");

/** The consumer program: constructs the study from the installed package under mocks and prints what it made. */
const CONSUMER_SCRIPT = String.raw`
const path = require("node:path");
const pulumi = require("@pulumi/pulumi");
process.on("unhandledRejection", (err) => { console.error("unhandled:", err); process.exit(1); });
const recorded = [];
pulumi.runtime.setMocks({
  newResource(args) {
    recorded.push({ type: args.type, name: args.name });
    const state = { ...args.inputs };
    if (args.type === "gcp:serviceaccount/account:Account") state.email = args.inputs.accountId + "@p.iam.gserviceaccount.com";
    if (args.type === "gcp:storage/bucket:Bucket") state.name = "staging-bucket";
    if (args.type.endsWith(":HyperparameterTuningJob")) {
      if (typeof args.inputs.__provider !== "string" || !args.inputs.__provider.includes("create")) throw new Error("the provider did not serialize");
      Object.assign(state, { name: "projects/p/locations/us-central1/hyperparameterTuningJobs/1", state: "JOB_STATE_SUCCEEDED",
        bestTrial: { id: "3", parameters: { "learning-rate": 0.001 }, metricValue: 0.9, finalMeasurement: {} } });
    }
    return { id: args.name + "-id", state };
  },
  call() { throw new Error("no call expected"); },
}, "vertex-tuning", "dev", false).then(() => {
  const lib = require("vertex-tuning");
  const study = new lib.HyperparameterTuningStudy("pkg", {
    study: { metric: { id: "accuracy", goal: "MAXIMIZE" }, parameters: [{ id: "learning-rate", type: "DOUBLE", min: 0.0001, max: 0.01, scale: "LOG" }], maxTrials: 4 },
    trainer: { source: path.join(path.dirname(require.resolve("vertex-tuning/package.json")), "trainer") },
    project: "my-project",
    region: "us-central1",
  });
  pulumi.all([study.imageUri, study.bestModelDir, study.bestParameters, study.jobName]).apply(([imageUri, bestModelDir, bestParameters]) => {
    setTimeout(() => {
      console.log(JSON.stringify({ exports: Object.keys(lib).sort(), imageUri, bestModelDir, bestParameters, types: recorded.map((r) => r.type) }));
      process.exit(0);
    }, 100);
  });
});
`;

describe("the npm package", () => {
  it("installs from its tarball and constructs the component in a consumer", () => {
    const work = mkdtempSync(join(tmpdir(), "vt-package-"));
    const stage = join(work, "stage");
    // Compile the library folders the package ships with the repository's compiler options
    // (types are checked by the typecheck step: --noCheck keeps this under a minute).
    writeFileSync(
      join(work, "tsconfig.json"),
      JSON.stringify({
        extends: join(ROOT, "tsconfig.build.json"),
        compilerOptions: { outDir: join(stage, "dist"), rootDir: ROOT, noCheck: true, typeRoots: [join(modules, "@types")] },
      }),
    );
    execFileSync(join(modules, ".bin/tsc"), ["-p", join(work, "tsconfig.json")], { stdio: "pipe" });
    cpSync(join(ROOT, "package.json"), join(stage, "package.json"));
    cpSync(join(ROOT, "trainer"), join(stage, "trainer"), { recursive: true });
    // The stage holds the compiled package already: its prepack (the build) has nothing to build from.
    execFileSync("npm", ["pack", "--ignore-scripts", "--pack-destination", work], { cwd: stage, stdio: "pipe" });
    const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"));
    expect(tarball).toBe("vertex-tuning-0.1.0.tgz");

    const consumer = join(work, "consumer");
    const linked = ["googleapis", "yaml", "@pulumi/pulumi", "@pulumi/gcp", "@pulumi/command"];
    mkdirSync(consumer);
    writeFileSync(
      join(consumer, "package.json"),
      JSON.stringify({ name: "scratch-consumer", private: true, dependencies: Object.fromEntries(linked.map((p) => [p, `file:${join(modules, p)}`])) }),
    );
    execFileSync("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", join(work, tarball!)], { cwd: consumer, stdio: "pipe" });
    writeFileSync(join(consumer, "main.js"), CONSUMER_SCRIPT);
    const out = JSON.parse(execFileSync(process.execPath, ["main.js"], { cwd: consumer, encoding: "utf8" }));

    expect(out.exports).toEqual(expect.arrayContaining(["HyperparameterTuningStudy", "HyperparameterTuningJob", "readStudyConfig", "bestTrial", "trialModelDir"]));
    expect(out.imageUri).toMatch(/^us-central1-docker\.pkg\.dev\/my-project\/vertex-tuning-pkg-dev\/trainer:[0-9a-f]{16}$/);
    expect(out.bestModelDir).toMatch(/^gs:\/\/staging-bucket\/pkg\/[0-9a-f]{12}\/3\/model\/$/);
    expect(out.bestParameters).toEqual({ "learning-rate": 0.001 });
    expect(out.types).toEqual(
      expect.arrayContaining([
        "vertex-tuning:index:HyperparameterTuningStudy",
        "gcp:storage/bucket:Bucket",
        "command:local:Command",
        "pulumi-nodejs:dynamic/vertex:HyperparameterTuningJob",
      ]),
    );
  }, 120_000);
});
