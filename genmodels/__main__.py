"""``python -m genmodels``: the same as the ``genmodels`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
