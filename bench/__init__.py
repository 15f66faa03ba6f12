"""Benchmarks for the coordinator (issue #2). Not tests: they report ratios to in-run baselines."""
