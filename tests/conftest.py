"""Shared helpers of the sweeper's tests: the quadratic test app and the results files."""

from __future__ import annotations

import csv
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
APP_DIR = Path(__file__).resolve().parent / "apps" / "quadratic"
APP_FILE = APP_DIR / "app.py"


def load_app() -> ModuleType:
    """The quadratic test app as a module (its ``task`` is the in-process task function)."""
    name = "hpo_sweeper_tests_quadratic_app"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, APP_FILE)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def _version_base() -> Any:
    from hydra.version import VersionBase

    return VersionBase.instance()


#: Hydra's version base as it was before any test module was imported.
_PRISTINE_VERSION_BASE = _version_base().version_base


@pytest.fixture(autouse=True)
def _pristine_hydra_version_base() -> Any:
    """``@hydra.main(version_base=...)`` (run when a test module imports an app such as
    train.py) and ``initialize(version_base=...)`` set a process-wide version base that
    outlives them: jobs stop changing directory, for one. Hydra's own suites assume the
    1.1 default, so every test starts and ends with the base Hydra started with."""
    _version_base().version_base = _PRISTINE_VERSION_BASE
    yield
    _version_base().version_base = _PRISTINE_VERSION_BASE


# --- results files ------------------------------------------------------------------------------


def read_results(sweep_dir: Path) -> dict[str, Any]:
    return yaml.safe_load((Path(sweep_dir) / "optimization_results.yaml").read_text())


def read_trials(sweep_dir: Path) -> list[dict[str, str]]:
    with open(Path(sweep_dir) / "trials.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def trials_header(sweep_dir: Path) -> list[str]:
    with open(Path(sweep_dir) / "trials.csv", newline="", encoding="utf-8") as f:
        return next(csv.reader(f))


def job_dirs(sweep_dir: Path) -> list[Path]:
    """The job output directories Hydra created under a sweep dir (named by job number)."""
    sweep_dir = Path(sweep_dir)
    if not sweep_dir.exists():
        return []
    return sorted((p for p in sweep_dir.iterdir() if p.is_dir() and p.name.isdigit()), key=lambda p: int(p.name))


# --- running the app ----------------------------------------------------------------------------


def run_app_subprocess(args: list[str], *, script: Path = APP_FILE, timeout: float = 180) -> subprocess.CompletedProcess:
    """``python <script> -m <args>`` from the repository root, as a user would run it."""
    env = dict(os.environ)
    env.pop("HYDRA_FULL_ERROR", None)  # the user-facing message, not a traceback
    env.setdefault("JAX_PLATFORMS", "cpu")
    return subprocess.run(
        [sys.executable, str(script), "-m", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def quadratic_sweep(hydra_sweep_runner: Any, tmp_path: Path) -> Any:
    """Runs the quadratic app in-process through Hydra (``Hydra.multirun``, basic launcher).

    ``run(overrides, task=None, sweep_dir=None, config_name="config", ours=True)`` returns
    ``(sweep_dir, returns)``. The sweep dir (default: a fresh one under tmp_path) is kept,
    so a test can read the results files even after the sweep raised. ``ours=False``
    leaves out the settings only hpo_sweeper's sweepers have (for Hydra's basic sweeper).
    """
    app = load_app()
    counter = iter(range(1_000_000))

    def run(
        overrides: list[str],
        task: Any = None,
        sweep_dir: Path | None = None,
        config_name: str = "config",
        ours: bool = True,
    ) -> tuple[Path, Any]:
        sweep_dir = sweep_dir or tmp_path / f"sweep{next(counter)}"
        settings = ["hydra.sweeper.plots=false"] if ours else []
        runner = hydra_sweep_runner(
            calling_file=str(APP_FILE),
            calling_module=None,
            task_function=task or app.task,
            config_path="conf",
            config_name=config_name,
            overrides=["hydra.job.chdir=false", *settings, *overrides],
            temp_dir=sweep_dir,
        )
        # Not a `with` block: its __exit__ deletes the sweep dir.
        runner.__enter__()
        return sweep_dir, runner.returns

    return run
