/**
 * The Vertex client for a resource's inputs: Vertex AI itself, or the local backend.
 *
 * On the local backend the provider `require()`s the backend's `embedded` module by the absolute
 * path the resource class computed (`localBackendModule`), starts or reuses the embedded server
 * over `localStateDir`, and uses its token. With an `apiEndpoint` (a local server started by hand
 * or by a test) it talks to that server instead, with the token the server keeps in its state
 * folder. Nothing of the local backend is loaded on the vertex backend.
 */
import { DEFAULTS } from "../spec/model";
import type { TuningJobInputs } from "../tuningJobTypes";
import type { Clock } from "./clock";
import { createVertexClient, type VertexClient } from "./client";

/** What `local/embedded.ts` exports (the part used here). */
interface EmbeddedBackendModule {
  ensureLocalBackend(options: { stateDir: string; repoRoot: string }): Promise<{ rootUrl: string; token: string }>;
}

/** True when the job runs on this machine. */
export function isLocal(inputs: TuningJobInputs): boolean {
  return inputs.backend === "local";
}

/** A client for the job's backend. */
export async function connect(inputs: TuningJobInputs, clock: Clock): Promise<VertexClient> {
  const { project, location } = inputs;
  const apiModule = inputs.vertexApiModule;
  if (!isLocal(inputs)) return createVertexClient({ project, location, apiEndpoint: inputs.apiEndpoint, clock, apiModule });
  const path = require("node:path") as typeof import("node:path");
  const repoRoot = inputs.localRepoRoot ?? process.cwd();
  const stateDir = inputs.localStateDir ?? path.join(repoRoot, DEFAULTS.localStateDir);
  if (inputs.apiEndpoint) {
    const fs = require("node:fs") as typeof import("node:fs");
    const token = fs.readFileSync(path.join(stateDir, "token"), "utf8").trim();
    return createVertexClient({ project, location, apiEndpoint: inputs.apiEndpoint, token, clock, apiModule });
  }
  const { rootUrl, token } = await loadEmbeddedBackend(inputs.localBackendModule).ensureLocalBackend({ stateDir, repoRoot });
  return createVertexClient({ project, location, apiEndpoint: rootUrl, token, clock, apiModule });
}

/**
 * Loads the local backend's module. From source (`.ts`, the repository's own tests and stacks)
 * it goes through tsx, which the provider host does not have registered; compiled (`.js`, an
 * installed package) it is a plain require.
 */
function loadEmbeddedBackend(modulePath: string | undefined): EmbeddedBackendModule {
  if (!modulePath) {
    throw new Error("the local backend's module path is missing (localBackendModule): create the resource with the HyperparameterTuningJob class, which sets it");
  }
  if (modulePath.endsWith(".ts")) {
    const tsx = require("tsx/cjs/api") as { require: (id: string, from: string) => unknown };
    return tsx.require(modulePath, modulePath) as EmbeddedBackendModule;
  }
  return require(modulePath) as EmbeddedBackendModule;
}
