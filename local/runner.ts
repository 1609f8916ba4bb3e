/**
 * Runs one trial as a local process and follows it until it ends.
 *
 * The trial gets its own process group (`detached`), so stopping it (cancel, early stop,
 * timeout) ends everything it started, and a server killed with -9 leaves a group the next
 * server can find and end. Its stdout and stderr go straight to files in the trial folder, not
 * through pipes to the server: the trial never blocks on, or dies with, a server that stops
 * reading. Its exit status and the reason of a stop are written to its folder too, for a server
 * that was not there to see it end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, appendFileSync, closeSync, constants, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, fstatSync, statSync, writeFileSync } from "node:fs";
import { constants as osConstants } from "node:os";
import { delimiter, isAbsolute, join, resolve } from "node:path";
import type { TrialCommand } from "./command";
import { isAlive } from "./lock";
import { MetricsReader, type Measurement } from "./metrics";

/** The reasons the backend ends a trial before it exits on its own. */
const STOP_REASONS = ["timeout", "early-stop", "cancel", "shutdown"] as const;
/** Why the backend ended a trial before it exited on its own. */
export type StopReason = (typeof STOP_REASONS)[number];

/** How a trial process ended, with what its reasons need. */
export interface TrialExit {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  signal: string | null;
  /** Set when the backend stopped the trial. */
  stopReason?: StopReason;
  /** The spawn failed (e.g. the command does not exist). */
  spawnError?: string;
  /** The first report of the metric as NaN or an infinity, if any. */
  nonFinite?: { step: string; value: number };
  /** The metric tags the trial reported (to say which it did report when the study's is missing). */
  tags: string[];
  /** The first value of the study's metric that was no number, as JSON (MetricsReader.unreadable). */
  unreadable?: string;
  /** The first line of the metrics file that was no report (MetricsReader.firstMalformed). */
  malformed?: string;
  /** The last lines of stderr, for a crash's reason. */
  stderrTail: string;
}

/** What the runner tells its owner. */
export interface TrialHooks {
  /**
   * The new measurements one look at the file found, in file order; called once per look that
   * found any, so that the owner judges a trial once per look, not once per line of a trainer
   * that reports every step.
   */
  onMeasurements(measurements: Measurement[]): void;
  /** The process ended and the metrics file was read one last time. */
  onExit(exit: TrialExit): void;
}

/** Runner timing. */
export interface RunnerOptions {
  /** How often the metrics file is read, ms. */
  pollMs: number;
  /** Time between SIGTERM and SIGKILL when stopping a trial, ms. */
  graceMs: number;
}

/** Sends a signal to a whole process group; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group has ended.
  }
}

/**
 * Pids of processes whose environment names this trial's metrics file. This finds a trial even
 * when the server died between recording the trial's intent and its pid (Linux only: elsewhere
 * the recorded pid is all there is, and this returns undefined).
 */
export function processesOfTrial(metricsFile: string): number[] | undefined {
  // As bytes: the kernel holds the environment as execve got it, UTF-8 from Node. Read as latin1,
  // a path that is not ASCII (/home/josé) never matched, and its trial's processes were not found.
  const marker = Buffer.from(`CLOUD_ML_HP_METRIC_FILE=${metricsFile}\u0000`);
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return undefined;
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join("/proc", entry, "environ")).includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** Ends (SIGKILL) each process, and the group it leads if it leads one; one already gone is fine. */
export function killProcesses(pids: number[]): void {
  for (const pid of pids) {
    killGroup(pid, "SIGKILL");
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // Already gone (or it led its group and went with it).
    }
  }
}

/** The last `lines` lines of a file (reading only its tail). */
export function tailOf(path: string, lines = 8, bytes = 4096): string {
  try {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString("utf8").trimEnd().split("\n").slice(-lines).join("\n");
    } finally {
      closeSync(fd);
    }
  } catch {
    return "";
  }
}

/**
 * Signals whose default action ends a process: a command's status of 128 + one of these is read
 * as that signal. Others (STOP, CONT, CHLD...) are not re-raised, which would stop or ignore the
 * shell, and their statuses stay exit codes. (A command that exits 130 by choice reads as SIGINT:
 * a shell's status cannot tell them apart.)
 */
const TERMINATING_SIGNALS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM"] as const;

