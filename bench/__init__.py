"""Benchmarks: each prints its figures beside a reference run and the ratio between them."""
