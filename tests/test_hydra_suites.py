"""hydra-core's own launcher and batched-sweeper suites, run with our grid sweeper."""

from __future__ import annotations

import pytest
from hydra.core.plugins import Plugins
from hydra.plugins.sweeper import Sweeper
from hydra.test_utils.launcher_common_tests import BatchedSweeperTestSuite, LauncherTestSuite

from hydra_plugins.hpo_sweeper_plugin.sweepers import BayesSweeper, GridSweeper, RandomSweeper


def test_sweepers_are_discovered() -> None:
    # Hydra loads plugin modules itself, so compare qualified names, not class objects.
    found = {f"{c.__module__}.{c.__name__}" for c in Plugins.instance().discover(Sweeper)}
    ours = {f"{c.__module__}.{c.__name__}" for c in (GridSweeper, RandomSweeper, BayesSweeper)}
    assert ours <= found


@pytest.mark.parametrize(
    "launcher_name, overrides",
    [("basic", ["hydra/sweeper=grid", "hydra.sweeper.batch_size=2"])],
)
class TestGridSweeperWithBasicLauncher(LauncherTestSuite):
    pass


@pytest.mark.parametrize(
    "launcher_name, overrides",
    [("basic", ["hydra/sweeper=grid", "hydra.sweeper.batch_size=2"])],
)
class TestGridSweeperBatches(BatchedSweeperTestSuite):
    pass
