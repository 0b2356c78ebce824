"""Flywheel's capabilities as plain Python: agents call them, tests exercise them directly."""
