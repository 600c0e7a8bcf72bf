"""Multi-objective benchmark: hypervolume against trials on ZDT1, ZDT2 and DTLZ2 (issue #16)."""
