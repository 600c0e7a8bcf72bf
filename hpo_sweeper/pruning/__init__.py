"""Pruners: stop bad trials early from the intermediate values they report (median, asha, hyperband).

Pure logic over plain data: the curves of every trial (curves.py) in, a yes/no out. The files a
job reports through are in channel.py; the task-side API is :mod:`hpo_sweeper.reporting`.
"""

from __future__ import annotations

from hpo_sweeper.direction import Direction
from hpo_sweeper.pruning.asha import AshaPruner
from hpo_sweeper.pruning.base import NoPruner, Pruner
from hpo_sweeper.pruning.curves import Curve, Curves, Report
from hpo_sweeper.pruning.hyperband import HyperbandPruner
from hpo_sweeper.pruning.median import MedianPruner
from hpo_sweeper.pruning.model_data import (
    FidelityRow,
    ModelData,
    fidelity_observations,
    model_observations,
    rank_observations,
)
from hpo_sweeper.pruning.settings import PrunerKind, PrunerSettings

__all__ = [
    "AshaPruner", "Curve", "Curves", "FidelityRow", "HyperbandPruner", "MedianPruner", "ModelData", "NoPruner",
    "Pruner", "PrunerKind", "PrunerSettings", "Report", "create_pruner", "fidelity_observations",
    "model_observations", "rank_observations",
]

_PRUNERS: dict[PrunerKind, type[Pruner]] = {
    PrunerKind.NONE: NoPruner,
    PrunerKind.MEDIAN: MedianPruner,
    PrunerKind.ASHA: AshaPruner,
    PrunerKind.HYPERBAND: HyperbandPruner,
}


def create_pruner(settings: PrunerSettings, direction: Direction | str = Direction.MINIMIZE) -> Pruner:
    return _PRUNERS[settings.type](settings, direction)
