"""``python -m hermitcrab`` and the ``hermitcrab`` console script: see :mod:`hermitcrab._cli`."""

from __future__ import annotations

import sys

__all__ = ("main",)


def main() -> int:
    """Run the ``hermitcrab`` command line with ``sys.argv`` and return its exit status."""
    from hermitcrab._cli import main as cli_main

    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
