"""GP engines behind ``BayesOptimizer``; each is imported only when selected."""
