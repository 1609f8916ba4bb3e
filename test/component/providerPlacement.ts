/**
 * Test helper run as its own process: a study under a `gcp.Provider` that has a project but no
 * region (an explicit provider does not read the stack's `gcp:region`), as `getClientConfig`
 * answers for it. `preview` or `up` (mocks' preview flag) is the first argument; every resource
 * the mocks saw is printed at exit, one `<type> <name>` a line. A problem found in an Output's
 * callback fails the program, as the Pulumi runtime fails it: this process exits non-zero.
 *   node --import tsx test/component/providerPlacement.ts preview
 */
import * as pulumi from "@pulumi/pulumi";
import * as gcp from "@pulumi/gcp/provider";
import { HyperparameterTuningStudy } from "../../components";
import { makeTrainer, stackStudy } from "./fixtures";
import { PROJECT, STACK } from "./mocks";

async function main(): Promise<void> {
  const registered: string[] = [];
  process.on("exit", () => console.log(registered.join("\n")));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push(`${args.type} ${args.name}`);
        return { id: process.argv[2] === "preview" ? undefined : `${args.name}-id`, state: args.inputs };
      },
      call: (args) => (args.token === "gcp:organizations/getClientConfig:getClientConfig" ? { project: "provider-project", region: "", zone: "", accessToken: "", id: "x" } : {}),
    },
    PROJECT,
    STACK,
    process.argv[2] === "preview",
  );
  const provider = new gcp.Provider("noregion-gcp", { project: "provider-project" });
  new HyperparameterTuningStudy("noregion", { study: stackStudy("dev").study, trainer: { source: makeTrainer() } }, { providers: [provider] });
}

void main();