function terminatingStatuses(): number[] {
  return TERMINATING_SIGNALS.map((name) => 128 + osConstants.signals[name]);
}

/** The file in a trial's folder where its command's exit status is written when it ends. */
export const EXIT_STATUS_FILE = "exit.status";

/**
 * Runs the trial's command (`"$@"`) and writes its exit status to `$0` (the trial's
 * EXIT_STATUS_FILE) when it ends, then ends the same way. The status outlives a server killed
 * while the trial ran, so the next server records a trial that finished meanwhile instead of
 * running it again. TERM, INT and HUP are caught (not ignored, which the command would inherit)
 * so the shell outlives a stop's SIGTERM and records how the command ended; a command ended by a
 * signal (status 128 + n) has the shell end by that signal too, so the runner sees it as before.
 */
const RECORDING_SHELL = [
  "trap : TERM INT HUP",
  '"$@"',
  "status=$?",
  'printf "%s\\n" "$status" > "$0.tmp" && mv -f "$0.tmp" "$0"',
  `case "$status" in ${terminatingStatuses().join("|")}) trap - TERM INT HUP; kill -s "$(kill -l "$status")" $$;; esac`,
  'exit "$status"',
].join("\n");

/** The file in a trial's folder that keeps why the backend stopped it (a StopReason), written before the stop is sent. */
export const STOP_REASON_FILE = "stop.reason";

/** Why the backend stopped the trial, as its folder keeps it, if it did. */
export function readStopReason(trialDir: string): StopReason | undefined {
  try {
    const text = readFileSync(join(trialDir, STOP_REASON_FILE), "utf8").trim();
    return STOP_REASONS.find((r) => r === text);
  } catch {
    return undefined;
  }
}

/**
 * Whether the trial's command has ended, as its folder shows it: its shell writes the status to
 * `<EXIT_STATUS_FILE>.tmp` first, with builtins, the moment the command ends, and renames it into
 * place after, with `mv`, a process of its own that takes milliseconds (more on a busy machine).
 */
function commandEnded(trialDir: string): boolean {
  return existsSync(join(trialDir, EXIT_STATUS_FILE)) || existsSync(join(trialDir, `${EXIT_STATUS_FILE}.tmp`));
}

/** What a recorded exit status says, or undefined when there is none (the trial has not ended, or was killed with its shell). */
export function readExitStatus(trialDir: string): { code: number | null; signal: string | null; endedAt: number } | undefined {
  const path = join(trialDir, EXIT_STATUS_FILE);
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
  if (!/^\d+$/.test(text)) return undefined;
  const status = Number(text);
  const endedAt = statSync(path).mtimeMs;
  const signal = TERMINATING_SIGNALS.find((name) => 128 + osConstants.signals[name] === status);
  return signal ? { code: null, signal, endedAt } : { code: status, signal: null, endedAt };
}

/**
 * Why `program` cannot be started from `cwd` with `env`'s PATH, or undefined when it can. The
 * shell that records the exit status would start either way, so a missing program is found
 * here, as a spawn error, rather than as the shell's exit 127.
 */
function unstartable(program: string, cwd: string, env: Record<string, string>): string | undefined {
  const candidates = program.includes("/") ? [resolve(cwd, program)] : (env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(isAbsolute(dir) ? dir : resolve(cwd, dir), program));
  let found = false;
  for (const candidate of candidates) {
    try {
      if (!statSync(candidate).isFile()) continue;
      found = true;
      accessSync(candidate, constants.X_OK);
      return undefined;
    } catch {
      // Not here, or not executable.
    }
  }
  // As spawn says it: EACCES for a file that is there but not executable.
  return `spawn ${program} ${found ? "EACCES" : "ENOENT"}`;
}

/**
 * Runs `write`, a write into a trial's folder after its start, unless that folder is gone: a
 * trainer may delete it (it holds AIP_MODEL_DIR and AIP_CHECKPOINT_DIR, and a clean-up of their
 * parent takes it). Thrown from a poll or the exit handler, the ENOENT ended the server, and the
 * next server, which ran the trial again, the same way. Other errors (a full disk) still throw.
 */
