/**
 * The optimizer benchmark's command line (bench/optimizer/run.ts): an option it does not know, or
 * a value it cannot use, stops it before it runs a study or writes a result.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = join(__dirname, "..", "..");
// A plan that runs nothing (a summary of one cached problem), should an option be ignored.
const HARMLESS = ["--summary-only", "--problems", "branin", "--optimizers", "random", "--seeds", "1"];

function run(args: string[]) {
  return spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "bench/optimizer/run.ts"), ...args, ...HARMLESS], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
}

describe("bench/optimizer/run.ts options", () => {
  it("refuses an unknown option instead of running the tier's whole plan", () => {
    const result = run(["--problem", "levy4"]);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/unknown option --problem/);
    expect(result.stdout).not.toMatch(/\| problem \|/);
  });

  it("prints its options for --help and runs nothing", () => {
    const result = run(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--shard i\/k/);
    expect(result.stdout).not.toMatch(/\| problem \|/);
  });

  it("refuses a shard, a count or a mode it cannot use", () => {
    for (const [args, message] of [
      [["--shard", "1"], /--shard must be i\/k/],
      [["--shard", "2/2"], /--shard must be i\/k/],
      [["--budget", "ten"], /--budget must be a positive integer/],
      [["--modes", "batch"], /unknown mode batch/],
    ] as const) {
      const result = run([...args]);
      expect(result.status, args.join(" ")).not.toBe(0);
      expect(result.stderr).toMatch(message);
    }
  });
});
