#!/usr/bin/env node
// Installs what the README's commands need, from nothing, and only what is missing or stale:
// the npm packages (from the committed lockfile) and the project's Python environment `.venv/`
// (CPU TensorFlow and the trainer's pinned requirements). Needs only Node, npm and Python 3.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const REQUIREMENTS = ["trainer/requirements.txt", "trainer/requirements-dev.txt"];

function run(command, args, what) {
  console.log(`setup: ${what}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error || result.status !== 0) {
    console.error(`setup: failed to ${what}: ${result.error?.message ?? `exit code ${result.status}`}`);
    process.exit(1);
  }
}

function npmPackages() {
  const installed = join(root, "node_modules/.package-lock.json");
  const lock = join(root, "package-lock.json");
  if (existsSync(installed) && statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return;
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], "install the npm packages (npm ci)");
}

/** True for a Python the trainer's pins install on: 3.10 to 3.12 (scikit-learn 1.7 needs 3.10, TensorFlow 2.17 has wheels up to 3.12). */
const SUPPORTED_PYTHON = "(3, 10) <= sys.version_info[:2] <= (3, 12)";

/** A supported Python: `python3` first, then the versioned names, for a machine whose default Python is outside the range. */
function findPython() {
  for (const candidate of ["python3", "python", "python3.12", "python3.11", "python3.10"]) {
    const probe = spawnSync(candidate, ["-c", `import sys; print(${SUPPORTED_PYTHON})`], { encoding: "utf8" });
    if (probe.status === 0 && probe.stdout.trim() === "True") return candidate;
  }
  console.error("setup: Python 3.10, 3.11 or 3.12 is needed on PATH (python3, or python3.1x) for the trainer's environment .venv/: TensorFlow 2.17 has no wheels for other versions");
  process.exit(1);
}

/**
 * The venv's Python is one the pins install on, and it has pip, installed in full: pip's
 * metadata is the last part of its wheel to be written, so a venv whose pip was cut short (the
 * first run stopped during `python -m venv`) has `import pip` work and `python -m pip` fail.
 */
function usableVenv(python) {
  const probe = spawnSync(python, ["-c", `import sys, pip, importlib.metadata; importlib.metadata.version("pip"); print(${SUPPORTED_PYTHON})`], { encoding: "utf8" });
  return probe.status === 0 && probe.stdout.trim() === "True";
}

function pythonEnvironment() {
  const files = REQUIREMENTS.filter((f) => existsSync(join(root, f)));
  const stamp = join(root, ".venv/.requirements-sha256");
  const digest = createHash("sha256");
  for (const f of files) digest.update(f).update(readFileSync(join(root, f)));
  const wanted = digest.digest("hex");
  const python = join(root, ".venv/bin/python");
  if (existsSync(python) && existsSync(stamp) && readFileSync(stamp, "utf8").trim() === wanted) return;
  // A .venv left half-made (setup interrupted, no venv module, a Python the pins do not install
  // on, or whose Python is gone: its bin/python a dangling link once the Python that made it was
  // uninstalled or upgraded away) would fail every later run the same way: it is made again.
  const venv = join(root, ".venv");
  const found = lstatSync(venv, { throwIfNoEntry: false });
  if (found && !(existsSync(python) && usableVenv(python))) {
    // Only a folder of its own is made again: a .venv that is a symbolic link (to a venv shared
    // with another checkout) or a file (a path to a venv elsewhere, as some tools keep) is the
    // user's, and removing it would silently drop what it stands for.
    if (!found.isDirectory()) {
      const what = found.isSymbolicLink() ? `a symbolic link to ${readlinkSync(venv)}` : "not a folder";
      console.error(`setup: .venv is ${what}, and no usable Python environment (Python 3.10 to 3.12 with pip): setup makes .venv/ again only when it is a folder of its own; repair it there, or move .venv away and run setup again`);
      process.exit(1);
    }
    console.log("setup: .venv/ is incomplete, of an unsupported Python or its Python is gone: making it again");
    rmSync(venv, { recursive: true, force: true });
  }
  if (!existsSync(python)) run(findPython(), ["-m", "venv", ".venv"], "create the Python environment .venv/");
  if (files.length) {
    run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...files.flatMap((f) => ["-r", f])],
      `install ${files.join(" and ")} into .venv/ (TensorFlow is large: the first time takes a few minutes)`);
  }
  writeFileSync(stamp, `${wanted}\n`);
}

npmPackages();
pythonEnvironment();
