"""Heavy engines load only when chosen, so --help and plugin discovery stay fast."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
Plugins.instance().discover(Sweeper)                      # Hydra's plugin scan
import hpo_sweeper
from hpo_sweeper import SearchSpace, create_optimizer
space = SearchSpace.from_config({"x": "interval(0, 1)", "c": "choice(a, b)"})
for kind in ("grid", "random"):
    opt = create_optimizer(kind, space, seed=0)
    opt.tell(opt.ask(2), [1.0, 2.0])
print(sorted(m for m in ("jax", "skopt", "sklearn", "matplotlib", "scipy.optimize") if m in sys.modules))
"""


def test_plugin_discovery_and_grid_random_import_no_heavy_module() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_skopt_backend_does_not_import_jax() -> None:
    probe = PROBE.replace('("grid", "random")', '("grid",)') + """
opt = create_optimizer("bayes", space, seed=0, backend="skopt", n_initial_points=2)
opt.tell(opt.ask(2), [1.0, 2.0])
opt.ask(1)
print("jax" in sys.modules, "skopt" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False True"


def test_the_sweep_api_imports_no_hydra_and_no_engine_until_a_bayes_optimiser_runs() -> None:
    probe = """
import sys
import hpo_sweeper
from hpo_sweeper import Kind, Parameter, SearchSpace, Sweep
space = SearchSpace((Parameter("x", Kind.FLOAT, low=0.0, high=1.0),), {})
sweep = Sweep(space, "bayes", seed=0, n_initial_points=2, backend="skopt")
print(sorted(m for m in ("hydra", "omegaconf", "jax", "skopt") if m in sys.modules))
Sweep(space, "random", seed=0).optimize(lambda p: p["x"], n_trials=3)
print(sorted(m for m in ("hydra", "omegaconf", "jax", "skopt") if m in sys.modules))
sweep.optimize(lambda p: p["x"], n_trials=3)
print(sorted(m for m in ("hydra", "omegaconf", "jax", "skopt") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines() == ["[]", "[]", "['skopt']"]
