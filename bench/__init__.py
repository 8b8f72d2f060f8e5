"""Benchmarks: figures and ratios against named baselines (not tests)."""
