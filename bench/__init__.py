"""Benchmarks: ``python -m bench <suite>`` (bench/__main__.py). Not shipped with the product."""
