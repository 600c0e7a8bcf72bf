"""Cap OpenBLAS's thread count while the engine runs.

On CPU, jaxlib sends Cholesky and triangular solves to the LAPACK/BLAS that scipy
ships (OpenBLAS, through ``scipy.linalg.cython_lapack``). For the engine's matrices (tens to a
thousand rows) OpenBLAS's worker threads cost more than they
bring, and on a busy machine they are catastrophic: measured
on 2 loaded cores, a suggestion at n=40 took a median 0.8 s with OpenBLAS's default
threads and 0.04 s with one thread. ``limit(k)`` sets the count through OpenBLAS's own
``*_set_num_threads`` (what threadpoolctl does, without the dependency) and restores the
previous value on exit. The count is process-wide while the block runs (OpenBLAS has no
per-call setting that reaches XLA's worker threads), so it is kept as short as one
``suggest``. Linux only (it finds the loaded libraries in /proc/self/maps); elsewhere,
or when no OpenBLAS is loaded, it does nothing.

Why not threadpoolctl (already a dependency, via scikit-optimize)? Measured here
(numpy 2, scipy's OpenBLAS, 2 cores; /tmp script in the engines branch report):
``threadpool_limits(1, user_api="blas")`` costs 1.6 ms per enter and exit (it rescans the
loaded libraries each time) against 4 us here, i.e. ~10 % of a warm 15 ms suggestion;
a cached ``ThreadpoolController().limit`` costs 19 us but caps numpy's separate ILP64
OpenBLAS too, so the user's own numpy threads would lose their threads while the
engine runs. This module limits exactly the library jaxlib calls, at no cost.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["limit"]

_PREFIXES = ("scipy_openblas_", "openblas_")


@functools.lru_cache(maxsize=1)
def _controls() -> tuple[tuple[Any, Any], ...]:
    """(get, set) function pairs of every loaded OpenBLAS."""
    if not sys.platform.startswith("linux"):
        return ()
    # jaxlib takes its LAPACK/BLAS from scipy's Cython bindings: make sure they are loaded.
    for module in ("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack"):
        importlib.import_module(module)

    try:
        with open("/proc/self/maps", encoding="utf-8") as f:
            paths = sorted({line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line})
    except OSError:
        return ()
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_GLOBAL)
        except OSError:
            continue
        # The LP64 interface only: that is scipy's build, which jaxlib calls. numpy's wheels
        # bundle a separate ILP64 OpenBLAS (``*64_`` symbols) that is left alone, so the
        # user's own numpy code keeps its threads even while the engine runs.
        for prefix in _PREFIXES:
            get = getattr(lib, f"{prefix}get_num_threads", None)
            put = getattr(lib, f"{prefix}set_num_threads", None)
            if get is not None and put is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                put.restype, put.argtypes = None, [ctypes.c_int]
                out.append((get, put))
                break
    return tuple(out)


@contextlib.contextmanager
def limit(n_threads: int | None) -> Iterator[None]:
    """Run the block with at most ``n_threads`` OpenBLAS threads (None: leave as is)."""
    if n_threads is None:
        yield
        return
    saved = []
    for get, put in _controls():
        old = get()
        if old > n_threads:
            put(n_threads)
            saved.append((put, old))
    try:
        yield
    finally:
        for put, old in saved:
            put(old)
