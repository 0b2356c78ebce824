"""The benchmark suites, one module each (``python -m bench --list``)."""
