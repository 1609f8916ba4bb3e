"""A stand-in trainer for the local backend's tests: no TensorFlow, the hypertune file by hand.

Flags (all ``--name=value``; tuned parameters arrive the same way):
  --mode=ok|crash|hang|nometric|nan|inf|malformed|tensor   what the trial does (default ok;
                       nometric reports under the tag "other" instead of the study's; tensor
                       reports str() of a TensorFlow tensor, as a trainer passing one would)
  --steps=N            measurements to report (default 3)
  --sleep=S            seconds between measurements (default 0.05)
  --x=Q                the curve's plateau: value at step s is Q * (1 - exp(-s / tau))
  --tau=T              how slowly the curve rises (default 1)
  --nan-below=Q        a trial whose plateau is below Q reports NaN at step 2 (a diverged run)
  --metric=NAME        metric tag (default accuracy)
  --log=PATH           append "start|end <trial> <epoch seconds>" lines (parallelism checks)
  --child=1            start a child process that would outlive a careless kill
  --child=session      the same child in a session (and process group) of its own, as a daemon
                       the trainer starts (setsid) is
  --term=count         on SIGTERM append a line to terms.log next to the metrics file and keep
                       running (a trainer that saves a checkpoint first), instead of ending
  --hold=DIR           after its first measurement, wait until the file DIR/<trial id> exists
                       before the rest: a test decides when the trial may end, not the clock
It writes what it saw (argv, environment) to seen.json next to the metrics file.
"""

import json
import math
import os
import signal
import subprocess
import sys
import time


def flags(argv):
    out = {}
    for arg in argv:
        if arg.startswith("--") and "=" in arg:
            key, value = arg[2:].split("=", 1)
            out[key] = value
    return out


def main():
    f = flags(sys.argv[1:])
    mode = f.get("mode", "ok")
    steps = int(float(f.get("steps", "3")))
    pause = float(f.get("sleep", "0.05"))
    plateau = float(f.get("x", "0.5"))
    tau = float(f.get("tau", "1"))
    tag = f.get("metric", "accuracy")
    trial = os.environ.get("CLOUD_ML_TRIAL_ID", "0")
    path = os.environ.get("CLOUD_ML_HP_METRIC_FILE", "/tmp/hypertune/output.metrics")
    log = f.get("log")

    def note(event):
        if log:
            with open(log, "a") as fh:
                fh.write(f"{event} {trial} {time.time()}\n")

    note("start")

    def stopped(signum, frame):
        # Stopped by the backend (early stop, cancel, timeout): the run still ends here.
        note("end")
        os._exit(128 + signum)

    def counted(signum, frame):
        with open(os.path.join(os.path.dirname(path), "terms.log"), "a") as fh:
            fh.write("SIGTERM\n")

    signal.signal(signal.SIGTERM, counted if f.get("term") == "count" else stopped)
    seen = {
        "argv": sys.argv[1:],
        "env": {k: v for k, v in os.environ.items() if k.startswith(("CLOUD_ML", "AIP_", "OMP_", "TF_NUM", "TEST_"))},
        "cwd": os.getcwd(),
        "pid": os.getpid(),
    }
    if f.get("child") in ("1", "session"):
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=f.get("child") == "session")
        seen["child"] = child.pid
    # Written whole or not at all (a temporary file renamed): tests read it as soon as it exists.
    target = os.path.join(os.path.dirname(path), "seen.json")
    with open(target + ".tmp", "w") as fh:
        json.dump(seen, fh)
    os.replace(target + ".tmp", target)

    if mode == "crash":
        print("about to fail", flush=True)
        print("Traceback: ValueError: the trainer blew up on purpose", file=sys.stderr, flush=True)
        sys.exit(3)
    if mode == "hang":
        time.sleep(600)

    hold = f.get("hold")
    lines = []
    for step in range(1, steps + 1):
        if hold and step == 2:
            while not os.path.exists(os.path.join(hold, trial)):
                time.sleep(0.02)
        time.sleep(pause)
        value = plateau * (1 - math.exp(-step / tau))
        if step == 2 and (mode == "nan" or plateau < float(f.get("nan-below", "-inf"))):
            value = float("nan")
        if step == 2 and mode == "inf":
            value = float("inf")
        entry = {"global_step": str(step), "timestamp": time.time(), "trial": trial}
        entry["other" if mode == "nometric" else tag] = f"tf.Tensor({value}, shape=(), dtype=float32)" if mode == "tensor" else str(value)
        lines.append(json.dumps(entry, sort_keys=True))
        if mode == "malformed" and step == 1:
            lines.append("this is not json")
        lines = lines[-100:]
        # Rewritten whole on every report, as cloudml-hypertune does.
        with open(path, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        print(f"step {step} {tag}={value}", flush=True)
    note("end")


if __name__ == "__main__":
    main()
