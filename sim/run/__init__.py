"""Running: ensembles, paired arms, executors, results folders (the only writer)."""
