"""hydra-nevergrad-sweeper's settings (``NevergradSweeperConf``) -> ours.

Its ``optim`` block (optimizer, budget, num_workers, noisy, maximize, seed,
max_failure_rate), ``parametrization`` (the deprecated alias of ``params``) and its
dict form of a parameter (``{lower, upper, init, step, integer, log}``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hpo_sweeper.compat.base import LAUNCHER_HINT, CompatError, Mapper, Message, pop_block

#: Nevergrad's dict form of a scalar (``ScalarConfigSpec``).
SCALAR_KEYS = {"lower", "upper", "init", "step", "integer", "log"}
#: How far an unbounded Nevergrad scalar reaches here: init -/+ 3 steps (log: init ÷/× step**3),
#: three standard deviations of Nevergrad's first mutations around init.
_REACH = 3


def translate(
    kind: str, settings: Mapping[str, Any], defaults: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Message]]:
    m = Mapper(settings, defaults)
    s = m.settings
    parametrization = s.pop("parametrization", None)
    if parametrization is not None:
        if s.get("params"):
            raise CompatError("both params and parametrization are set: parametrization is the deprecated name "
                              "of params (hydra-nevergrad-sweeper); keep params only")
        m.warn("parametrization is deprecated (as in hydra-nevergrad-sweeper): rename it to params")
        s["params"] = parametrization

    optim = pop_block(s, "optim") or {}
    optimizer = optim.pop("optimizer", None)
    if optimizer is not None:
        m.info(f"Nevergrad's optimizer {optimizer} is not available here: hydra/sweeper={kind} runs in its place")
    for theirs, ours in (("budget", "n_trials"), ("num_workers", "batch_size"), ("seed", "seed"),
                         ("max_failure_rate", "max_failure_rate")):
        value = optim.pop(theirs, None)
        if value is not None:
            m.fill(ours, value, f"optim.{theirs}")
            if theirs == "num_workers":
                m.info(f"optim.num_workers={value!r} sets batch_size, the trials handed to the launcher at once; "
                       f"{LAUNCHER_HINT}")
    maximize = optim.pop("maximize", None)
    if maximize is not None:
        m.fill("direction", "maximize" if maximize else "minimize", "optim.maximize")
    if optim.pop("noisy", False):
        m.warn("optim.noisy=True has no equivalent here (bayes's Gaussian process always estimates the noise): "
               "ignored")
    for key, value in optim.items():
        m.warn(f"optim.{key}={value!r} has no equivalent here: ignored")

    # Nevergrad's scalar form is told apart by its keys (ours always has type or choices), so it is
    # read wherever it appears, with or without an optim block.
    params = s.get("params")
    if isinstance(params, Mapping):
        s["params"] = {name: _param(str(name), spec, m) for name, spec in params.items()}
        converted = [str(k) for k in params if s["params"][k] is not params[k]]
        if converted:
            m.mapped.append(f"params {converted} in Nevergrad's scalar form -> {{type, low, high, log}}")
    m.summary("hydra-nevergrad-sweeper")
    return s, m.messages


def _param(name: str, spec: Any, m: Mapper) -> Any:
    """Nevergrad's scalar dict -> our dict form; every other spelling is the same grammar."""
    if not isinstance(spec, Mapping) or not set(map(str, spec)) <= SCALAR_KEYS:
        return spec
    where = f"parameter '{name}' (Nevergrad's form {dict(spec)})"
    log, integer = bool(spec.get("log", False)), bool(spec.get("integer", False))
    lower, upper, init, step = (spec.get(k) for k in ("lower", "upper", "init", "step"))
    if lower is None or upper is None:
        if init is None:
            raise CompatError(f"{where}: give lower and upper (or init) to bound it")
        if log:
            if init <= 0:
                raise CompatError(f"{where}: a log scalar needs init > 0")
            factor = (step if step is not None else 2.0) ** _REACH
            lower = lower if lower is not None else init / factor
            upper = upper if upper is not None else init * factor
        else:
            reach = (step if step is not None else 1.0) * _REACH
            lower = lower if lower is not None else init - reach
            upper = upper if upper is not None else init + reach
        m.warn(f"{where} has no bounds here: searched in [{lower:.6g}, {upper:.6g}] "
               f"(init {'÷/×' if log else '-/+'} {_REACH} steps); give lower and upper to choose them")
    elif init is not None or step is not None:
        m.info(f"{where}: init and step steer Nevergrad's mutations and have no equivalent here: the whole "
               f"[{lower}, {upper}] is searched")
    if integer:
        lower, upper = math.ceil(lower), math.floor(upper)
    return {"type": "int" if integer else "float", "low": lower, "high": upper, "log": log}
