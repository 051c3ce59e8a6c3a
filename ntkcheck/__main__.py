"""``python -m ntkcheck``: the same command as the ``ntkcheck`` console script (see ntkcheck.cli)."""
import sys

from ntkcheck.cli import main

sys.exit(main())
