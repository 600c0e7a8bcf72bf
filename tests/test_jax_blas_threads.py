"""``jax_gp.blas_threads``: one BLAS thread inside the block for the library jaxlib calls
(scipy's LP64 OpenBLAS), the previous count after it, numpy's own OpenBLAS left alone."""

from __future__ import annotations

import sys

import pytest

threadpoolctl = pytest.importorskip("threadpoolctl")

from hpo_sweeper.engines.jax_gp import blas_threads  # noqa: E402


def _openblas_threads() -> dict[str, int]:
    return {i["filepath"]: i["num_threads"] for i in threadpoolctl.threadpool_info() if i["internal_api"] == "openblas"}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the limit reads /proc/self/maps (Linux only)")
def test_limit_caps_scipys_openblas_and_restores_it() -> None:
    import scipy.linalg  # noqa: F401  (loads scipy's OpenBLAS, which jaxlib's LAPACK calls use)

    if not blas_threads._controls():
        pytest.fail("no OpenBLAS found although scipy is loaded")
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):  # a known starting point
        before = _openblas_threads()
        with blas_threads.limit(1):
            inside = _openblas_threads()
        after = _openblas_threads()
    lp64 = [p for p in before if "64_" not in p.rsplit("/", 1)[-1]]
    assert lp64, before
    assert all(inside[p] == 1 for p in lp64)
    assert after == before
    # numpy's ILP64 build (``*64_`` symbols) keeps its threads: the user's numpy code is untouched
    for p in set(before) - set(lp64):
        assert inside[p] == before[p]


def test_none_leaves_blas_alone() -> None:
    before = _openblas_threads()
    with blas_threads.limit(None):
        assert _openblas_threads() == before
