"""The jax engine keeps compiled programs in a persistent cache (engine option compilation_cache)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import sys
from hpo_sweeper import SearchSpace, create_optimizer
space = SearchSpace.from_config({"x": "interval(0, 1)"})
opt = create_optimizer("bayes", space, seed=0, backend="jax", n_initial_points=2,
                       engine_options={"compilation_cache": sys.argv[1]})
for _ in range(3):
    ps = opt.ask(1)
    opt.tell(ps, [(p["x"] - 0.3) ** 2 for p in ps])
import jax
print(jax.config.jax_compilation_cache_dir)
"""


def test_compiled_programs_are_cached_on_disk(tmp_path: Path) -> None:
    cache = tmp_path / "jax-cache"
    out = subprocess.run([sys.executable, "-c", PROBE, str(cache)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(cache)
    # The GP fit and the acquisition programs compiled for the first suggestion are now on disk.
    assert len(list(cache.iterdir())) >= 2


def test_cache_can_be_turned_off(tmp_path: Path) -> None:
    probe = PROBE.replace('{"compilation_cache": sys.argv[1]}', '{"compilation_cache": False}')
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] in ("None", "")
