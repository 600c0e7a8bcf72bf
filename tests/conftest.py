"""Shared helpers of the sweeper's tests: the quadratic test app, the results files, and the Ray and
SLURM clusters the distributed tests run on."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import importlib.util
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
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


# --- clusters shared by the xdist workers: the Ray head and the one-node SLURM cluster -----------


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with open(path, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@contextlib.contextmanager
def _shared_service(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    start: Callable[[Path], dict[str, Any]],
    stop: Callable[[dict[str, Any]], None],
) -> Iterator[dict[str, Any]]:
    """A service started once for the whole run, though each xdist worker asks for it.

    The workers count themselves in and out of a state file under a lock in the run's common
    temp dir: the first one in starts the service, the last one out stops it (at the end of its
    session, so the service lives until no worker can need it any more)."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # common to the workers of one run
    lock, state_file = root / f"{name}.lock", root / f"{name}.json"
    with _file_lock(lock):
        state = json.loads(state_file.read_text()) if state_file.exists() else {"users": 0, "info": None}
        if state["users"] == 0:
            state["info"] = start(root)
        state["users"] += 1
        state_file.write_text(json.dumps(state))
    try:
        yield state["info"]
    finally:
        with _file_lock(lock):
            state = json.loads(state_file.read_text())
            state["users"] -= 1
            if state["users"] == 0:
                stop(state["info"])
            state_file.write_text(json.dumps(state))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: The test Ray cluster: 2 CPUs (this machine's), and 2 GPUs declared as logical resources so that
#: the README's recipe (``num_gpus=1`` per task) runs as written; the tasks themselves use the CPU.
RAY_CPUS, RAY_GPUS = 2, 2


def _start_ray(root: Path) -> dict[str, Any]:
    port = _free_port()
    temp_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    ray = Path(sys.executable).with_name("ray")
    cmd = [str(ray), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
           f"--ray-client-server-port={_free_port()}", f"--num-cpus={RAY_CPUS}", f"--num-gpus={RAY_GPUS}",
           "--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp_dir}"]
    log = open(root / "ray-head.log", "w")
    # Its own session, so that stopping it (by process group) reaches every Ray process it started.
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    address = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while subprocess.run([str(ray), "status", f"--address={address}"], capture_output=True).returncode != 0:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Ray head did not start: {(root / 'ray-head.log').read_text()[-3000:]}")
        time.sleep(1)
    return {"address": address, "pgid": proc.pid, "temp_dir": str(temp_dir)}


def _stop_ray(info: dict[str, Any]) -> None:
    pgid = info["pgid"]
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)  # ProcessLookupError once the whole group is gone
            time.sleep(0.5)
        os.killpg(pgid, signal.SIGKILL)  # some Ray daemons outlive a SIGTERM of `ray start`
    shutil.rmtree(info["temp_dir"], ignore_errors=True)


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A local Ray cluster (``ray start --head`` on 127.0.0.1) for the run; yields its address."""
    with _shared_service(tmp_path_factory, "ray", _start_ray, _stop_ray) as info:
        yield info["address"]


SLURM_SCRIPT = ROOT / "scripts" / "slurm-local.sh"


def _slurm_script(action: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM_SCRIPT), action], capture_output=True, text=True, timeout=900)


def _start_slurm(root: Path) -> dict[str, Any]:
    if _slurm_script("status").returncode == 0:
        return {"started": False}  # someone else's cluster (or one started by hand): leave it running after
    res = _slurm_script("start")
    if res.returncode != 0:
        raise RuntimeError(f"scripts/slurm-local.sh start failed:\n{res.stdout}{res.stderr}")
    return {"started": True}


def _stop_slurm(info: dict[str, Any]) -> None:
    if info["started"]:
        _slurm_script("stop")


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The one-node SLURM cluster of scripts/slurm-local.sh, started for the run when not running."""
    with _shared_service(tmp_path_factory, "slurm", _start_slurm, _stop_slurm):
        yield


def readme_command(launcher: str) -> list[str]:
    """The arguments after ``python train.py -m`` of the README's recipe for ``hydra/launcher=<launcher>``,
    so that a test runs the command the README shows, not a copy of it that could drift."""
    text = (ROOT / "README.md").read_text()
    blocks = [b.split("```", 1)[0] for b in text.split("```bash\n")[1:]]
    # The launcher's recipe in the default (batch) schedule; "Asynchronous sweeps" shows an async one.
    found = [b for b in blocks if f"hydra/launcher={launcher} " in b and "schedule=async" not in b]
    assert len(found) == 1, f"README: expected one recipe with hydra/launcher={launcher}, found {len(found)}"
    args = shlex.split(found[0].replace("\\\n", " "))
    assert args[:3] == ["python", "train.py", "-m"], args
    return args[3:]


def replace_args(args: list[str], changes: dict[str, str | None]) -> list[str]:
    """``args`` with the value of each ``key=...`` in ``changes`` replaced (``None``: removed). Every key
    must be in ``args``: a README recipe that lost one fails the test instead of quietly changing it."""
    keys = {a.split("=", 1)[0] for a in args}
    missing = set(changes) - keys
    assert not missing, f"README recipe lacks {sorted(missing)}: {args}"
    out = []
    for a in args:
        key = a.split("=", 1)[0]
        if key not in changes:
            out.append(a)
        elif changes[key] is not None:
            out.append(f"{key}={changes[key]}")
    return out
