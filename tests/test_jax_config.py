"""``jax_gp.config``: every engine option checked once, each error naming the option."""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("jax")

from hpo_sweeper import OptimizerError
from hpo_sweeper.engines.jax_gp.config import JaxConfig, make_config


def test_defaults_on_cpu() -> None:
    cfg = make_config(seed=3)
    assert isinstance(cfg, JaxConfig)
    assert cfg.dtype == "float64" and cfg.x64 and cfg.device.platform == "cpu"
    assert (cfg.n_restarts, cfg.n_candidates, cfg.n_starts, cfg.acq_steps) == (4, 1024, 16, 100)
    assert cfg.blas_threads == 1 and cfg.output_warping == "half_rank" and cfg.noise_prior == "lognormal"
    with pytest.raises(AttributeError):
        cfg.n_restarts = 5  # type: ignore[misc]  # frozen


def test_seed_is_reduced_to_63_bits() -> None:
    assert make_config(seed=2**64 + 5).seed == (2**64 + 5) % 2**63


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"n_restarts": 0}, "n_restarts"),
        ({"n_candidates": "abc"}, "n_candidates"),
        ({"n_starts": True}, "n_starts"),
        ({"acq_steps": -1}, "acq_steps"),
        ({"full_fit_below": 1.5}, "full_fit_below"),
        ({"max_fit_points": 1}, "max_fit_points"),
        ({"blas_threads": 0}, "blas_threads"),
        ({"refit_growth": 0.5}, "refit_growth"),
        ({"refit_growth": "abc"}, "refit_growth"),
        ({"output_warping": "log"}, "output_warping"),
        ({"noise_prior": "flat"}, "noise_prior"),
        ({"plateau_explore": -1}, "plateau_explore"),
        ({"plateau_explore": 1.5}, "plateau_explore"),
        ({"plateau_xi": -0.5}, "plateau_xi"),
        ({"plateau_xi": float("inf")}, "plateau_xi"),
        ({"plateau_margin": -1}, "plateau_margin"),
        ({"plateau_kappa": "big"}, "plateau_kappa"),
        ({"plateau_kappa": True}, "plateau_kappa"),
        ({"dtype": "float16"}, "dtype"),
        ({"device": 123}, "device"),
        ({"device": "quantum"}, "device"),
        ({"acq_func": "EHVI"}, "EHVI"),
        ({"batch_strategy": "kb"}, "kb"),
    ],
)
def test_bad_option_names_itself(options: dict[str, Any], named: str) -> None:
    with pytest.raises(OptimizerError, match=named):
        make_config(seed=0, **options)


def test_unknown_option_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="n_restart"):
        make_config(seed=0, n_restart=3)  # type: ignore[call-arg]
