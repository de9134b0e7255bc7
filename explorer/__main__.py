"""``python -m explorer``: the same entry point as the ``resnet-explorer`` command."""

import sys

from explorer.cli import main

sys.exit(main())
