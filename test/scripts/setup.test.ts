/**
 * scripts/setup.mjs on a scratch copy of the repository (its npm packages taken as installed, a
 * trainer requirements file that installs nothing): a `.venv/` that cannot be used is made again
 * rather than failing every later run the same way.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const REPO_ROOT = resolve(__dirname, "..", "..");

/** The supported Python the repository's own .venv was made from (its interpreter's file: sys._base_executable is the venv's own before 3.11). */
const basePython = spawnSync(join(REPO_ROOT, ".venv", "bin", "python"), ["-c", "import os, sys; print(os.path.realpath(sys.executable))"], { encoding: "utf8" }).stdout.trim();

/** A scratch repository with setup.mjs, whose only `python3` on PATH first is `basePython`. */
function scratchRepo(): { root: string; env: NodeJS.ProcessEnv } {
  const root = mkdtempSync(join(tmpdir(), "setup-"));
  mkdirSync(join(root, "scripts"));
  copyFileSync(join(REPO_ROOT, "scripts", "setup.mjs"), join(root, "scripts", "setup.mjs"));
  writeFileSync(join(root, "package-lock.json"), "{}\n");
  utimesSync(join(root, "package-lock.json"), new Date(2000, 0, 1), new Date(2000, 0, 1));
  mkdirSync(join(root, "node_modules"));
  writeFileSync(join(root, "node_modules", ".package-lock.json"), "{}\n");
  mkdirSync(join(root, "trainer"));
  writeFileSync(join(root, "trainer", "requirements.txt"), "# nothing to install\n");
  const bin = join(root, "bin");
  mkdirSync(bin);
  symlinkSync(basePython, join(bin, "python3"));
  return { root, env: { ...process.env, PATH: [bin, dirname(process.execPath), process.env.PATH].join(delimiter) } };
}

function setup(repo: { root: string; env: NodeJS.ProcessEnv }) {
  return spawnSync(process.execPath, [join(repo.root, "scripts", "setup.mjs")], { cwd: repo.root, env: repo.env, encoding: "utf8" });
}

describe("setup", () => {
  it("makes again a .venv whose Python is gone (the Python that made it uninstalled or upgraded away)", () => {
    const repo = scratchRepo();
    mkdirSync(join(repo.root, ".venv", "bin"), { recursive: true });
    writeFileSync(join(repo.root, ".venv", "pyvenv.cfg"), "home = /nonexistent/bin\n");
    for (const name of ["python", "python3"]) symlinkSync("/nonexistent/bin/python3", join(repo.root, ".venv", "bin", name));
    const result = setup(repo);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(spawnSync(join(repo.root, ".venv", "bin", "python"), ["-m", "pip", "--version"]).status).toBe(0);
    expect(readFileSync(join(repo.root, ".venv", ".requirements-sha256"), "utf8")).toMatch(/^[0-9a-f]{64}\n$/);
  });

  it("makes again a .venv whose pip was left half-installed (the first run stopped while venv installed it)", () => {
    const repo = scratchRepo();
    expect(spawnSync(basePython, ["-m", "venv", "--without-pip", ".venv"], { cwd: repo.root }).status).toBe(0);
    const python = join(repo.root, ".venv", "bin", "python");
    const purelib = spawnSync(python, ["-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], { encoding: "utf8" }).stdout.trim();
    // pip's wheel extracted as far as pip/__init__.py: `import pip` works, `python -m pip` does not.
    mkdirSync(join(purelib, "pip"));
    writeFileSync(join(purelib, "pip", "__init__.py"), "");
    const result = setup(repo);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("making it again");
    expect(spawnSync(python, ["-m", "pip", "--version"]).status).toBe(0);
  });

  it("leaves a .venv that is a symbolic link or a file alone, and says so, rather than replacing it with a venv of its own", () => {
    // A link to a venv shared with another checkout, whose Python is gone: the link is the user's.
    const linked = scratchRepo();
    const shared = mkdtempSync(join(tmpdir(), "shared-venv-"));
    mkdirSync(join(shared, "bin"));
    writeFileSync(join(shared, "pyvenv.cfg"), "home = /nonexistent/bin\n");
    symlinkSync("/nonexistent/bin/python3", join(shared, "bin", "python"));
    symlinkSync(shared, join(linked.root, ".venv"));
    const viaLink = setup(linked);
    expect(viaLink.status).toBe(1);
    expect(viaLink.stderr).toContain(`.venv is a symbolic link to ${shared}`);
    expect(lstatSync(join(linked.root, ".venv")).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(shared, "bin", "python"))).toBe("/nonexistent/bin/python3");
    // A file naming a venv elsewhere, as some tools keep one.
    const pointer = scratchRepo();
    writeFileSync(join(pointer.root, ".venv"), "/home/me/.virtualenvs/project\n");
    const viaFile = setup(pointer);
    expect(viaFile.status).toBe(1);
    expect(viaFile.stderr).toContain(".venv is not a folder");
    expect(readFileSync(join(pointer.root, ".venv"), "utf8")).toBe("/home/me/.virtualenvs/project\n");
  });
});
