"""The direction of an objective, and the one place where "maximize" turns into a sign."""

from __future__ import annotations

from enum import Enum
from typing import Any

from hpo_sweeper.validation import SettingError, check_choice

__all__ = ["Direction"]


class Direction(str, Enum):
    """Engines always minimise; a maximised objective is negated on its way in."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def parse(cls, value: Any, *, name: str = "direction", error: type[Exception] = SettingError) -> Direction:
        if isinstance(value, Direction):
            return value
        return cls(check_choice(name, value, [d.value for d in cls], error=error))

    @property
    def sign(self) -> float:
        """+1 to minimise, -1 to maximise: ``sign * value`` is the value to minimise."""
        return 1.0 if self is Direction.MINIMIZE else -1.0

    def to_minimize(self, value: float) -> float:
        return self.sign * value

    def better(self, a: float, b: float) -> bool:
        """Whether ``a`` is strictly better than ``b``."""
        return self.to_minimize(a) < self.to_minimize(b)
