"""Turning a task's return value into the objective (hpo_sweeper.objective)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from omegaconf import OmegaConf

from hpo_sweeper.objective import ObjectiveError, extract_objective


@dataclasses.dataclass
class Metrics:
    loss: float
    accuracy: float = 0.5


@dataclasses.dataclass
class Result:
    metrics: Metrics
    epochs: int = 3


class Attributes:
    def __init__(self) -> None:
        self.val_loss = 0.25
        self.name = "run"

    def method(self) -> float:
        return 1.0


def jax_scalar(v: float):
    jnp = pytest.importorskip("jax.numpy")
    return jnp.asarray(v, dtype=jnp.float32)


NUMBERS = [
    (0.25, None, 0.25),
    (3, None, 3.0),
    (-0.0, None, 0.0),
    (np.float32(0.5), None, 0.5),
    (np.float64(0.125), None, 0.125),
    (np.int64(7), None, 7.0),
    (np.array(0.75), None, 0.75),  # 0-d array
    ({"val_loss": 0.5, "acc": 0.9}, "val_loss", 0.5),
    ({"metrics": {"val": {"loss": 0.125}}}, "metrics.val.loss", 0.125),
    ({"metrics": {"loss": np.float32(0.5)}}, "metrics.loss", 0.5),
    (OmegaConf.create({"metrics": {"loss": 0.375}}), "metrics.loss", 0.375),
    (Result(Metrics(0.625)), "metrics.loss", 0.625),
    ({"result": Result(Metrics(0.5))}, "result.metrics.accuracy", 0.5),
    (Attributes(), "val_loss", 0.25),
]


@pytest.mark.parametrize("returned, key, expected", NUMBERS, ids=[f"{type(n[0]).__name__}-{n[1]}" for n in NUMBERS])
def test_extracts_number(returned, key, expected) -> None:
    got = extract_objective(returned, key)
    assert type(got) is float and got == expected


def test_jax_scalar() -> None:
    got = extract_objective(jax_scalar(0.5), None)
    assert type(got) is float and got == 0.5
    got = extract_objective({"m": {"loss": jax_scalar(0.25)}}, "m.loss")
    assert type(got) is float and got == 0.25


@pytest.mark.parametrize(
    "returned, key, names",
    [
        ({"val_loss": 1.0, "val_acc": 0.5}, "loss", ["val_acc", "val_loss"]),
        ({"metrics": {"val": {"loss": 1.0}, "train": {}}}, "metrics.test.loss", ["train", "val"]),
        (OmegaConf.create({"metrics": {"loss": 1.0, "acc": 0.5}}), "metrics.los", ["acc", "loss"]),
        (Result(Metrics(0.5)), "metrics.val_loss", ["accuracy", "loss"]),
        (Result(Metrics(0.5)), "scores", ["epochs", "metrics"]),
    ],
)
def test_missing_key_names_the_keys_that_were_there(returned, key, names) -> None:
    with pytest.raises(ObjectiveError) as e:
        extract_objective(returned, key)
    msg = str(e.value)
    assert key in msg and str(names) in msg


def test_lookup_into_a_number_or_method_fails_clearly() -> None:
    with pytest.raises(ObjectiveError, match="cannot look up 'loss'.*float"):
        extract_objective({"metrics": 0.5}, "metrics.loss")
    with pytest.raises(ObjectiveError, match="cannot look up 'method'"):
        extract_objective(Attributes(), "method")


@pytest.mark.parametrize(
    "returned, key",
    [
        (float("nan"), None),
        (float("inf"), None),
        (float("-inf"), None),
        (np.float32("nan"), None),
        (np.array(np.inf), None),
        ({"loss": float("nan")}, "loss"),
        (OmegaConf.create({"loss": float("inf")}), "loss"),
    ],
)
def test_nan_and_inf_raise(returned, key) -> None:
    with pytest.raises(ObjectiveError, match=r"is (nan|inf|-inf)"):
        extract_objective(returned, key)


@pytest.mark.parametrize(
    "returned, key",
    [(True, None), (False, None), ({"ok": True}, "ok"), (np.bool_(True), None), (np.array(False), None)],
)
def test_bool_is_not_a_number(returned, key) -> None:
    # float(True) == 1.0: a task that returns "success" must not be optimised as a value.
    with pytest.raises(ObjectiveError, match="is a bool"):
        extract_objective(returned, key)


def test_jax_bool_is_not_a_number() -> None:
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(ObjectiveError, match="is a bool"):
        extract_objective(jnp.asarray(True), None)


@pytest.mark.parametrize(
    "returned, hint",
    [
        (None, "set hydra.sweeper.objective"),
        ({"val_loss": 0.5, "acc": 0.9}, "keys there: ['acc', 'val_loss']"),
        ([0.5, 0.6], "set hydra.sweeper.objective"),
    ],
)
def test_non_number_without_key_explains_what_to_set(returned, hint) -> None:
    with pytest.raises(ObjectiveError) as e:
        extract_objective(returned, None)
    assert "not a number" in str(e.value) and hint in str(e.value)


@pytest.mark.parametrize(
    "returned, key, message",
    [
        # float("0.5") == 0.5: each of these counted as a result before (issue #11, defect 13)
        ("0.5", None, "the task returned a string '0.5', expected a number (set hydra.sweeper.objective"),
        ("low", None, "the task returned a string 'low', expected a number (set hydra.sweeper.objective"),
        (" 1e-3 ", None, "the task returned a string ' 1e-3 ', expected a number"),
        ("nan", None, "the task returned a string 'nan', expected a number"),
        (b"0.5", None, "the task returned bytes b'0.5', expected a number"),
        (np.str_("0.5"), None, "the task returned a string"),
        (np.array("0.5"), None, "the task returned a string"),
        (np.array("0.5", dtype=object), None, "the task returned a string '0.5'"),
        ({"loss": "0.5"}, "loss", "objective loss is a string '0.5', expected a number"),
        (OmegaConf.create({"m": {"loss": "0.5"}}), "m.loss", "objective m.loss is a string '0.5', expected a number"),
    ],
)
def test_string_is_not_a_number(returned, key, message: str) -> None:
    with pytest.raises(ObjectiveError) as e:
        extract_objective(returned, key)
    assert message in str(e.value)


def test_object_array_holding_a_number_is_that_number() -> None:
    assert extract_objective(np.array(2.5, dtype=object), None) == 2.5


def test_long_return_values_are_shortened_in_the_message() -> None:
    with pytest.raises(ObjectiveError) as e:
        extract_objective("x" * 10_000, None)
    assert len(str(e.value)) < 500


def test_result_is_finite_float() -> None:
    v = extract_objective(np.float16(1.5), None)
    assert type(v) is float and math.isfinite(v) and v == 1.5
