"""``python -m streams.cli``: the ``flywheel`` command (workers are started this way)."""

import sys

from streams.cli import main

sys.exit(main())
