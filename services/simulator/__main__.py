"""Run the shopper simulator: ``python -m services.simulator --help``."""
from __future__ import annotations

import sys

from services.simulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
