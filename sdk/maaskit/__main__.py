"""``python -m maaskit`` is the ``maaskit`` command."""

import sys

from ._cli import main

if __name__ == "__main__":
    sys.exit(main())
