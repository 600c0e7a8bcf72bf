"""The trial store: an embedded SQLite database that makes a sweep durable.

Every trial is written when it is proposed (``running``) and updated the moment
its result arrives, each change in its own transaction (WAL mode, so readers such
as ``python -m hpo_sweeper report`` never block the sweep). The store also keeps
the search space, the sweeper settings and the optimiser's seed, so a rerun of
the same command resumes the sweep exactly.

One sweep process at a time: the store is guarded by an exclusive advisory lock
(``flock`` on ``<store>.lock``), held while the sweep runs and released by the
operating system even when the process is killed. A second sweeper pointed at
the same store refuses to start; it never interleaves writes with the first.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["SCHEMA_VERSION", "StoreError", "TrialStore", "load_trials"]

#: Bumped when the layout changes; a store from a newer version is refused.
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trials (
    number INTEGER PRIMARY KEY,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    value REAL,
    error TEXT,
    started_at REAL,
    duration_s REAL,
    job_dir TEXT,
    proposed_at REAL NOT NULL
);
"""


class StoreError(HpoSweeperError, RuntimeError):
    """The store cannot be used as asked; nothing in it was changed."""


class TrialStore(TrialLog):
    """A ``TrialLog`` persisted in SQLite. Use as a context manager (holds the lock)."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock_file: Any = None
        self._conn: sqlite3.Connection | None = None
        super().__init__()

    # --- opening --------------------------------------------------------------------------------

    def open(self) -> TrialStore:
        if self.readonly:
            if not self.path.exists():
                raise StoreError(f"no trial store at {self.path}")
            self._conn = self._connect(f"file:{self.path}?mode=ro", uri=True)
        else:
            self._check_writable()
            self._acquire_lock()
            self._conn = self._connect(str(self.path))
            try:
                self._conn.execute("PRAGMA journal_mode=WAL")
                with self._conn:
                    self._conn.executescript(_SCHEMA)
            except sqlite3.DatabaseError as e:
                self.close()
                raise self._corrupt(e) from None
        self._check_version()
        self._trials = {t.number: t for t in self._read_trials()}
        return self

    def __enter__(self) -> TrialStore:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _connect(self, target: str, uri: bool = False) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, uri=uri, timeout=10.0, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
            return conn
        except sqlite3.DatabaseError as e:
            raise self._corrupt(e) from None

    def _check_writable(self) -> None:
        folder = self.path.parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise StoreError(f"cannot create the folder of the trial store {self.path}: {e.strerror}") from None
        if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise StoreError(
                f"the trial store {self.path} is not writable (read-only sweep dir?); "
                "set hydra.sweeper.storage to a writable path"
            )

    def _acquire_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + ".lock")
        f = open(lock_path, "a+")  # noqa: SIM115 - held for the lifetime of the store
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            owner = f.read().strip() or "unknown"
            f.close()
            raise StoreError(
                f"the trial store {self.path} is in use by another sweep ({owner}); "
                "two sweepers may not share a store: wait for it to finish or use another hydra.sweep.dir"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {os.uname().nodename}")
        f.flush()
        self._lock_file = f

    def _corrupt(self, e: Exception) -> StoreError:
        return StoreError(
            f"the trial store {self.path} cannot be read ({e}): it is corrupt or truncated. "
            "Nothing was changed; move it away to start a new sweep, or restore a copy"
        )

    def _check_version(self) -> None:
        version = self.get_meta("schema_version")
        if version is None:
            if not self.readonly:
                self.set_meta("schema_version", SCHEMA_VERSION)
            return
        if int(version) > SCHEMA_VERSION:
            self.close()
            raise StoreError(
                f"the trial store {self.path} was written by a newer hpo_sweeper (store version {version}, "
                f"this version reads up to {SCHEMA_VERSION}); upgrade hpo_sweeper to resume it"
            )

    # --- meta -----------------------------------------------------------------------------------

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("the trial store is not open")
        return self._conn

    def get_meta(self, key: str) -> Any:
        try:
            row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        except sqlite3.DatabaseError as e:
            raise self._corrupt(e) from None
        return None if row is None else json.loads(row[0])

    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- trials -----------------------------------------------------------------------------

    def next_number(self) -> int:
        # Numbers of removed trials are never reused: their job directories exist.
        used = self.get_meta("max_number")
        return max(super().next_number(), -1 if used is None else int(used) + 1)

    def add(self, trial: Trial) -> None:
        with self._transaction() as c:
            c.execute(
                "INSERT INTO trials (number, params, status, value, error, started_at, duration_s, job_dir, proposed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*self._row(trial), time.time()),
            )
            c.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('max_number', ?)",
                (json.dumps(max(trial.number, self.get_meta("max_number") or -1)),),
            )
        super().add(trial)

    def update(self, trial: Trial) -> None:
        with self._transaction() as c:
            c.execute(
                "UPDATE trials SET params=?, status=?, value=?, error=?, started_at=?, duration_s=?, job_dir=?"
                " WHERE number=?",
                (*self._row(trial)[1:], trial.number),
            )
        super().update(trial)

    def remove(self, number: int) -> None:
        with self._transaction() as c:
            c.execute("DELETE FROM trials WHERE number=?", (number,))
        self._trials.pop(number, None)

    @staticmethod
    def _row(t: Trial) -> tuple[Any, ...]:
        return (
            t.number, json.dumps(t.params), t.status.value, t.value, t.error, t.started_at, t.duration_s, t.job_dir
        )

    def _read_trials(self) -> list[Trial]:
        try:
            rows = self.conn.execute(
                "SELECT number, params, status, value, error, started_at, duration_s, job_dir FROM trials"
                " ORDER BY number"
            ).fetchall()
        except sqlite3.DatabaseError as e:
            raise self._corrupt(e) from None
        return [
            Trial(number=r[0], params=json.loads(r[1]), status=TrialStatus(r[2]), value=r[3], error=r[4],
                  started_at=r[5], duration_s=r[6], job_dir=r[7])
            for r in rows
        ]

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        if self.readonly:
            raise StoreError(f"the trial store {self.path} is open read-only")
        c = self.conn
        try:
            c.execute("BEGIN IMMEDIATE")
            yield c
            c.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            with contextlib.suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            raise StoreError(f"writing to the trial store {self.path} failed: {e}") from None
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                c.execute("ROLLBACK")
            raise


def load_trials(path: str | os.PathLike[str]) -> tuple[list[Trial], Mapping[str, Any]]:
    """Trials and meta of a store, read-only (for reports and warm starts)."""
    store = TrialStore(path, readonly=True).open()
    try:
        meta = {k: json.loads(v) for k, v in store.conn.execute("SELECT key, value FROM meta").fetchall()}
        return list(store), meta
    finally:
        store.close()
