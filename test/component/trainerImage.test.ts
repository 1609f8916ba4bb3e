/**
 * The trainer image's identity: the tag is a hash of exactly what `gcloud builds submit` uploads.
 * Pure tests of the hash, the ignore-file reader (checked against gcloud itself where gcloud is
 * installed) and the build command line.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { UploadFilter } from "../../components/ignoreFiles";
import { buildCommandLine, digestSource, trainerImageUri } from "../../components/trainerImage";
import { copyTree, makeTrainer, write } from "./fixtures";

describe("digestSource", () => {
  it("keeps the tag for an unchanged tree, even copied elsewhere", () => {
    const dir = makeTrainer();
    const first = digestSource(dir);
    expect(first.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(digestSource(dir).hash).toBe(first.hash);
    expect(digestSource(copyTree(dir)).hash).toBe(first.hash);
    expect(first.files).toEqual(["Dockerfile", "__init__.py", "requirements.txt", "task.py"]);
  });

  it("changes the tag when an uploaded file changes, is added or is renamed", () => {
    const dir = makeTrainer();
    const before = digestSource(dir).hash;
    write(dir, "task.py", "print('training harder')\n");
    const edited = digestSource(dir).hash;
    expect(edited).not.toBe(before);
    write(dir, "model.py", "");
    const added = digestSource(dir).hash;
    expect(added).not.toBe(edited);
    rmSync(join(dir, "model.py"));
    write(dir, "layers.py", "");
    expect(digestSource(dir).hash).not.toBe(added);
  });

  it("ignores caches, virtual environments and what .gcloudignore leaves out", () => {
    const dir = makeTrainer();
    const before = digestSource(dir).hash;
    write(dir, "__pycache__/task.cpython-311.pyc", "bytecode");
    write(dir, "task.pyc", "bytecode");
    write(dir, ".venv/lib/site.py", "x");
    write(dir, ".pytest_cache/v/cache", "x");
    write(dir, "tests/test_more.py", "def test(): pass\n"); // listed in the fixture's .gcloudignore
    write(dir, ".gcloudignore", ".gcloudignore\n__pycache__/\n*.py[co]\n.pytest_cache/\n.venv/\nvenv/\ntests/\n"); // rewritten, same rules
    const after = digestSource(dir);
    expect(after.hash).toBe(before);
    expect(after.uncounted).toEqual([]);
  });

  it("never counts caches even where the ignore file forgets them, and reports them", () => {
    const dir = makeTrainer();
    write(dir, ".gcloudignore", ".gcloudignore\ntests/\n");
    const before = digestSource(dir).hash;
    write(dir, "__pycache__/task.cpython-311.pyc", "bytecode");
    write(dir, ".venv/bin/python", "x");
    const after = digestSource(dir);
    expect(after.hash).toBe(before);
    expect(after.uncounted).toEqual([".venv/bin/python", "__pycache__/task.cpython-311.pyc"]);
  });

  it("counts the ignore file itself only when it does not ignore itself, as gcloud does", () => {
    const dir = makeTrainer();
    write(dir, ".gcloudignore", "tests/\n");
    expect(digestSource(dir).files).toContain(".gcloudignore");
  });

  it("keeps the tag formula of a tree of plain files, so stacks keep their image on upgrade", () => {
    expect(digestSource(makeTrainer()).hash).toBe("e308181209cce08c");
  });

  it("changes the tag when a file becomes executable or a link is pointed elsewhere, as the upload does", () => {
    const dir = makeTrainer();
    const plain = digestSource(dir).hash;
    chmodSync(join(dir, "task.py"), 0o755);
    const executable = digestSource(dir).hash;
    expect(executable).not.toBe(plain);
    chmodSync(join(dir, "task.py"), 0o700); // the other bits: the upload keeps them, but git does not
    expect(digestSource(dir).hash).toBe(executable);
    symlinkSync("task.py", join(dir, "main.py"));
    const linked = digestSource(dir);
    expect(linked.files).toContain("main.py");
    rmSync(join(dir, "main.py"));
    symlinkSync("__init__.py", join(dir, "main.py"));
    expect(digestSource(dir).hash).not.toBe(linked.hash);
  });

  it("refuses a folder with a broken link the upload holds, naming it, rather than give it another tag than where the link resolves", () => {
    const dir = makeTrainer();
    mkdirSync(join(dir, "data"));
    symlinkSync(join(dir, "nothing-here"), join(dir, "data", "images"));
    symlinkSync("loop", join(dir, "loop"));
    expect(() => digestSource(dir)).toThrow(/holds broken symbolic links that `gcloud builds submit` would upload \(data\/images, loop\)/);
    write(dir, ".gcloudignore", ".gcloudignore\ntests/\ndata/\nloop\n");
    expect(digestSource(dir).files).toEqual(["Dockerfile", "__init__.py", "requirements.txt", "task.py"]);
  });

  it("refuses a named pipe the upload holds, naming it, where reading it for the tag hung the preview", () => {
    const dir = makeTrainer();
    expect(spawnSync("mkfifo", [join(dir, "events")]).status).toBe(0);
    expect(() => digestSource(dir)).toThrow(/events is neither a file nor a symbolic link \(a named pipe or a socket\)/);
    write(dir, ".gcloudignore", ".gcloudignore\ntests/\nevents\n");
    expect(digestSource(dir).files).toEqual(["Dockerfile", "__init__.py", "requirements.txt", "task.py"]);
  });

  it("refuses a folder without a Dockerfile", () => {
    const dir = makeTrainer();
    rmSync(join(dir, "Dockerfile"));
    expect(() => digestSource(dir)).toThrow(/no Dockerfile/);
  });

  it("refuses a folder whose .gcloudignore leaves the Dockerfile out of the upload, as a .dockerignore may", () => {
    const dir = makeTrainer();
    // gcloud finds the Dockerfile on disk and uploads without it: the remote build fails at up.
    write(dir, ".gcloudignore", ".gcloudignore\ntests/\nDockerfile\n");
    expect(() => digestSource(dir)).toThrow(/leaves its Dockerfile out of the upload/);
  });
});

describe("UploadFilter (gcloud's .gcloudignore rules)", () => {
  const tree = () => {
    const dir = makeTrainer();
    write(
      dir,
      ".gcloudignore",
      [
        "# comment",
        ".gcloudignore",
        "*.log",
        "!keep.log",
        "/rootonly.txt",
        "build/",
        "data/**/*.csv",
        "docs/*.md",
        "#!include:extra.ignore",
        "trailing\\ ",
        "",
      ].join("\n"),
    );
    write(dir, "extra.ignore", "secret*\n");
    for (const f of [
      "a.log", "keep.log", "sub/b.log", "sub/keep.log", "rootonly.txt", "sub/rootonly.txt", "build/out.bin", "sub/build/out.bin",
      "build.txt", "data/x.csv", "data/y/z.csv", "data/y/z.json", "docs/a.md", "docs/deep/b.md", "x/docs/c.md", "secret.txt",
      "sub/secret.key", "trailing ", "plain.py",
    ]) write(dir, f, f);
    mkdirSync(join(dir, "real"));
    write(dir, "real/linked.py", "x");
    symlinkSync(join(dir, "real"), join(dir, "link"));
    return dir;
  };

  it("follows gitignore syntax as gcloud reads it: negation, anchors, folders, **, includes", () => {
    const files = new UploadFilter(tree()).files();
    expect(files).toEqual([
      "Dockerfile", "__init__.py", "build.txt", "data/y/z.json", "docs/deep/b.md", "extra.ignore", "keep.log",
      "link", "plain.py", "real/linked.py", "requirements.txt", "sub/keep.log", "sub/rootonly.txt", "task.py",
      "tests/test_task.py",
    ]);
  });

  it("lists a link as one entry, to its own folder too (never walked), and a broken link as the file gcloud takes it for", () => {
    const dir = makeTrainer();
    symlinkSync(dir, join(dir, "loop"));
    symlinkSync(join(dir, "nothing-here"), join(dir, "broken"));
    symlinkSync("self", join(dir, "self")); // a loop of links: broken too
    symlinkSync("nothing-here", join(dir, "gone.py"));
    write(dir, ".gcloudignore", ".gcloudignore\ntests/\ngone.py/\n"); // folders only: a broken link is no folder
    expect(new UploadFilter(dir).files()).toEqual(["Dockerfile", "__init__.py", "broken", "gone.py", "loop", "requirements.txt", "self", "task.py"]);
  });

  /**
   * What `gcloud builds submit <folder>` packs, run as the build command runs it, from the
   * folder's parent: its own Snapshot class, run by gcloud's Python (files, and the folders that
   * are links, which it packs as links), or its error. Undefined where gcloud is missing.
   */
  function gcloudUpload(dir: string): { files?: string[]; error?: string } | undefined {
    const info = spawnSync("gcloud", ["info", "--format=value(basic.python_location,installation.sdk_root)"], { encoding: "utf8" });
    if (info.status !== 0) return undefined;
    const [python, sdk] = info.stdout.trim().split("\t");
    const folder = JSON.stringify(basename(dir)); // as a Python string
    const script =
      `import json, os\nfrom googlecloudsdk.api_lib.cloudbuild import snapshot\ns = snapshot.Snapshot(${folder})\n` +
      `print(json.dumps(sorted(list(s.files) + [d for d in s.dirs if os.path.islink(os.path.join(${folder}, d))])))`;
    const out = spawnSync(python!, ["-c", script], { cwd: dirname(dir), encoding: "utf8", env: { ...process.env, PYTHONPATH: `${sdk}/lib:${sdk}/lib/third_party` } });
    return out.status === 0 ? { files: JSON.parse(out.stdout) as string[] } : { error: out.stderr };
  }

  const hasGcloud = spawnSync("gcloud", ["--version"], { encoding: "utf8" }).status === 0;
  if (!hasGcloud) console.log("gcloud is not on PATH: the comparison with what `gcloud builds submit` packs is skipped");

  it.skipIf(!hasGcloud)("lists exactly what gcloud builds submit packs (its Snapshot), links included", () => {
    for (const dir of [tree(), makeTrainer()]) {
      write(dir, "__pycache__/x.pyc", "x");
      symlinkSync("task.py", join(dir, "main.py"));
      expect(gcloudUpload(dir)).toEqual({ files: new UploadFilter(dir).files() });
    }
  }, 60_000);

  it.skipIf(!hasGcloud)("fails where gcloud builds submit fails: on a broken link it uploads, not on one its .gcloudignore leaves out", () => {
    const dir = makeTrainer();
    symlinkSync(join(dir, "nothing-here"), join(dir, "tests", "broken"));
    expect(gcloudUpload(dir)).toEqual({ files: new UploadFilter(dir).files() });
    expect(() => digestSource(dir)).not.toThrow();
    symlinkSync(join(dir, "nothing-here"), join(dir, "broken"));
    expect(gcloudUpload(dir)?.error).toMatch(/FileNotFoundError/);
    expect(() => digestSource(dir)).toThrow(/broken symbolic links that `gcloud builds submit` would upload \(broken\)/);
  }, 60_000);
});

