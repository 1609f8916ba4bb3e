/**
 * What depends on the built trainer image waits for its build: the component's `imageUri` output
 * carries the build command, as an image resource's output would.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { HyperparameterTuningStudy } from "../../components";
import { JOB_TYPE, installMocks, promiseOf } from "./mocks";
import { makeTrainer, stackStudy } from "./fixtures";

/** Each registered resource's explicit and implicit dependencies (URNs), by logical name. */
const dependencies = new Map<string, string[]>();

beforeAll(async () => {
  await installMocks();
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: any, callback: unknown) => unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    dependencies.set(req.getName(), req.getDependenciesList());
    return register(req, callback);
  };
});

describe("the built image's URI", () => {
  it("makes a study that runs another study's built image wait for that build", async () => {
    const dev = stackStudy("dev");
    const args = { study: dev.study, project: "your-project-id", region: "us-central1" };
    const builder = new HyperparameterTuningStudy("builds", { ...args, trainer: { source: makeTrainer() } });
    const reuser = new HyperparameterTuningStudy("reuses", { ...args, trainer: { imageUri: builder.imageUri.apply((uri) => uri!) } });
    await promiseOf(pulumi.all([builder.jobName, reuser.jobName]));
    const buildUrn = await promiseOf(builder.image!.urn);
    expect(dependencies.get("reuses-job"), `${JOB_TYPE} reuses-job`).toContain(buildUrn);
  });
});
