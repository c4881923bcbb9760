"""The benchmark: `python -m bench.build` then `python -m bench.run` (see bench/README.md)."""
