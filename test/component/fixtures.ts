/** Shared inputs of the component tests: the seed study (Pulumi.dev.yaml) and a small trainer folder. */
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

export { ROOT, stackConfigFile, stackStudy } from "../fixtures/seedStudy";

/** A trainer folder in a fresh temp directory: Dockerfile, a package and a .gcloudignore like trainer/'s. */
export function makeTrainer(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "vt-trainer-")), "trainer");
  const files: Record<string, string> = {
    Dockerfile: 'FROM python:3.11-slim\nCOPY . /app/trainer\nENTRYPOINT ["python", "-m", "trainer.task"]\n',
    "__init__.py": "",
    "task.py": "print('training')\n",
    "requirements.txt": "cloudml-hypertune==0.1.0.dev6\n",
    ".gcloudignore": ".gcloudignore\n__pycache__/\n*.py[co]\n.pytest_cache/\n.venv/\nvenv/\ntests/\n",
    "tests/test_task.py": "def test(): pass\n",
  };
  for (const [file, text] of Object.entries(files)) write(dir, file, text);
  return dir;
}

/** What `make` threw, as its message, or "created": a refusal and an acceptance compare as one string. */
export function constructionMessage(make: () => unknown): string {
  try {
    make();
  } catch (error) {
    return (error as Error).message;
  }
  return "created";
}

export function write(dir: string, file: string, text: string): void {
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), text);
}

/** A copy of a folder in a fresh temp directory. */
export function copyTree(dir: string): string {
  const copy = join(mkdtempSync(join(tmpdir(), "vt-copy-")), "trainer");
  cpSync(dir, copy, { recursive: true });
  return copy;
}
