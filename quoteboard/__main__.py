"""``python -m quoteboard``: the same as the ``quoteboard`` command."""

import sys

from quoteboard.commands.cli import main

sys.exit(main())
