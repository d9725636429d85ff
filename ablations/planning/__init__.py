"""Planning a launch, nothing written: a grid expanded into runs (grid), their states and what to
train (plan), what each costs (cost, model_sizes)."""
