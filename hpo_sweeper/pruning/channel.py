"""The files through which jobs report intermediate values and read the pruner's settings.

Layout, under the sweep dir (``hydra.sweep.dir``)::

    .hpo_sweeper/pruner.json           written once by the sweeper at start (temp file + rename)
    .hpo_sweeper/reports/<trial>.jsonl  appended by trial <trial>'s job only, one JSON line per event

A report line is ``{"step": 3, "value": 0.52, "time": 1764650000.1}``; a job told to stop adds
``{"pruned": 3, "time": ...}``. ``value`` is NaN (JSON ``NaN``) when the task reported a
non-finite number. A report whose step is not above the file's last step starts the curve again:
the trial was run again after its process died, and only its latest attempt counts (the earlier
lines stay in the file; nothing recorded is ever rewritten). Why files, and which filesystem
semantics they rely on: see :mod:`hpo_sweeper.reporting`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

from hpo_sweeper.direction import Direction
from hpo_sweeper.errors import HpoSweeperError
from hpo_sweeper.pruning.curves import Curve, Report
from hpo_sweeper.pruning.settings import PrunerSettings
from hpo_sweeper.validation import SettingError, check_text

__all__ = [
    "ChannelConfig", "ChannelError", "CurveReader", "append_pruned", "append_report", "pruner_path",
    "read_curves", "read_pruner_file", "report_path", "write_pruner_file",
]

CHANNEL_DIR = Path(".hpo_sweeper")
PRUNER_FILE = CHANNEL_DIR / "pruner.json"
REPORTS_DIR = CHANNEL_DIR / "reports"
FORMAT_VERSION = 1


class ChannelError(HpoSweeperError, RuntimeError):
    """The pruner file is unreadable or not one this version wrote."""


@dataclasses.dataclass(frozen=True)
class ChannelConfig:
    """What a job needs to report and to decide: the pruner, the direction, the objective key."""

    pruner: PrunerSettings
    direction: Direction = Direction.MINIMIZE
    objective: str | None = None

    def __post_init__(self) -> None:
        # frozen: parse in place, so that "maximize" and Direction.MAXIMIZE make the same config
        object.__setattr__(self, "direction", Direction.parse(self.direction))
        check_text("objective", self.objective, allow_none=True)

    def to_dict(self) -> dict[str, Any]:
        return {"version": FORMAT_VERSION, "pruner": self.pruner.to_dict(), "direction": self.direction.value,
                "objective": self.objective}

    @classmethod
    def from_dict(cls, data: Any, where: str = "pruner.json") -> ChannelConfig:
        if not isinstance(data, dict) or data.get("version") != FORMAT_VERSION:
            raise ChannelError(f"{where} is not a version-{FORMAT_VERSION} pruner file: {data!r:.200}")
        try:
            return cls(PrunerSettings.from_mapping(data.get("pruner")), Direction.parse(data.get("direction")),
                       data.get("objective"))
        except SettingError as e:
            raise ChannelError(f"{where}: {e}") from None


def pruner_path(sweep_dir: str | os.PathLike[str]) -> Path:
    return Path(sweep_dir) / PRUNER_FILE


def report_path(sweep_dir: str | os.PathLike[str], trial: int) -> Path:
    return Path(sweep_dir) / REPORTS_DIR / f"{trial}.jsonl"


def write_pruner_file(sweep_dir: str | os.PathLike[str], config: ChannelConfig) -> Path:
    """Written whole or not at all: a job never reads half a file (temp file, fsync, rename)."""
    path = pruner_path(sweep_dir)
    _safe_dir(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=".pruner.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(config.to_dict(), f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def read_pruner_file(sweep_dir: str | os.PathLike[str]) -> ChannelConfig | None:
    """The sweep's pruner, or None when the sweeper wrote none (no pruning channel)."""
    path = pruner_path(sweep_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ChannelError(f"cannot read {path}: {e.strerror}") from None
    try:
        data = json.loads(text)
    except ValueError as e:
        raise ChannelError(f"{path} is not JSON ({e})") from None
    return ChannelConfig.from_dict(data, str(path))


def append_report(sweep_dir: str | os.PathLike[str], trial: int, step: int, value: float, time: float) -> None:
    _append(report_path(sweep_dir, trial), {"step": step, "value": value, "time": time})


def append_pruned(sweep_dir: str | os.PathLike[str], trial: int, step: int, time: float) -> None:
    _append(report_path(sweep_dir, trial), {"pruned": step, "time": time})


def _append(path: Path, event: dict[str, Any]) -> None:
    """One line, one write(2) on an O_APPEND descriptor, fsynced and closed before returning: a
    reader that opens the file afterwards (close-to-open) sees the whole line or, after a crash
    mid-write, a last line without its newline, which readers leave alone."""
    _safe_dir(path.parent)
    line = (json.dumps(event, allow_nan=True) + "\n").encode("utf-8")
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _fsync_dir(path.parent)  # the new file's name is durable too


class CurveReader:
    """Reads every trial's report file, each time only the bytes appended since the last read."""

    def __init__(self, sweep_dir: str | os.PathLike[str]) -> None:
        self.folder = Path(sweep_dir) / REPORTS_DIR
        self._files: dict[int, _FileState] = {}

    def read(self) -> dict[int, Curve]:
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return {}
        for entry in entries:
            stem, dot, ext = entry.name.partition(".")
            if ext != "jsonl" or not stem.isdigit() or not entry.is_file(follow_symlinks=False):
                continue
            self._files.setdefault(int(stem), _FileState()).update(Path(entry.path))
        return {trial: state.curve() for trial, state in sorted(self._files.items())}


def read_curves(sweep_dir: str | os.PathLike[str]) -> dict[int, Curve]:
    return CurveReader(sweep_dir).read()


class _FileState:
    def __init__(self) -> None:
        self.offset = 0
        self.reports: list[Report] = []
        self.pruned_time: float | None = None

    def update(self, path: Path) -> None:
        try:
            # Opening the file (not a stat of it) is what makes NFS revalidate its size and data.
            with open(path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # a last line without its newline is still being written
        for raw in data[:end].splitlines():
            self._event(raw)
        self.offset += end

    def _event(self, raw: bytes) -> None:
        try:
            event = json.loads(raw)
            time = float(event["time"])
            if "pruned" in event:
                self.pruned_time = time
                return
            step, value = event["step"], float(event["value"])
        except (ValueError, KeyError, TypeError):
            return  # not a line this module wrote: ignore it rather than fail every job's decision
        if not isinstance(step, int) or isinstance(step, bool):
            return
        if self.reports and step <= self.reports[-1].step:
            self.reports, self.pruned_time = [], None  # a new attempt of the trial starts over
        self.reports.append(Report(step, value if math.isfinite(value) else math.nan, time))

    def curve(self) -> Curve:
        return Curve(tuple(self.reports), self.pruned_time)


def _safe_dir(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for d in (folder, folder.parent):
        if d.is_symlink():
            raise OSError(f"{d} is a symbolic link; reports are never written through a link")


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