function unlessFolderGone(write: () => void): void {
  try {
    write();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** One running trial. */
export class TrialProcess {
  private child?: ChildProcess;
  /** The trial's process group: its shell's pid, spawned here or found by `attach`. */
  private pgid?: number;
  private poll?: NodeJS.Timeout;
  private kill?: NodeJS.Timeout;
  private stopReason?: StopReason;
  private nonFinite?: { step: string; value: number };
  private ended = false;
  private readonly reader: MetricsReader;
  /**
   * The trial's start on performance.now()'s clock, which setting the time of day does not move:
   * its timeout counts the time it ran (a clock set forward timed out every running trial).
   */
  private readonly startedAtMonotonic: number;

  /** @param startedAt when the trial started (epoch ms): now for `start`, the trial's start for `attach` */
  constructor(
    readonly dir: string,
    private readonly command: TrialCommand,
    metricId: string,
    private readonly timeoutMs: number | undefined,
    private readonly hooks: TrialHooks,
    private readonly options: RunnerOptions,
    readonly startedAt = Date.now(),
  ) {
    this.reader = new MetricsReader(command.metricsFile, metricId, this.startedAt);
    this.startedAtMonotonic = performance.now() - (Date.now() - this.startedAt);
  }

  /** Appends a line to the trial's own log (`trial.log`); none once the trial's folder is gone. */
  note(text: string): void {
    unlessFolderGone(() => appendFileSync(join(this.dir, "trial.log"), `${new Date().toISOString()} ${text}\n`));
  }

  /** Spawns the process; returns its pid (= its process group id), or undefined when the spawn failed. */
  start(cwd: string): number | undefined {
    mkdirSync(this.dir, { recursive: true });
    mkdirSync(this.command.env.AIP_MODEL_DIR, { recursive: true });
    this.note(`command: ${JSON.stringify(this.command.argv)} (cwd ${cwd})`);
    // Names only, so that a trainer missing one of them can be told why; never the values.
    if (this.command.withheld.length) {
      this.note(`not passed from the server's environment (credentials; give a trainer what it needs in the study's trial.env): ${this.command.withheld.join(", ")}`);
    }
    const missing = unstartable(this.command.argv[0]!, cwd, this.command.env);
    if (missing) {
      // After start returns, as a spawn's own error event comes: the owner records the process first.
      setImmediate(() => this.finish(null, null, missing));
      return undefined;
    }
    const out = openSync(join(this.dir, "stdout.log"), "a");
    const err = openSync(join(this.dir, "stderr.log"), "a");
    try {
      this.child = spawn("/bin/sh", ["-c", RECORDING_SHELL, join(this.dir, EXIT_STATUS_FILE), ...this.command.argv], {
        cwd,
        env: this.command.env,
        detached: true,
        stdio: ["ignore", out, err],
      });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.child.on("error", (error) => this.finish(null, null, error.message));
    this.child.on("exit", (code, signal) => this.finish(code, signal));
    // The server must be able to exit while trials run: the journal, not the event loop, owns them.
    this.child.unref();
    this.pgid = this.child.pid;
    this.follow();
    return this.child.pid;
  }

  /**
   * Follows a trial a server that died left running (its process group `pgid`), or records one
   * that ended meanwhile (no `pgid`: its group id may have been reused since): it is no child of
   * this process, so its end is seen on the polls, by its exit status in its folder (or, when it
   * was killed with its shell, by its group's leader being gone).
   */
  attach(pgid: number | undefined, stopReason?: StopReason): void {
    this.pgid = pgid;
    this.note(`followed by a new server (process group ${pgid ?? "none: it has ended"})`);
    // A stop the last server began: carried on while the trial runs, or only its reason kept.
    if (stopReason) {
      // The reason first: the last server sent this stop, so it stands even if the command ends
      // just now (stop leaves alone only a command that ended before any stop).
      this.stopReason = stopReason;
      if (pgid !== undefined) this.stop(stopReason);
    }
    this.follow((deadline) => {
      const status = readExitStatus(this.dir);
      if (status) {
        // Ended while no server ran: past its deadline then, it would have been stopped.
        if (deadline !== undefined && status.endedAt >= deadline) this.stopReason ??= "timeout";
        this.finish(status.code, status.signal);
      } else if (pgid === undefined || !isAlive(pgid)) {
        this.finish(null, "SIGKILL");
      }
    });
  }

  /** Whether the trial has run its timeout's length, counted on the monotonic clock (startedAtMonotonic). */
  private ranPastTimeout(): boolean {
    return this.timeoutMs !== undefined && performance.now() - this.startedAtMonotonic >= this.timeoutMs;
  }

  /**
   * Reads the metrics on every poll, `check`s for the end of an attached trial, and checks the
   * timeout (on the poll, not by a timer of its own: Node's timers fire at once for delays past
   * 2^31 - 1 ms, 24.8 days, which scheduling.timeout may exceed).
   */
  private follow(check?: (deadline: number | undefined) => void): void {
    // A time of day, for `check`: an attached trial's end, read from its folder, is one.
    const deadline = this.timeoutMs === undefined ? undefined : this.startedAt + this.timeoutMs;
    this.poll = setInterval(() => {
      this.look();
      check?.(deadline);
      if (!this.ended && !this.stopping && this.ranPastTimeout()) this.stop("timeout");
    }, this.options.pollMs);
  }

  /** The process has exited (its metrics file is being read one last time, or was). */
  get exited(): boolean {
    return this.ended;
  }

  /** True once the backend asked the trial to stop. */
  get stopping(): boolean {
    return this.stopReason !== undefined;
  }

  /**
   * Ends the trial's process group: SIGTERM, then SIGKILL after the grace period. The first reason
   * wins; a command that has already ended is left to its end.
   */
  stop(reason: StopReason): void {
    if (this.ended || this.pgid === undefined) return;
    // A command that has ended on its own (its shell is recording the status or has, and this
    // process has not handled the exit yet) is not stopped: its end stands. Else a trial that
    // finished as a cancel, a shutdown or its deadline came would be recorded cancelled,
    // interrupted (and run again) or timed out, its result lost. Vertex's cancel is best effort
    // the same way.
    if (this.stopReason === undefined && commandEnded(this.dir)) return;
    // Kept in the folder first: a server that dies before the trial ends leaves the next one the reason.
    if (this.stopReason === undefined) unlessFolderGone(() => writeFileSync(join(this.dir, STOP_REASON_FILE), `${reason}\n`));
    this.stopReason ??= reason;
    const pgid = this.pgid;
    killGroup(pgid, "SIGTERM");
    this.kill ??= setTimeout(() => killGroup(pgid, "SIGKILL"), this.options.graceMs);
  }

  /**
   * Stops following the trial and leaves it running, its end unrecorded: the next server attaches
   * to it again (see JobScheduler.hold). A stop begun meanwhile stays in its folder, for that
   * server to carry on.
   */
  release(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.poll);
    clearTimeout(this.kill);
    try {
      this.note("left running for the next server");
    } catch {
      // The disk full (a server whose start failed on it lets its trials go): thrown, the note
      // kept the trials after it followed, and the server its lock, its process from exiting.
    }
  }

  /** Reads the metrics file and hands on what is new. */
  private look(final = false): void {
    const update = this.reader.read(final);
    for (const line of update.malformed) this.note(`skipped a malformed metrics line: ${line.slice(0, 200)}`);
    this.nonFinite ??= update.nonFinite[0];
    if (update.measurements.length) this.hooks.onMeasurements(update.measurements);
  }

  private finish(code: number | null, signal: string | null, spawnError?: string): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.poll);
    clearTimeout(this.kill);
    // The leader is gone; end whatever it left behind, as a container's end would: in its group,
    // and outside it (a daemon the trainer started with setsid), by the trial's marker, which only
    // recovery used to look for: such a process outlived its trial for good.
    if (this.pgid !== undefined) killGroup(this.pgid, "SIGKILL");
    killProcesses(processesOfTrial(this.command.metricsFile) ?? []);
    this.look(true);
    this.note(spawnError ? `spawn failed: ${spawnError}` : `exited: code ${code} signal ${signal}${this.stopReason ? ` (stopped: ${this.stopReason})` : ""}`);
    this.hooks.onExit({
      code,
      signal,
      stopReason: this.stopReason,
      spawnError,
      nonFinite: this.nonFinite,
      tags: [...this.reader.tags],
      unreadable: this.reader.unreadable,
      malformed: this.reader.firstMalformed,
      stderrTail: tailOf(join(this.dir, "stderr.log")),
    });
  }
}
