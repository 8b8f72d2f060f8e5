"""``python -m nssa``: the same as the ``nssa`` command."""

from nssa.cli import main

main()
