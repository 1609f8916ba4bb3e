/**
 * The rule of a `source` trainer on the local backend, shared by the component and `tune run`:
 * it runs as a module of the repository, not from its folder's path (`localTrainerCommand`).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULTS, localTrainerCommand, type Issue, type TrainerDefinition } from "./spec";

/** A `source` trainer: its image is built from a folder (the others name an image or a package). */
export function buildsImage(trainer: TrainerDefinition): boolean {
  return trainer.imageUri === undefined && trainer.pythonPackage === undefined;
}

/**
 * Why the local backend cannot run this `source` trainer, at `trainer.source`, or undefined when
 * it can (or the trainer is no `source` one). Locally it runs `python -m <last segment>.task` from
 * the repository root, so the folder must be a top-level folder of the repository with a
 * `task.py`. Unchecked, a missing folder or entry module failed every trial (`No module named`)
 * until the failure budget ended the job, and a nested folder (`ml/trainer`) ran the top-level
 * package of its name, the repository's own `trainer/`, without a word.
 *
 * @param repoRoot the folder the trials run from.
 * @param projectRoot the folder a relative `source` starts from (the Pulumi project's root).
 */
export function localSourceIssue(trainer: TrainerDefinition, repoRoot: string, projectRoot = repoRoot): Issue | undefined {
  if (!buildsImage(trainer)) return undefined;
  const source = trainer.source ?? DEFAULTS.trainerSource;
  const command = localTrainerCommand(source);
  const pkg = command[2]!.replace(/\.task$/, "");
  const dir = path.resolve(projectRoot, source);
  const runs = path.join(path.resolve(repoRoot), pkg);
  const rule = `the local backend runs a source trainer as \`${command.join(" ")}\` from the repository root ${path.resolve(repoRoot)}`;
  const fix = "or give the trainer a command (imageUri and command) that runs it";
  if (dir !== runs) {
    return { path: "trainer.source", message: `${dir} is not a folder at the repository's top level: ${rule}, which would run ${runs}; move the package to the top level, ${fix}` };
  }
  if (!fs.statSync(path.join(dir, "task.py"), { throwIfNoEntry: false })?.isFile()) {
    const what = fs.existsSync(dir) ? "has no task.py" : "does not exist";
    return { path: "trainer.source", message: `${dir} ${what}: ${rule}; the package's entry module must be ${pkg}/task.py, ${fix}` };
  }
  return undefined;
}
