"""Test harnesses shared by several test packages and the UI benchmarks (never product code)."""
