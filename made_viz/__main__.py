"""`python -m made_viz [--port P] [--class]`: start MADE Explorer, the same as `made-viz app`."""

import sys

from made_viz.cli import main

if __name__ == "__main__":
    sys.exit(main(["app", *sys.argv[1:]], prog="python -m made_viz"))
