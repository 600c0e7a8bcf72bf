"""Hydra adapter for hpo_sweeper: ``hydra/sweeper=grid|random|bayes``.

Kept light on purpose: Hydra imports every module here during plugin discovery,
so only dataclasses and Hydra itself are imported at module level; the library
and its engines load when a sweep starts.
"""
