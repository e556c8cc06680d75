"""`made-viz app`: serve the classroom app from the installed package."""

from __future__ import annotations

import argparse


def cmd_app(args: argparse.Namespace) -> int:
    """Start the app from the installed package (`made_viz.launch`): warm up, print the URL, serve until Ctrl-C."""
    from .. import launch

    launch.serve(port=launch.DEFAULT_PORT if args.port is None else args.port, class_mode=args.class_mode)
    return 0
