#!/usr/bin/env node
// A tiny trial for the provider tests: reports `score = -(x - 0.3)^2 + 1` for the `--x=<value>`
// flag in the cloudml-hypertune line format to $CLOUD_ML_HP_METRIC_FILE, and exits.
// Behaviour is steered by the job's env (trialJobSpec...containerSpec.env):
//   TRAINER_FAIL=1             exit 1 without reporting (the trial ends INFEASIBLE)
//   TRAINER_WAIT_FOR_FILE=<p>  wait until the file <p> exists before reporting (a job that runs
//                              as long as a test wants)
//   TRAINER_SLEEP_MS=<n>       sleep n ms before reporting
//   TRAINER_IGNORE_SIGTERM=1   ignore SIGTERM (a cancelled job stays CANCELLING until the
//                              backend's grace period ends and it kills the trial)
"use strict";
const fs = require("node:fs");
const path = require("node:path");

const flags = Object.fromEntries(
  process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => a.slice(2).split("=", 2)),
);

async function main() {
  if (process.env.TRAINER_IGNORE_SIGTERM === "1") process.on("SIGTERM", () => {});
  if (process.env.TRAINER_FAIL === "1") {
    console.error("the trainer was told to fail (TRAINER_FAIL=1)");
    process.exit(1);
  }
  const waitFor = process.env.TRAINER_WAIT_FOR_FILE;
  while (waitFor && !fs.existsSync(waitFor)) await new Promise((r) => setTimeout(r, 50));
  const sleepMs = Number(process.env.TRAINER_SLEEP_MS ?? 0);
  if (sleepMs > 0) await new Promise((r) => setTimeout(r, sleepMs));
  const x = Number(flags.x);
  const score = -((x - 0.3) ** 2) + 1;
  const file = process.env.CLOUD_ML_HP_METRIC_FILE;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const line = { timestamp: Date.now() / 1000, trial: process.env.CLOUD_ML_TRIAL_ID, score: String(score), global_step: "1" };
  fs.writeFileSync(file, `${JSON.stringify(line)}\n`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
