"""hydra-core's own launcher, batched-sweeper and integration suites, run with our grid
sweeper at its defaults: ``hydra/sweeper=grid`` is all a basic-sweeper user changes."""

from __future__ import annotations

import pytest
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.test_utils.launcher_common_tests import BatchedSweeperTestSuite, IntegrationTestSuite, LauncherTestSuite

from hydra_plugins.hpo_sweeper_plugin.sweepers import BayesSweeper, GridSweeper, RandomSweeper


def test_sweepers_are_discovered() -> None:
    # Hydra loads plugin modules itself, so compare qualified names, not class objects.
    found = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)}
    ours = {f"{c.__module__}.{c.__name__}" for c in (GridSweeper, RandomSweeper, BayesSweeper)}
    assert ours <= found


@pytest.mark.parametrize("launcher_name, overrides", [("basic", ["hydra/sweeper=grid"])])
class TestGridSweeperWithBasicLauncher(LauncherTestSuite):
    pass


# Parametrised as hydra-core parametrises it for its basic sweeper: max_batch_size=2, the basic
# sweeper's own key (our batch_size), since the suite expects 3 batches of 2.
@pytest.mark.parametrize(
    "launcher_name, overrides", [("basic", ["hydra/sweeper=grid", "hydra.sweeper.max_batch_size=2"])]
)
class TestGridSweeperBatches(BatchedSweeperTestSuite):
    pass


@pytest.mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [
        pytest.param(
            {},
            ["-m", "hydra/sweeper=grid", "hydra/launcher=basic", "hydra/hydra_logging=disabled",
             "hydra/job_logging=disabled"],
            id="grid_sweeper_basic_launcher",
        )
    ],
)
class TestGridSweeperIntegration(IntegrationTestSuite):
    pass
