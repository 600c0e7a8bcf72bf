"""The pruning benchmark (issue 14): pruners on real learning curves, 4 simulated asynchronous workers."""
