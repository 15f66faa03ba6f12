"""Benchmarks for the coordinator. Not tests: they report ratios to in-run baselines."""
