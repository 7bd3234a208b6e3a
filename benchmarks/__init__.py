"""Benchmarks: speed measured as ratios against a peer in the same run (not in the test suite)."""
