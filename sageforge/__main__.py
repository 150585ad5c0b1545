"""``python -m sageforge`` is the ``sageforge`` command."""

from sageforge.cli.main import main

main()
