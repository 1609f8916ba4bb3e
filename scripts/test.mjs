#!/usr/bin/env node
// Runs every test of the project and ends with one line `N passed, N failed[, N skipped]`:
// the TypeScript typecheck (one test), the vitest suites and the trainer's pytest suite.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const results = join(root, "test-results");
mkdirSync(results, { recursive: true });
const bin = (name) => join(root, "node_modules/.bin", name);
const totals = { passed: 0, failed: 0, skipped: 0 };

/**
 * Plain output unless colour is asked for: vitest and pytest take FORCE_COLOR's presence, so
 * FORCE_COLOR=0 (meant as "no colour", as this script once set it) coloured piped logs (CI's)
 * with escape codes. Another FORCE_COLOR value keeps colour.
 */
function testEnvironment(env) {
  const { FORCE_COLOR, ...rest } = env;
  return FORCE_COLOR !== undefined && FORCE_COLOR !== "0" && FORCE_COLOR !== "false" ? env : { ...rest, NO_COLOR: "1" };
}

function step(title, command, args) {
  console.log(`\n== ${title}`);
  return spawnSync(command, args, { cwd: root, stdio: "inherit", env: testEnvironment(process.env) });
}

// The typecheck counts as one test: vitest runs TypeScript without checking types.
const tsc = step("typecheck (tsc --noEmit, strict)", bin("tsc"), ["--noEmit", "-p", "tsconfig.json"]);
totals[tsc.status === 0 ? "passed" : "failed"] += 1;

/**
 * A run that failed (non-zero exit) but whose report counts no failure (a failing beforeAll
 * skips its file's tests, a failing afterAll or an unhandled error leaves them passed) still
 * counts one failure: the summary never says "0 failed" for a red run.
 */
function countExit(title, status, countedFailures) {
  if (status !== 0 && countedFailures === 0) {
    console.error(`${title} exited with status ${status} although no test failed: counting one failure`);
    totals.failed += 1;
  }
}

// Each report is removed first, so one left by an earlier run is never read as this run's.
const vitestJson = join(results, "vitest.json");
rmSync(vitestJson, { force: true });
const vitest = step("vitest", bin("vitest"), ["run", "--reporter=default", "--reporter=json", `--outputFile.json=${vitestJson}`]);
if (existsSync(vitestJson)) {
  const report = JSON.parse(readFileSync(vitestJson, "utf8"));
  totals.passed += report.numPassedTests;
  // A file that failed to load has no test results: count it as one failure. (The report's
  // numFailedTestSuites counts describe blocks, which would count a failed test twice.)
  const unloaded = report.testResults.filter((file) => file.status === "failed" && file.assertionResults.length === 0).length;
  totals.failed += report.numFailedTests + unloaded;
  totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  countExit("vitest", vitest.status, report.numFailedTests + unloaded);
} else {
  console.error("vitest wrote no report: counting the suite as one failure");
  totals.failed += 1;
}

const junit = join(results, "pytest.xml");
rmSync(junit, { force: true });
const pytest = step("pytest (trainer)", join(root, ".venv/bin/python"), ["-m", "pytest", "trainer/tests", "-q", "--continue-on-collection-errors", `--junitxml=${junit}`]);
if (existsSync(junit) && pytest.status !== 5) {
  const suite = /<testsuite\b[^>]*>/.exec(readFileSync(junit, "utf8"))?.[0] ?? "";
  const attr = (name) => Number(new RegExp(`\\b${name}="(\\d+)"`).exec(suite)?.[1] ?? 0);
  const failed = attr("failures") + attr("errors");
  totals.failed += failed;
  totals.skipped += attr("skipped");
  totals.passed += attr("tests") - failed - attr("skipped");
  countExit("pytest", pytest.status, failed);
} else {
  console.error("pytest ran no test: counting the suite as one failure");
  totals.failed += 1;
}

const summary = `${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ""}`;
writeFileSync(join(results, "summary.txt"), `${summary}\n`);
console.log(`\n${summary}`);
process.exit(totals.failed === 0 ? 0 : 1);
