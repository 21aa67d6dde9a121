"""The ``gtwidgets`` command. Each module that offers a subcommand registers it.

A module listed in ``_COMMAND_MODULES`` defines ``register_cli(subparsers)``, which adds
its parser(s) and sets ``func`` (called with the parsed args, returning an exit code).
Every error ends the command with one line on standard error, ``gtwidgets: what; what to do``;
``--traceback`` (or ``GTWIDGETS_DEBUG=1``) shows the traceback of an unexpected one instead.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys

from . import __version__
from .errors import GtError

_COMMAND_MODULES = ("inputs", "s3server", "consolidate", "lab")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line that says where the help is."""

    def error(self, message: str):
        self.exit(2, f"gtwidgets: {message}; see `{self.prog} --help`.\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="gtwidgets",
        description="Label data in Jupyter in SageMaker Ground Truth's formats.")
    parser.add_argument("--version", action="version", version=f"gtwidgets {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="on an unexpected error, show the traceback (as GTWIDGETS_DEBUG=1 does)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    _register_validate(sub)
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
    except Exception as e:
        if args.traceback or os.environ.get("GTWIDGETS_DEBUG", "") not in ("", "0"):
            raise
        what = str(e).strip().splitlines()[0] if str(e).strip() else "no message"
        print(f"gtwidgets: {args.command} failed unexpectedly ({type(e).__name__}: {what}); check its inputs, "
              "or re-run with GTWIDGETS_DEBUG=1 (or gtwidgets --traceback) to see the traceback and report it.",
              file=sys.stderr)
        return 1


def _register_validate(subparsers) -> None:
    p = subparsers.add_parser(
        "validate", help="check manifests against Ground Truth's rules",
        description="Check manifest files or s3:// URIs; print every problem as file:line: what; fix. "
                    "Exit 1 when any file has errors (what Ground Truth refuses); warnings (rules Ground "
                    "Truth does not enforce on files it reads) fail only with --strict.")
    p.add_argument("sources", nargs="+", metavar="FILE_OR_URI")
    p.add_argument("--no-warnings", action="store_true", help="print errors only")
    p.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    p.set_defaults(func=_cli_validate)


def _cli_validate(args: argparse.Namespace) -> int:
    from .manifests import validate_manifest

    errors = warnings = 0
    for source in args.sources:
        try:
            problems = validate_manifest(source)
        except GtError as e:
            print(f"{source}: {e}")
            errors += 1
            continue
        for p in problems:
            if p.severity == "error" or not args.no_warnings:
                print(p)
        errors += sum(p.severity == "error" for p in problems)
        warnings += sum(p.severity == "warning" for p in problems)
    files = len(args.sources)
    summary = f"{files} file{'s' * (files != 1)}: {errors} error{'s' * (errors != 1)}, " \
              f"{warnings} warning{'s' * (warnings != 1)}"
    failed = errors or (args.strict and warnings)
    print(("FAILED: " if failed else "OK: ") + summary)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
