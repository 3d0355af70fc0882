"""Throughput and latency harnesses for maaskit (run with ``python -m benchmarks run``).

Speed is measured here as ratios side by side in one run, never asserted in tests.
"""
