"""Run a function in a forked child under an address-space limit.

A regression that enumerates a billion-element range then fails fast with MemoryError in
the child, instead of exhausting the machine the suite shares. The limit is memory, not
time: no test here asserts how fast anything is (speed is measured in benchmarks/).
"""

from __future__ import annotations

import multiprocessing
import resource
import traceback
import warnings
from collections.abc import Callable
from typing import Any

#: Only a guard against a hang (the child is killed and the test fails); never a timing check.
HANG_GUARD_S = 300


def _address_space_bytes() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _child(conn: Any, fn: Callable[[], Any], extra_mb: int) -> None:
    try:
        limit = _address_space_bytes() + extra_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
        conn.send(("ok", fn()))
    except BaseException as e:
        conn.send(("error", f"{type(e).__name__}: {e}\n{traceback.format_exc()}"))


def within_memory(fn: Callable[[], Any], extra_mb: int = 256) -> Any:
    """``fn()`` computed in a child allowed ``extra_mb`` more address space than it starts with.

    Returns what ``fn`` returns (it must pickle); raises AssertionError when the child fails
    (MemoryError included) or does not finish within the hang guard.
    """
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(child, fn, extra_mb))
    with warnings.catch_warnings():
        # JAX (loaded by other tests in this worker) warns on every fork. The child runs only
        # the pure-Python and numpy code under test, never JAX, so its threads do not matter.
        warnings.filterwarnings("ignore", message=r"os\.fork\(\) was called", category=RuntimeWarning)
        proc.start()
    child.close()
    try:
        if not parent.poll(HANG_GUARD_S):
            raise AssertionError(f"did not finish within {HANG_GUARD_S} s (hang guard)")
        status, payload = parent.recv()
    finally:
        proc.kill()
        proc.join()
    if status != "ok":
        raise AssertionError(f"failed within a {extra_mb} MB memory bound: {payload}")
    return payload
