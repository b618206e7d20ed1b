#!/usr/bin/env python3
"""Plot of the convergence benchmark (operator/benches/convergence/, docs/benchmarks.md).

Usage: bench_plot.py target/bench/convergence.json target/bench/convergence.png

One panel per pass and N: Exposures converged over the seconds since the apply started, as a
step curve per phase (raw, raw+, operator until children + status, operator until Ready, and
the raw Deployments becoming available for comparison with Ready).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

CURVES = [
    # (phase, key in the phase's JSON, label, style)
    ("raw", "curve", "raw: children exist (kubectl, {streams} streams)", dict(color="tab:blue")),
    ("raw+", "curve", "raw+: Exposure and children exist (one kubectl)", dict(color="tab:green")),
    ("op", "curve", "operator: children exist, status observed", dict(color="tab:red")),
    ("op", "curve_ready", "operator: Ready", dict(color="tab:red", linestyle="--")),
    ("raw", "curve_available", "raw: Deployment available", dict(color="tab:blue", linestyle=":")),
]


def main(source, target):
    with open(source) as f:
        data = json.load(f)
    phases = data["phases"]
    keys = []
    for p in phases:
        key = (p["pass"], p["n"])
        if key not in keys:
            keys.append(key)
    passes = [k for k in ("base", "storage") if any(p == k for p, _ in keys)]
    sizes = sorted({n for _, n in keys})
    if not keys:
        sys.exit("no phases in " + source)
    fig, axes = plt.subplots(
        len(passes), len(sizes), figsize=(5.5 * len(sizes), 4.2 * len(passes)), squeeze=False
    )
    for row, pass_name in enumerate(passes):
        for col, n in enumerate(sizes):
            ax = axes[row][col]
            if (pass_name, n) not in keys:
                ax.set_visible(False)
                continue
            for phase, key, label, style in CURVES:
                found = [p for p in phases if p["pass"] == pass_name and p["n"] == n and p["phase"] == phase]
                if not found or not found[0].get(key):
                    continue
                times = found[0][key]
                label = label.format(streams=found[0].get("streams", "?"))
                ax.step([0.0] + times, list(range(len(times) + 1)), where="post", label=label, **style)
            ax.set_title(f"{pass_name}{' (one volume each)' if pass_name == 'storage' else ''}, N = {n}")
            ax.set_xlabel("seconds since the apply started")
            ax.set_ylabel("Exposures converged")
            ax.set_ylim(0, n * 1.03)
            ax.set_xlim(left=0)
            ax.grid(True, alpha=0.3)
            ax.legend(fontsize="x-small", loc="lower right")
    meta = data.get("meta", {})
    fig.suptitle(
        f"exposure-operator convergence, Kubernetes {meta.get('kubernetes', '?')}, "
        f"{meta.get('cpus', '?')} CPUs, concurrency {meta.get('concurrency', '?')}",
        fontsize="medium",
    )
    fig.tight_layout()
    fig.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
