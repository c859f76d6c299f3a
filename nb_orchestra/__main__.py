"""``python -m nb_orchestra`` is the ``nb-orchestra`` command."""

import sys

from .cli import main

sys.exit(main())
