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
  const { repoRoot, stateDir } = localPaths(inputs);
  if (inputs.apiEndpoint) {
    const fs = require("node:fs") as typeof import("node:fs");
    const token = fs.readFileSync(path.join(stateDir, "token"), "utf8").trim();
    return createVertexClient({ project, location, apiEndpoint: inputs.apiEndpoint, token, clock, apiModule });
  }
  const { rootUrl, token } = await loadEmbeddedBackend(inputs.localBackendModule).ensureLocalBackend({ stateDir, repoRoot });
  return createVertexClient({ project, location, apiEndpoint: rootUrl, token, clock, apiModule });
}

/** The local backend's state folder, as an absolute path. */
export function localStateFolder(inputs: TuningJobInputs): string {
  const path = require("node:path") as typeof import("node:path");
  return path.resolve(localPaths(inputs).stateDir);
}

/** The repository and the state folder of the local backend, defaults filled in. */
function localPaths(inputs: TuningJobInputs): { repoRoot: string; stateDir: string } {
  const path = require("node:path") as typeof import("node:path");
  const repoRoot = inputs.localRepoRoot ?? process.cwd();
  return { repoRoot, stateDir: inputs.localStateDir ?? path.join(repoRoot, DEFAULTS.localStateDir) };
}

/**
 * The inputs of an existing job on the local backend, with its paths as they are on this machine
 * now. The state records absolute paths (the repository, the backend's module, the state folder),
 * which a repository moved since, or checked out at another path (a CI runner), no longer has:
 * then each recorded path inside the recorded repository is taken inside the folder that now
 * holds the same state folder (and module), the nearest from the program's folder up. A job's
 * state folder that is not there is refused: a server started over it would make an empty one
 * and answer that the job is gone, and a refresh or destroy would drop a job the real folder
 * still runs.
 */
export function locateLocalJob(inputs: TuningJobInputs): TuningJobInputs {
  if (!isLocal(inputs)) return inputs;
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  const isStateFolder = (dir: string) => fs.existsSync(path.join(dir, "journal.jsonl"));
  const { repoRoot, stateDir } = localPaths(inputs);
  const recordedRoot = path.resolve(repoRoot);
  const recordedState = path.resolve(stateDir);
  if (fs.existsSync(recordedRoot)) {
    if (isStateFolder(recordedState)) return inputs;
    throw new Error(
      `the local backend's state folder ${recordedState}, where this job was created, is not there (no journal.jsonl): ` +
        "if it was moved, move it back (the stack records this folder for the job); if it was deleted, its jobs went with it: remove the resource from the stack with `pulumi state delete`",
    );
  }
  const inside = (file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    const relative = path.relative(recordedRoot, path.resolve(file));
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative) ? relative : undefined;
  };
  const state = inside(recordedState);
  const module = inside(inputs.localBackendModule);
  for (let dir = process.cwd(); ; dir = path.dirname(dir)) {
    const holds = (state === undefined ? isStateFolder(recordedState) : isStateFolder(path.join(dir, state))) && (module === undefined || fs.existsSync(path.join(dir, module)));
    if (holds) {
      return {
        ...inputs,
        localRepoRoot: dir,
        ...(state !== undefined && { localStateDir: path.join(dir, state) }),
        ...(module !== undefined && { localBackendModule: path.join(dir, module) }),
      };
    }
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(
    `the repository ${recordedRoot} this job was created from is gone, and no folder from ${process.cwd()} up holds its state folder ` +
      `${state ?? recordedState}${module === undefined ? "" : ` and ${module}`}: run pulumi from the repository's new place`,
  );
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
