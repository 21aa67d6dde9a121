"""The ``gtwidgets`` command. Each module that offers a subcommand registers it.

A module listed in ``_COMMAND_MODULES`` defines ``register_cli(subparsers)``, which adds
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import GtError

_COMMAND_MODULES = ("validation", "inputs", "s3server", "consolidate", "lab")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gtwidgets",
        description="Label data in Jupyter in SageMaker Ground Truth's formats.")
    parser.add_argument("--version", action="version", version=f"gtwidgets {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(f".{name}", __package__)
        except ModuleNotFoundError as e:
            if e.name == f"{__package__}.{name}":
                continue  # not built yet
            raise
        register = getattr(module, "register_cli", None)
        if register is not None:
            register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        if not hasattr(args, "passthrough"):
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.passthrough = list(args.passthrough) + extra  # e.g. options for jupyter lab
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except GtError as e:
        print(f"gtwidgets: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
