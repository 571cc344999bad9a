"""`kmodel` and `python -m kmodel`: the command line, with Ctrl-C at any moment, even
while the program starts, ending in a line and exit code 1, never a traceback."""

from __future__ import annotations

import sys


def run() -> None:
    """Import and run the command line; an interrupt while it loads ends it quietly."""
    try:
        from kmodel.cli import main

        main()
    except KeyboardInterrupt:
        sys.stderr.write("kmodel: interrupted.\n")
        sys.exit(1)


if __name__ == "__main__":
    run()
