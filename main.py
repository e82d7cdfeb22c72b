"""Entry point: `python main.py` opens the window; `python main.py train|sample ...` runs
headless (see `python main.py --help`)."""

import sys

from flowviz.cli import main

if __name__ == "__main__":
    sys.exit(main())
