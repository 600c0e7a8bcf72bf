"""hydra-ax-sweeper's settings (``AxSweeperConf``) -> ours.

Its ``ax_config`` block: max_trials, experiment (name, objective_name, minimize,
constraints, status_quo), early_stop, client (random_seed), is_noisy, and params in
Ax's dict form (``{type: range, bounds: [a, b]}``, ``{type: choice, values}``,
``{type: fixed, value}``). ``max_batch_size`` is shared with the basic sweeper (see basic.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpo_sweeper.compat.base import CompatError, Mapper, Message, pop_block


def translate(
    kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Message]]:
    m = Mapper(settings, defaults)
    s = m.settings
    ax = pop_block(s, "ax_config", nested=("experiment", "early_stop", "client"))
    if ax is None:
        return s, m.messages
    if ax.get("max_trials") is not None:
        m.fill("n_trials", ax.pop("max_trials"), "ax_config.max_trials")

    experiment = ax.pop("experiment", None) or {}
    if experiment.get("name") is not None:
        m.fill("name", str(experiment.pop("name")), "ax_config.experiment.name")
    minimize = experiment.pop("minimize", None)
    if minimize is not None:
        m.fill("direction", "minimize" if minimize else "maximize", "ax_config.experiment.minimize")
    objective_name = experiment.pop("objective_name", "objective")
    if objective_name not in (None, "objective"):
        m.fill("objective", objective_name, "ax_config.experiment.objective_name")
    _warn_left(m, "ax_config.experiment", experiment, lambda v: v is None)

    early = ax.pop("early_stop", None) or {}
    ours = dict(s.get("early_stop") or {})
    epochs = early.pop("max_epochs_without_improvement", None)
    if epochs is not None and ours.get("patience") is None:
        ours["patience"] = epochs
        m.mapped.append(f"ax_config.early_stop.max_epochs_without_improvement={epochs!r} -> early_stop.patience")
        m.info("early_stop.patience counts trials; Ax's max_epochs_without_improvement counted batches of trials")
    epsilon = early.pop("epsilon", None)
    if epsilon is not None and not ours.get("min_delta"):
        ours["min_delta"] = epsilon
        m.mapped.append(f"ax_config.early_stop.epsilon={epsilon!r} -> early_stop.min_delta")
    early_minimize = early.pop("minimize", None)
    if early_minimize is not None and minimize is not None and early_minimize != minimize:
        m.warn("ax_config.early_stop.minimize differs from ax_config.experiment.minimize: early stopping follows "
               "direction here")
    _warn_left(m, "ax_config.early_stop", early, lambda v: False)
    if ours:
        s["early_stop"] = ours

    client = ax.pop("client", None) or {}
    if client.get("random_seed") is not None:
        m.fill("seed", client.pop("random_seed"), "ax_config.client.random_seed")
    client.pop("random_seed", None)
    _warn_left(m, "ax_config.client", client, lambda v: v in (None, False))

    if ax.pop("is_noisy", True) is False:
        m.info("ax_config.is_noisy=False has no equivalent here (bayes's Gaussian process estimates the noise): "
               "ignored")
    ax_params = ax.pop("params", None) or {}
    if ax_params:
        own = dict(s.get("params") or {})
        s["params"] = {**{str(k): _param(str(k), v) for k, v in ax_params.items()}, **own}
    _warn_left(m, "ax_config", ax, lambda v: False)
    m.summary("hydra-ax-sweeper")
    return s, m.messages


def _warn_left(m: Mapper, where: str, block: Mapping[str, Any], harmless: Any) -> None:
    for key, value in block.items():
        if not harmless(value):
            m.warn(f"{where}.{key}={value!r} has no equivalent here: ignored")


def _param(name: str, spec: Any) -> Any:
    """Ax's parameter dict -> our dict form (a grammar string passes as it is)."""
    if not isinstance(spec, Mapping) or "type" not in spec or spec["type"] not in ("range", "choice", "fixed"):
        return spec
    where = f"parameter '{name}' (Ax's form {dict(spec)})"
    kind = spec["type"]
    if kind == "fixed":
        if "value" not in spec:
            raise CompatError(f"{where}: a fixed parameter needs value")
        return spec["value"]
    if kind == "choice":
        values = spec.get("values")
        if not isinstance(values, (list, tuple)) or not values:
            raise CompatError(f"{where}: a choice parameter needs a list of values")
        return {"type": "categorical", "choices": list(values)}
    bounds = spec.get("bounds")
    if not isinstance(bounds, (list, tuple)) or len(bounds) != 2:
        raise CompatError(f"{where}: a range parameter needs bounds: [low, high]")
    value_type = spec.get("value_type")
    if value_type is None:  # as Ax infers it: int bounds make an int parameter
        value_type = "int" if all(isinstance(b, int) and not isinstance(b, bool) for b in bounds) else "float"
    if value_type not in ("int", "float"):
        raise CompatError(f"{where}: value_type must be int or float")
    return {"type": value_type, "low": bounds[0], "high": bounds[1], "log": bool(spec.get("log_scale", False))}
