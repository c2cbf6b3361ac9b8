"""Side-by-side benchmarks, run from the repository root as modules (``python -m benchmarks.vs_torch``); not part
of the package."""
