"""Smoke test of the conditional benchmark's second problem (benchmarks/conditional.py, ``mlp``):
train.py's MLP over conf/search_space/optimizer_family.yaml, called in-process, with tiny settings."""

from __future__ import annotations

import json
import math
from pathlib import Path

from benchmarks import conditional as bc
from hpo_sweeper.space import SearchSpace


def test_mlp_problem_runs_ours_and_caches(tmp_path: Path) -> None:
    cache = tmp_path / "evals.jsonl"
    f = bc.MLPObjective(cache, epochs=1)
    space_config = bc.mlp_space_config()
    space = SearchSpace.from_config(space_config)
    assert space.is_forbidden({"optim.name": "sgd", "train.batch_size": 32, "optim.momentum": 0.5})
    best = bc.run_ours("random", space_config, f, seed=0, trials=3)
    assert math.isfinite(best) and best > 0
    rows = [json.loads(line) for line in cache.read_text().splitlines()]
    assert len(rows) == f.n_trained == 3
    for row in rows:  # a key holds only its branch's parameters
        point = json.loads(row["key"])
        assert point["epochs"] == 1
        assert ("optim.beta2" in point) == (point["optim.name"] == "adamw")
        assert ("optim.momentum" in point) == (point["optim.name"] == "sgd")
    assert f.best_ever() == min(r["val_loss"] for r in rows) <= best
    again = bc.MLPObjective(cache, epochs=1)  # a rerun reads the cache: nothing retrained
    assert bc.run_ours("random", space_config, again, seed=0, trials=3) == best and again.n_trained == 0
    table = bc.table("mlp", {"m": [best]}, {"m": 0.0}, f.best_ever())
    assert "median best val_loss" in table[0] and table[2].startswith("| m | ")


def test_mlp_define_by_run_never_proposes_forbidden() -> None:
    import optuna  # in the dev extras for this test
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    seen: list[dict] = []

    def objective(trial: object) -> float:
        p = bc.mlp_optuna(trial)
        seen.append(p)
        return 0.0

    optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0)).optimize(objective, n_trials=20)
    space = SearchSpace.from_config(bc.mlp_space_config())
    for p in seen:
        assert space.validate(p)  # the same tree: active keys only, never sgd with 32
    assert {p["optim.name"] for p in seen} == {"adamw", "sgd"}
