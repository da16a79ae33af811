"""``python -m nsad``: the command line (same as the ``nsad`` console script)."""

import sys

from nsad.experiments.cli import main

if __name__ == "__main__":
    sys.exit(main())
