"""The ASHA preset measured as a user runs it (issue 14, item 5): ``python train.py -m +experiment=asha_mlp``
against the plain ``random_mlp`` preset as it is (20 trials of 15 epochs), on the basic launcher and on
joblib with ``batch_size=4`` (``schedule=async``, as the preset's comment says: a batch would wait for its
longest trial, up to 45 epochs, while the slots of its pruned trials idle): epochs trained (every step any trial ran,
from the report files), wall time of the whole command, and the best val_loss (among trials that ran
their full budget).

    python -m benchmarks.pruning.preset            # 4 real sweeps of train.py, ~5-15 min on 2 busy cores
    python -m benchmarks.pruning.preset --seeds 0 1
    python -m benchmarks.pruning.preset --reverse  # random_mlp first (the first sweep also warms caches)

Prints a Markdown table and writes benchmarks/pruning/preset.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from hpo_sweeper.pruning.channel import read_curves

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
LAUNCHERS = {"basic": [], "joblib, batch_size=4": ["hydra/launcher=joblib", "hydra.sweeper.batch_size=4",
                                                   "hydra.sweeper.schedule=async"]}
PRESETS = {"asha_mlp": ["+experiment=asha_mlp"], "random_mlp": ["+experiment=random_mlp"]}


def one(preset: str, launcher: str, seed: int, where: Path) -> dict[str, Any]:
    sweep_dir = where / f"{preset}-{launcher.split(',')[0]}-{seed}"
    cmd = [sys.executable, "train.py", "-m", *PRESETS[preset], *LAUNCHERS[launcher], f"hydra.sweeper.seed={seed}",
           f"hydra.sweep.dir={sweep_dir}"]
    start = time.perf_counter()
    res = subprocess.run(cmd, cwd=ROOT, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         env={**os.environ, "HYDRA_FULL_ERROR": "0"}, timeout=3600)
    wall = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stdout[-3000:]}")
    summary = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    curves = read_curves(sweep_dir)
    return {"preset": preset, "launcher": launcher, "seed": seed, "wall_s": round(wall, 1),
            "load": [round(x, 1) for x in os.getloadavg()],  # the machine is shared: its 1/5/15-min load at the end
            "epochs": sum(c.reports[-1].step for c in curves.values() if c.reports),
            "best_val_loss": float(summary["best_value"]), "n_trials": len(curves),
            "n_pruned": int(summary.get("n_pruned", 0)), "command": " ".join(cmd[1:-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="*", default=[0])
    parser.add_argument("--reverse", action="store_true",
                        help="random_mlp before asha_mlp (the first sweep of a launcher also warms caches)")
    parser.add_argument("--launchers", nargs="*", default=list(LAUNCHERS), choices=list(LAUNCHERS))
    parser.add_argument("--out", default=str(HERE / "preset.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            for launcher in args.launchers:
                for preset in reversed(PRESETS) if args.reverse else PRESETS:
                    rows.append(one(preset, launcher, seed, Path(tmp)))
                    print(rows[-1], flush=True)
    print("| preset | launcher | seed | trials (pruned) | epochs trained | wall time (s) | best val_loss |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['preset']} | {r['launcher']} | {r['seed']} | {r['n_trials']} ({r['n_pruned']}) | {r['epochs']} "
              f"| {r['wall_s']:.0f} | {r['best_val_loss']:.4f} |")
    Path(args.out).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
