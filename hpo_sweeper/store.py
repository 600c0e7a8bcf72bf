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

Nothing is written through a symbolic link: a link planted at the store, its
lock or its SQLite side files is refused. Foreign stores (warm starts, reports)
are opened read-only, only when they are regular files, with a bound on their
size and on the time a query may take (a store whose ``trials`` is a recursive
view would otherwise never answer).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.trials import Trial, TrialLog, TrialStatus

__all__ = ["SCHEMA_VERSION", "StoreError", "TrialStore", "load_trials"]

#: Bumped when the layout changes; a store from a newer version is refused.
SCHEMA_VERSION = 1
#: Bounds for reading a store read-only: far above any real sweep's store
#: (a trial row is well under 1 kB), far below what would exhaust memory or patience.
MAX_READ_BYTES = 2 * 1024**3
MAX_READ_SECONDS = 30.0
MAX_TRIALS = 1_000_000
#: Files SQLite keeps beside the store; a link planted at any of them is refused.
_SIDE_FILES = ("-wal", "-shm", "-journal", ".lock")
#: The tables of a trial store; a database holding any other is another program's.
_OWN_TABLES = frozenset({"meta", "trials", "intermediate"})

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
CREATE TABLE IF NOT EXISTS intermediate (
    trial INTEGER NOT NULL,
    step INTEGER NOT NULL,
    value REAL,
    time REAL NOT NULL,
    PRIMARY KEY (trial, step)
);
"""
#: Added for multi-objective sweeps (a JSON list per trial); a store written before it gains it on open.
_VALUES_COLUMN = "objective_values"
#: Added for constrained sweeps (a JSON mapping key -> value per trial), the same way.
_CONSTRAINTS_COLUMN = "constraint_values"


class StoreError(HpoSweeperError, RuntimeError):
    """The store cannot be used as asked; nothing in it was changed."""


class TrialStore(TrialLog):
    """A ``TrialLog`` persisted in SQLite. Use as a context manager (holds the lock)."""

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._lock_file: Any = None
        self._lock_created = False
        self._conn: sqlite3.Connection | None = None
        super().__init__()

    # --- opening --------------------------------------------------------------------------------

    def open(self) -> TrialStore:
        try:
            if self.readonly:
                self._check_readable()
                self._conn = self._connect(f"file:{self.path}?mode=ro", uri=True)
            else:
                self._check_writable()
                self._acquire_lock()
                self._conn = self._connect(str(self.path))
                try:
                    self._check_not_foreign()  # before the WAL pragma, which rewrites the file's header
                    self._conn.execute("PRAGMA journal_mode=WAL")
                    # FULL, not WAL's usual NORMAL: each commit's WAL frames are fsynced, so a recorded
                    # trial survives a power loss too (NORMAL keeps it through a process crash only).
                    self._conn.execute("PRAGMA synchronous=FULL")
                    with self._conn:
                        self._conn.executescript(_SCHEMA)
                        self._add_values_column()
                        self._add_column(_CONSTRAINTS_COLUMN)
                except sqlite3.DatabaseError as e:
                    raise self._corrupt(e) from None
            self._bound_query_time()
            self._check_version()
            self._replace_all(self._read_trials())
            self.conn.set_progress_handler(None, 0)  # the sweep's own writes are not bounded
        except BaseException:
            self.close(refused=True)
            raise
        return self

    def __enter__(self) -> TrialStore:
        return self.open()

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # A store refused by the caller (a changed space, bad settings) leaves no lock file behind.
        self.close(refused=exc_type is not None and self._created_nothing_else())

    def close(self, refused: bool = False) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._lock_file is not None:
            if refused and self._lock_created:
                with contextlib.suppress(OSError):
                    os.unlink(self._lock_path)  # still locked: no other sweeper holds this inode
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
            self._lock_file.close()
            self._lock_file = None

    def _created_nothing_else(self) -> bool:
        """Whether this run added no trial to the store (only then is its lock file removed)."""
        return self._conn is None or not self._added

    @property
    def _lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _check_readable(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise StoreError(f"no trial store at {self.path}") from None
        except OSError as e:
            raise StoreError(f"cannot read the trial store {self.path}: {e.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise StoreError(f"{self.path} is not a regular file, so not a trial store")
        if st.st_size > MAX_READ_BYTES:
            raise StoreError(
                f"{self.path} has {st.st_size} bytes, more than any trial store ({MAX_READ_BYTES}); not read"
            )

    def _bound_query_time(self) -> None:
        deadline = time.monotonic() + MAX_READ_SECONDS
        # Called every 10,000 virtual-machine steps; a true return interrupts the query.
        self.conn.set_progress_handler(lambda: time.monotonic() > deadline, 10_000)

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
        for p in (self.path, *(self.path.with_name(self.path.name + s) for s in _SIDE_FILES)):
            if p.is_symlink():
                raise StoreError(
                    f"{p} is a symbolic link; the trial store is never written through a link. "
                    "Remove the link, or set hydra.sweeper.storage to the real path"
                )
        if self.path.exists() and not self.path.is_file():
            raise StoreError(f"the trial store {self.path} is a directory or other non-file; "
                             "set hydra.sweeper.storage to a file path such as <dir>/trials.db")
        if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            raise StoreError(
                f"the trial store {self.path} is not writable (read-only sweep dir?); "
                "set hydra.sweeper.storage to a writable path"
            )

    def _acquire_lock(self) -> None:
        lock_path = self._lock_path
        while True:
            created = True
            try:
                fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            except FileExistsError:
                created = False
                try:
                    fd = os.open(lock_path, os.O_RDWR | os.O_NOFOLLOW)
                except FileNotFoundError:
                    continue  # removed between the two opens: try again
                except OSError as e:
                    raise StoreError(f"cannot open the lock file {lock_path}: {e.strerror} "
                                     "(a symbolic link there is refused)") from None
            except OSError as e:
                raise StoreError(f"cannot create the lock file {lock_path}: {e.strerror}") from None
            f = os.fdopen(fd, "r+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = f.read().strip() or "unknown"
                f.close()
                raise StoreError(
                    f"the trial store {self.path} is in use by another sweep ({owner}); "
                    "two sweepers may not share a store: wait for it to finish or use another hydra.sweep.dir"
                ) from None
            # A refused sweep removes the lock file it created: if this is that removed file,
            # the lock guards nothing; lock the one now at the path instead.
            try:
                same = os.fstat(f.fileno()).st_ino == os.lstat(lock_path).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            f.close()
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()} on {os.uname().nodename}")
        f.flush()
        self._lock_file = f
        self._lock_created = created

    def _check_not_foreign(self) -> None:
        """Refuse another program's SQLite database: the sweep must not add its tables to it.

        A trial store holds the tables ``meta`` and ``trials`` only (a new or empty file none)."""
        rows = self.conn.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'"
        ).fetchall()
        foreign = sorted(str(r[0]) for r in rows if r[0] not in _OWN_TABLES)
        if foreign:
            raise StoreError(
                f"{self.path} is an SQLite database that is not a trial store (it holds {', '.join(foreign[:10])}"
                f"{', ...' if len(foreign) > 10 else ''}); nothing was changed. Set hydra.sweeper.storage to a "
                "new file, or leave it null for <sweep dir>/trials.db"
            )

    def _corrupt(self, e: Exception) -> StoreError:
        if str(e) == "interrupted":
            return StoreError(
                f"reading the trial store {self.path} took longer than {MAX_READ_SECONDS:g} s and was stopped "
                "(a tampered or recursive 'trials' table?). Nothing was changed"
            )
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
        if isinstance(version, bool) or not isinstance(version, int):
            raise self._corrupt(ValueError(f"schema_version is {version!r}, not a version number"))
        if version > SCHEMA_VERSION:
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
        if row is None:
            return None
        try:
            return json.loads(row[0])
        except (TypeError, ValueError) as e:
            raise self._corrupt(ValueError(f"meta {key!r} is not JSON: {e}")) from None

    def set_meta(self, key: str, value: Any) -> None:
        with self._transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- trials -----------------------------------------------------------------------------

    def next_number(self) -> int:
        # Numbers of removed trials are never reused: their job directories exist.
        used = self.get_meta("max_number")
        return max(super().next_number(), -1 if used is None else int(used) + 1)

    #: Whether this run added a trial (set by ``add``).
    _added = False

    def add(self, trial: Trial) -> None:
        self._added = True
        with self._transaction() as c:
            c.execute(
                "INSERT INTO trials"
                " (number, params, status, value, error, started_at, duration_s, job_dir, proposed_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*self._row(trial), time.time()),
            )
            self._write_values(c, trial)
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
            self._write_values(c, trial)
        super().update(trial)

    def remove(self, number: int) -> None:
        with self._transaction() as c:
            c.execute("DELETE FROM trials WHERE number=?", (number,))
        super().remove(number)

    def set_intermediate(self, number: int, reports: list[tuple[int, float, float]]) -> None:
        """Replace trial ``number``'s intermediate values (step, value, time), in one transaction."""
        with self._transaction() as c:
            c.execute("DELETE FROM intermediate WHERE trial=?", (number,))
            c.executemany("INSERT INTO intermediate (trial, step, value, time) VALUES (?, ?, ?, ?)",
                          [(number, step, None if value != value else value, at) for step, value, at in reports])
        super().set_intermediate(number, reports)

    def intermediate(self, number: int) -> list[tuple[int, float, float]]:
        try:
            rows = self.conn.execute("SELECT step, value, time FROM intermediate WHERE trial=? ORDER BY step",
                                     (number,)).fetchall()
        except sqlite3.OperationalError:  # a store written before the table existed, opened read-only
            return []
        except sqlite3.DatabaseError as e:
            raise self._corrupt(e) from None
        return [(int(s), float("nan") if v is None else float(v), float(t)) for s, v, t in rows]

    @staticmethod
    def _row(t: Trial) -> tuple[Any, ...]:
        return (
            t.number, json.dumps(t.params), t.status.value, t.value, t.error, t.started_at, t.duration_s, t.job_dir
        )

    def _add_values_column(self) -> None:
        if not self._has_values_column():
            self.conn.execute(f"ALTER TABLE trials ADD COLUMN {_VALUES_COLUMN} TEXT")

    def _has_values_column(self) -> bool:
        return self._has_column(_VALUES_COLUMN)

    def _add_column(self, name: str) -> None:
        if not self._has_column(name):
            self.conn.execute(f"ALTER TABLE trials ADD COLUMN {name} TEXT")

    def _has_column(self, name: str) -> bool:
        return any(r[1] == name for r in self.conn.execute("PRAGMA table_info(trials)").fetchall())

    def _write_values(self, c: sqlite3.Connection, t: Trial) -> None:
        if t.values is not None:  # single-objective trials leave the column empty
            c.execute(f"UPDATE trials SET {_VALUES_COLUMN}=? WHERE number=?", (json.dumps(t.values), t.number))
        if t.constraint_values is not None:  # unconstrained sweeps leave it empty
            c.execute(f"UPDATE trials SET {_CONSTRAINTS_COLUMN}=? WHERE number=?",
                      (json.dumps(t.constraint_values), t.number))

    def _read_json_column(self, column: str, parse: Callable[[Any], Any]) -> dict[int, Any]:
        """``{trial number: parse(json value)}`` of an optional JSON column (absent in an older
        store: empty); a value ``parse`` refuses (ValueError/TypeError) marks the store corrupt."""
        if not self._has_column(column):
            return {}
        out: dict[int, Any] = {}
        for number, text in self.conn.execute(
            f"SELECT number, {column} FROM trials WHERE {column} IS NOT NULL"
        ).fetchmany(MAX_TRIALS + 1):
            try:
                out[int(number)] = parse(json.loads(text))
            except (TypeError, ValueError) as e:
                raise self._corrupt(ValueError(f"trial {number}: {e}")) from None
        return out

    def _read_constraint_values(self) -> dict[int, dict[str, float]]:
        def parse(values: Any) -> dict[str, float]:
            if not isinstance(values, dict):
                raise ValueError(f"constraint values {json.dumps(values)!r} are not a mapping")
            return {str(k): float(v) for k, v in values.items()}
        return self._read_json_column(_CONSTRAINTS_COLUMN, parse)

    def _read_values(self) -> dict[int, list[float]]:
        def parse(values: Any) -> list[float]:
            if not isinstance(values, list):
                raise ValueError(f"objective values {json.dumps(values)!r} are not a list")
            return [float(v) for v in values]
        return self._read_json_column(_VALUES_COLUMN, parse)

    def _read_trials(self) -> list[Trial]:
        # Streamed, without ORDER BY (no sorter filling memory or temp files), and counted:
        # a tampered 'trials' (a recursive view) is stopped by the row count or the time bound.
        try:
            cursor = self.conn.execute(
                "SELECT number, params, status, value, error, started_at, duration_s, job_dir FROM trials"
            )
            rows = cursor.fetchmany(MAX_TRIALS + 1)
        except sqlite3.DatabaseError as e:
            raise self._corrupt(e) from None
        if len(rows) > MAX_TRIALS:
            raise self._corrupt(ValueError(f"more than {MAX_TRIALS} trials"))
        rows.sort(key=lambda r: r[0] if isinstance(r[0], int) else -1)
        vectors = self._read_values()
        constraint_values = self._read_constraint_values()
        out = []
        for r in rows:
            try:
                params = json.loads(r[1])
                if not isinstance(params, dict):
                    raise ValueError(f"params {r[1]!r} are not a mapping")
                status = TrialStatus(r[2])
                numbers = [None if x is None else float(x) for x in (r[3], r[5], r[6])]
                if isinstance(r[0], bool) or not isinstance(r[0], int):
                    raise ValueError(f"number {r[0]!r} is not an integer")
            except (TypeError, ValueError) as e:
                raise self._corrupt(ValueError(f"trial {r[0]}: {e}")) from None
            out.append(Trial(number=int(r[0]), params=params, status=status, value=numbers[0],
                             error=None if r[4] is None else str(r[4]), started_at=numbers[1],
                             duration_s=numbers[2], job_dir=None if r[7] is None else str(r[7]),
                             values=vectors.get(int(r[0])), constraint_values=constraint_values.get(int(r[0]))))
        return out

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
        meta = {}
        try:
            for k, v in store.conn.execute("SELECT key, value FROM meta").fetchall():
                with contextlib.suppress(TypeError, ValueError):
                    meta[str(k)] = json.loads(v)
        except sqlite3.DatabaseError as e:
            raise store._corrupt(e) from None
        return list(store), meta
    finally:
        store.close()
