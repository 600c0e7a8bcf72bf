"""Each async trial's job config is composed once (hydra_plugins/hpo_sweeper_plugin/_composed.py):
the loop's check composes it with Hydra's real config loader and the launch hands the launcher
that config; a bad override is still refused by name before the trial starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cloudpickle  # what joblib (loky), submitit and Ray pickle a launch's hydra_context with
import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.types import HydraContext, RunMode
from omegaconf import OmegaConf

from hpo_sweeper.settings import SweepConfigError
from hydra_plugins.hpo_sweeper_plugin._composed import ComposedJobs, PrecomposedLoader

CONF = Path(__file__).parent / "async_app"


@pytest.fixture
def hydra_ctx() -> Iterator[tuple[HydraContext, Any]]:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration("config", ["trace_dir=/tmp/t", "hydra/launcher=joblib"], RunMode.MULTIRUN)
        yield HydraContext(config_loader=loader, callbacks=None), master  # type: ignore[arg-type]


def overrides(p: dict[str, Any]) -> list[str]:
    return [f"{k}={v}" for k, v in p.items()]


def test_the_launch_gets_the_config_the_check_composed(hydra_ctx: tuple[HydraContext, Any]) -> None:
    ctx, master = hydra_ctx
    jobs = ComposedJobs(ctx, master, overrides)
    jobs.validate([{"x": 0.25}, {"x": 0.75}])
    launch_ctx = jobs.context_for(["x=0.75"])
    assert isinstance(launch_ctx.config_loader, PrecomposedLoader)
    # It travels to the worker with the launcher: joblib, submitit and Ray pickle the hydra_context with
    # cloudpickle (plain pickle would refuse our config classes once Hydra's plugin scan has run
    # config.py again in this process: see config._stored).
    loader = cloudpickle.loads(cloudpickle.dumps(launch_ctx.config_loader))
    got = loader.load_sweep_config(master, ["x=0.75"])
    fresh = ctx.config_loader.load_sweep_config(master, ["x=0.75"])
    assert got.x == 0.75
    # The very config Hydra's second composition gives, hydra node included (runtime, overrides).
    assert OmegaConf.to_container(got) == OmegaConf.to_container(fresh)
    got.hydra.job.num = 7  # the launcher writes into it: a copy, the next call gets its own
    assert OmegaConf.is_missing(loader.load_sweep_config(master, ["x=0.75"]).hydra.job, "num")
    # Other overrides go to Hydra's loader; a config is handed to one launch only.
    assert loader.load_sweep_config(master, ["x=0.5"]).x == 0.5
    assert jobs.context_for(["x=0.75"]) is ctx


def test_a_bad_override_is_refused_by_name_before_the_launch(hydra_ctx: tuple[HydraContext, Any]) -> None:
    ctx, master = hydra_ctx
    jobs = ComposedJobs(ctx, master, overrides)
    with pytest.raises(SweepConfigError, match=r"cannot be composed with overrides \['no_such_key=1'\]"):
        jobs.validate([{"no_such_key": 1}])


def test_the_launch_context_pickles_after_the_plugin_scan_ran_config_again(hydra_ctx: tuple[HydraContext, Any]
                                                                           ) -> None:
    # Hydra's plugin scan executes config.py again in the module it already is (every job's
    # Plugins set-up does); the nodes the first run stored stay (config._stored), so they hold the
    # first run's classes while the module holds new ones. The launchers' cloudpickle must still send
    # a launch's hydra_context (as it does for every joblib, submitit and Ray job after the first).
    import importlib.util
    import sys

    name = "hydra_plugins.hpo_sweeper_plugin.config"
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None
    spec.loader.exec_module(sys.modules[name])
    ctx, master = hydra_ctx
    jobs = ComposedJobs(ctx, master, overrides)
    jobs.validate([{"x": 0.25}])
    loader = cloudpickle.loads(cloudpickle.dumps(jobs.context_for(["x=0.25"]).config_loader))
    assert loader.load_sweep_config(master, ["x=0.25"]).x == 0.25
