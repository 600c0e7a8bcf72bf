"""Mapping the settings of other Hydra sweepers (Optuna, Nevergrad, Ax, basic) to ours.

Each module is one pure function, ``settings -> (settings, messages)``, that knows one
foreign sweeper's keys; ``translate`` runs them all, once, before the sweep is checked.
"""

from __future__ import annotations

from hpo_sweeper.compat.translate import CompatError, Message, Translation, translate

__all__ = ["CompatError", "Message", "Translation", "translate"]
