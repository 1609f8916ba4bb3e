/**
 * Test helper run as its own process: takes a state folder's lock as a starting server does,
 * says so on stdout, holds it for `ms` milliseconds and lets it go. With `announceMs`, it writes
 * a token and a server.json naming itself after that long, as a server does once it listens.
 *   node --import tsx test/local/holdLock.ts <stateDir> <ms> [announceMs]
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { acquireLock } from "../../local/lock";

const [stateDir, ms, announceMs] = process.argv.slice(2);
const release = acquireLock(stateDir!);
process.stdout.write("locked\n");
if (announceMs !== undefined) {
  setTimeout(() => {
    writeFileSync(join(stateDir!, "token"), "held-token\n");
    writeFileSync(join(stateDir!, "server.json"), JSON.stringify({ url: "http://127.0.0.1:9/", pid: process.pid }));
  }, Number(announceMs));
}
setTimeout(() => {
  release();
  process.exit(0);
}, Number(ms));
