/**
 * Prints the API budget of a two-hour job (see budget.ts and bench/README.md).
 * Run: npx tsx bench/api-budget/run.ts [hours]
 */
import { measureApiBudget } from "./budget";

const LIMIT = 200;

void (async () => {
  const hours = Number(process.argv[2] ?? 2);
  const budget = await measureApiBudget(hours);
  console.log(JSON.stringify(budget, null, 2));
  console.log(`${budget.requests} requests for a job running ${hours} simulated hours (limit ${LIMIT}): ${budget.requests < LIMIT ? "within budget" : "OVER BUDGET"}`);
  process.exitCode = budget.requests < LIMIT ? 0 : 1;
})();
