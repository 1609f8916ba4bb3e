"""Bench-only adapter: drives a peer optimizer (Optuna TPE / GPSampler, OSS Vizier GP-UCB-PE) over a
JSON-lines protocol on stdin/stdout, so the objective stays in the TypeScript harness.

    python peers.py <peer> <seed>
    <- {"spec": <Vertex StudySpec>}           first line
    -> {"ready": true, "version": "..."}
    <- {"ask": true}   -> {"params": {...}}   one suggestion (Vertex-style assignment)
    <- {"tell": <value>}                      the objective of the last suggestion
    <- {"record": {"params": {...}, "value": v}}   a finished trial it did not suggest (Optuna only;
                                              perf.ts gives every optimizer the same history)
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def numeric_values(p):
    return sorted(float(v) for v in p["discreteValueSpec"]["values"])


class OptunaPeer:
    """Optuna ask/tell. DISCRETE grids become an integer index (their order matters, as for HPOBench)."""

    def __init__(self, spec, seed, kind):
        import optuna
        from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        self.version = f"optuna-{optuna.__version__}"
        self.params = spec["parameters"]
        self.dists = {}
        for p in self.params:
            log = p.get("scaleType") == "UNIT_LOG_SCALE"
            if "doubleValueSpec" in p:
                d = p["doubleValueSpec"]
                self.dists[p["parameterId"]] = FloatDistribution(float(d["minValue"]), float(d["maxValue"]), log=log)
            elif "integerValueSpec" in p:
                d = p["integerValueSpec"]
                self.dists[p["parameterId"]] = IntDistribution(int(d["minValue"]), int(d["maxValue"]), log=log)
            elif "discreteValueSpec" in p:
                self.dists[p["parameterId"]] = IntDistribution(0, len(p["discreteValueSpec"]["values"]) - 1)
            else:
                self.dists[p["parameterId"]] = CategoricalDistribution(p["categoricalValueSpec"]["values"])
        goal = spec.get("metrics", [{}])[0].get("goal", "MAXIMIZE")
        direction = "minimize" if goal == "MINIMIZE" else "maximize"
        if kind == "optuna-tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.GPSampler(seed=seed)
        self.study = optuna.create_study(direction=direction, sampler=sampler)
        self.trial = None

    def ask(self):
        self.trial = self.study.ask(self.dists)
        out = {}
        for p in self.params:
            v = self.trial.params[p["parameterId"]]
            if "discreteValueSpec" in p:
                v = numeric_values(p)[v]
            out[p["parameterId"]] = v
        return out

    def tell(self, value):
        self.study.tell(self.trial, value)

    def record(self, params, value):
        import optuna

        internal = {}
        for p in self.params:
            v = params[p["parameterId"]]
            if "discreteValueSpec" in p:
                v = numeric_values(p).index(float(v))
            internal[p["parameterId"]] = v
        self.study.add_trial(optuna.trial.create_trial(params=internal, distributions=self.dists, value=value))


class VizierPeer:
    """OSS Vizier's default designer (GP-UCB-PE, what Vertex runs for ALGORITHM_UNSPECIFIED)."""

    def __init__(self, spec, seed):
        import os

        import jax

        # Vizier's GP is written for float64, as in its own tests and benchmarks.
        jax.config.update("jax_enable_x64", True)
        # Its designer pads nothing, so every suggestion traces and compiles its programs for a new
        # number of trials. Keeping XLA's compiled programs on disk lets later studies (other seeds
        # and problems of the same shapes) skip the compile: about a third of a suggestion's time
        # here. It does not change a suggestion: the compiled program is the same either way.
        jax.config.update("jax_compilation_cache_dir", os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache", "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        from vizier import algorithms as vza
        from vizier import pyvizier as vz
        from vizier._src.algorithms.designers import gp_ucb_pe
        import importlib.metadata as md

        self.vz, self.vza = vz, vza
        self.version = f"google-vizier-{md.version('google-vizier')}"
        problem = vz.ProblemStatement()
        root = problem.search_space.root
        scales = {"UNIT_LOG_SCALE": vz.ScaleType.LOG, "UNIT_REVERSE_LOG_SCALE": vz.ScaleType.REVERSE_LOG}
        self.params = spec["parameters"]
        for p in self.params:
            pid = p["parameterId"]
            scale = scales.get(p.get("scaleType"), vz.ScaleType.LINEAR)
            if "doubleValueSpec" in p:
                d = p["doubleValueSpec"]
                root.add_float_param(pid, float(d["minValue"]), float(d["maxValue"]), scale_type=scale)
            elif "integerValueSpec" in p:
                d = p["integerValueSpec"]
                root.add_int_param(pid, int(d["minValue"]), int(d["maxValue"]), scale_type=scale)
            elif "discreteValueSpec" in p:
                root.add_discrete_param(pid, numeric_values(p), scale_type=scale)
            else:
                root.add_categorical_param(pid, p["categoricalValueSpec"]["values"])
        goal = spec.get("metrics", [{}])[0].get("goal", "MAXIMIZE")
        problem.metric_information.append(
            vz.MetricInformation(
                name="objective",
                goal=vz.ObjectiveMetricGoal.MINIMIZE if goal == "MINIMIZE" else vz.ObjectiveMetricGoal.MAXIMIZE,
            )
        )
        self.designer = gp_ucb_pe.VizierGPUCBPEBandit(problem, rng=jax.random.PRNGKey(seed))
        self.count = 0
        self.pending = None

    def ask(self):
        suggestion = self.designer.suggest(1)[0]
        self.count += 1
        self.pending = suggestion.to_trial(self.count)
        out = {}
        for p in self.params:
            v = self.pending.parameters[p["parameterId"]].value
            if "integerValueSpec" in p:
                v = int(v)
            out[p["parameterId"]] = v
        return out

    def tell(self, value):
        self.pending.complete(self.vz.Measurement(metrics={"objective": float(value)}))
        self.designer.update(self.vza.CompletedTrials([self.pending]), self.vza.ActiveTrials())


def main():
    kind, seed = sys.argv[1], int(sys.argv[2])
    spec = json.loads(sys.stdin.readline())["spec"]
    peer = VizierPeer(spec, seed) if kind == "vizier" else OptunaPeer(spec, seed, kind)
    send({"ready": True, "version": peer.version})
    for line in sys.stdin:
        msg = json.loads(line)
        if "ask" in msg:
            send({"params": peer.ask()})
        elif "tell" in msg:
            peer.tell(msg["tell"])
        elif "record" in msg:
            peer.record(msg["record"]["params"], msg["record"]["value"])


if __name__ == "__main__":
    main()