describe("the build command", () => {
  it("submits the folder to Cloud Build as the given account, with the tag, project, region, source and logs in the staging bucket, unless the tag exists", () => {
    const imageUri = trainerImageUri("us-central1", "p", "repo", "abc");
    expect(imageUri).toBe("us-central1-docker.pkg.dev/p/repo/trainer:abc");
    const line = buildCommandLine({ source: "../../trainer", imageUri, project: "p", region: "us-central1", bucket: "b", serviceAccountEmail: "sa@p.iam.gserviceaccount.com" });
    expect(line).toBe(
      "tags=$(gcloud artifacts docker tags list us-central1-docker.pkg.dev/p/repo --project p --format 'value(tag)' --quiet) || exit 1; " +
        "printf '%s\\n' \"$tags\" | grep -qx '.*/packages/trainer/tags/abc' || " +
        "gcloud builds submit ../../trainer --tag us-central1-docker.pkg.dev/p/repo/trainer:abc --project p --region us-central1 " +
        "--gcs-source-staging-dir gs://b/source --gcs-log-dir gs://b/build-logs " +
        "--service-account projects/p/serviceAccounts/sa@p.iam.gserviceaccount.com --suppress-logs --quiet",
    );
  });

  it("keeps the build log out of stdout (Pulumi state): --suppress-logs, logs in the bucket only", () => {
    const line = buildCommandLine({ source: "t", imageUri: "r-docker.pkg.dev/p/repo/trainer:t", project: "p", region: "r", bucket: "b", serviceAccountEmail: "sa@p.iam.gserviceaccount.com" });
    const submit = line.split(" || ").pop()!;
    expect(submit.split(" ")).toContain("--suppress-logs");
    expect(submit).toContain("--gcs-log-dir gs://b/build-logs");
  });

  it("names a caller's build account in its own project", () => {
    const line = buildCommandLine({ source: "t", imageUri: "r-docker.pkg.dev/p/repo/trainer:t", project: "p", region: "r", bucket: "b", serviceAccountEmail: "builder@shared-ci.iam.gserviceaccount.com" });
    expect(line).toContain("--service-account projects/shared-ci/serviceAccounts/builder@shared-ci.iam.gserviceaccount.com ");
  });

  it("quotes odd paths", () => {
    const line = buildCommandLine({ source: "my trainer", imageUri: "r-docker.pkg.dev/p/repo/trainer:t", project: "p", region: "r", bucket: "b", serviceAccountEmail: "sa@p.iam.gserviceaccount.com" });
    expect(line).toContain("gcloud builds submit 'my trainer' --tag r-docker.pkg.dev/p/repo/trainer:t ");
  });

  it("as /bin/sh runs it: builds when the tag is missing, skips when it is there, and fails without building when the check fails", () => {
    // gcloud itself stands in only for its exit status and the tag list it prints: what is
    // tested is the shell logic around it.
    const bin = mkdtempSync(join(tmpdir(), "gcloud-"));
    const calls = join(bin, "calls");
    writeFileSync(
      join(bin, "gcloud"),
      `#!/bin/sh\necho "$*" >> "${calls}"\nif [ "$1" = artifacts ]; then [ -n "$LIST_FAILS" ] && exit 1; printf '%s\\n' $TAGS; fi\n`,
      { mode: 0o755 },
    );
    const line = buildCommandLine({ source: "t", imageUri: "r-docker.pkg.dev/p/repo/trainer:abc", project: "p", region: "r", bucket: "b", serviceAccountEmail: "sa@p.iam.gserviceaccount.com" });
    const run = (env: Record<string, string>) => {
      rmSync(calls, { force: true });
      const result = spawnSync("/bin/sh", ["-c", line], { env: { PATH: `${bin}:/usr/bin:/bin`, ...env } });
      return { status: result.status, builds: readFileSync(calls, "utf8").split("\n").filter((l) => l.startsWith("builds submit")).length };
    };
    const tag = (t: string) => `projects/p/locations/r/repositories/repo/packages/trainer/tags/${t}`;
    expect(run({ TAGS: "" })).toEqual({ status: 0, builds: 1 });
    expect(run({ TAGS: `${tag("abcd")} ${tag("ab")}` })).toEqual({ status: 0, builds: 1 });
    expect(run({ TAGS: `${tag("old")} ${tag("abc")}` })).toEqual({ status: 0, builds: 0 });
    expect(run({ TAGS: tag("abc"), LIST_FAILS: "1" })).toEqual({ status: 1, builds: 0 });
  });
});
