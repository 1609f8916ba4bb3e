"""Draws median simple regret vs trials (with the inter-quartile band) per problem from a summary JSON
written by run.ts: one PNG per problem and mode in the output folder."""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    summary = json.load(open(sys.argv[1]))
    out_dir = sys.argv[2]
    tier = summary["plan"]["tier"]
    groups = {}
    for row in summary["rows"]:
        groups.setdefault((row["problem"], row["mode"]), []).append(row)
    for (problem, mode), rows in groups.items():
        fig, ax = plt.subplots(figsize=(6, 4))
        for row in rows:
            xs = range(1, len(row["curve"]) + 1)
            floor = 1e-8
            ax.plot(xs, [max(v, floor) for v in row["curve"]], label=f"{row['optimizer']} ({row['seeds']} seeds)")
            ax.fill_between(xs, [max(v, floor) for v in row["q25Curve"]], [max(v, floor) for v in row["q75Curve"]], alpha=0.2)
        ax.set_yscale("log")
        ax.set_xlabel("trials")
        ax.set_ylabel("simple regret (normalized)" if problem.startswith(("nn-", "nb201-")) else "simple regret")
        ax.set_title(f"{problem} ({mode})")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(f"{out_dir}/{tier}-{problem}-{mode}.png", dpi=90)
        plt.close(fig)


if __name__ == "__main__":
    main()
