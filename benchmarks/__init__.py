"""Side-by-side benchmarks (run as scripts: ``python benchmarks/vs_torch.py``); not part of the package."""
