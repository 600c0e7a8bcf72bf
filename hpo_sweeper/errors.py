"""The base of every error hpo_sweeper raises for a user to read."""

from __future__ import annotations


class HpoSweeperError(Exception):
    """A problem the user can fix (bad input, a busy store, too many failures).

    The Hydra adapter shows these as a one-paragraph message, without a traceback.
    """
