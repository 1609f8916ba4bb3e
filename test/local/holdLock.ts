/**
 * Test helper run as its own process: takes a state folder's lock as a starting server does,
 * says so on stdout, holds it for the given milliseconds and lets it go.
 *   node --import tsx test/local/holdLock.ts <stateDir> <ms>
 */
import { acquireLock } from "../../local/lock";

const [stateDir, ms] = process.argv.slice(2);
const release = acquireLock(stateDir!);
process.stdout.write("locked\n");
setTimeout(() => {
  release();
  process.exit(0);
}, Number(ms));
