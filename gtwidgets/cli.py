"""The ``gtwidgets`` command: every parser and command function lives here.

The package's modules offer plain functions (``manifests.validate_manifest``,
``inputs.manifest_from_prefix``, ``s3server.serve_forever``, ``consolidate.consolidate_output``,
``lab.run_lab``...); this module turns options into calls and results into lines and exit
codes. Each command group adds its parser in a ``_add_*`` function, which sets ``func``
(called with the parsed args, returning an exit code).
Every error ends the command with one line on standard error, ``gtwidgets: what; what to do``;
``--traceback`` (or ``GTWIDGETS_DEBUG=1``) shows the traceback of an unexpected one instead.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path

import orjson

from . import __version__, inputs, lab, responses, s3server, storage, tasks
from .consolidate import answered_names, consolidate_output
from .errors import GtError, JobError


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
    for add in (_add_validate, _add_manifest, _add_s3, _add_consolidate, _add_lab):
        add(sub)
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


# ---------------------------------------------------------------------------- validate

def _add_validate(subparsers) -> None:
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



# ---------------------------------------------------------------------------- manifest build

def _add_manifest(subparsers) -> None:
    p = subparsers.add_parser("manifest", help="build input manifests")
    sub = p.add_subparsers(dest="manifest_command", metavar="ACTION", required=True)
    b = sub.add_parser("build", help="an input manifest of the images under a folder or S3 prefix",
                       description="List images under PREFIX and write dataset-<YYYYMMDDTHHMMSS>.manifest, "
                                   "like the console's automated data setup.")
    b.add_argument("prefix", metavar="PREFIX", help="folder or s3://bucket/prefix/")
    b.add_argument("--sample", type=_count_or_fraction, help="keep N images (int) or a fraction (e.g. 0.1)")
    b.add_argument("--seed", type=int, help="random seed for --sample")
    b.add_argument("--ext", action="append", metavar=".EXT",
                   help=f"file ending to include (repeatable; default {' '.join(inputs.DEFAULT_EXTENSIONS)})")
    b.add_argument("--out", metavar="DEST", help="folder or S3 prefix to write to (default PREFIX)")
    b.set_defaults(func=_manifest_build)


def _count_or_fraction(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is neither a count nor a fraction") from None


def _manifest_build(args: argparse.Namespace) -> int:
    frame = inputs.manifest_from_prefix(args.prefix, extensions=tuple(args.ext or inputs.DEFAULT_EXTENSIONS),
                                        sample=args.sample, seed=args.seed, dest=args.out)
    print(f"wrote {len(frame):,} lines to {frame.attrs['gtwidgets']['source']}")
    return 0


# ---------------------------------------------------------------------------- s3 serve | stop

def _add_s3(subparsers) -> None:
    """``gtwidgets s3 serve [DIR] [--port N] [--cors-origin URL]`` and ``gtwidgets s3 stop [DIR]``."""
    s3 = subparsers.add_parser("s3", help="a local S3 for people without AWS",
                               description="A local S3-compatible server on 127.0.0.1.")
    s3_sub = s3.add_subparsers(dest="s3_command", metavar="COMMAND")
    s3.set_defaults(func=lambda args: s3.print_help() or 2)
    p = s3_sub.add_parser(
        "serve", help="serve a folder as S3 on 127.0.0.1 until Ctrl+C",
        description="Serve DIR as S3 on 127.0.0.1 (buckets are its sub-folders; data stays "
                    "on disk). Prints the AWS_ENDPOINT_URL to set; Ctrl+C stops it.")
    _add_data_dir(p)
    p.add_argument("--port", type=int, default=None,
                   help=f"port (default: {s3server.DEFAULT_PORT}, or any free port if that is taken)")
    p.add_argument("--cors-origin", metavar="URL", default=None,
                   help="let web pages from this one origin (e.g. http://localhost:8888) call the "
                        "server from a browser; by default no cross-origin request is allowed")
    p.set_defaults(func=_s3_serve)
    stop = s3_sub.add_parser(
        "stop", help="stop the local S3 serving a folder",
        description="Stop the local S3 serving DIR, whoever started it (gtwidgets lab, a notebook's "
                    "ensure_local_s3(), gtwidgets s3 serve). Its data stays on disk.")
    _add_data_dir(stop)
    stop.set_defaults(func=_s3_stop)


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", nargs="?", metavar="DIR", type=Path, default=None,
                        help="data folder (default: $GTWIDGETS_S3_DIR or ~/.gtwidgets/s3)")


def _s3_serve(args: argparse.Namespace) -> int:
    def ready(server: s3server.LocalS3) -> None:
        root = server.data_dir
        print(f"export AWS_ENDPOINT_URL={server.endpoint_url} GTWIDGETS_S3_DIR={root}", flush=True)
        print(f"# local S3 serving {root} (each sub-folder is a bucket; data stays on disk). "
              "Ctrl+C stops it.", flush=True)
        print(f"# gtwidgets signs with the key in {server.key_file}; other tools (aws, boto3) "
              "need it as AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.", flush=True)

    try:
        s3server.serve_forever(args.data_dir, port=args.port, cors_origin=args.cors_origin, on_ready=ready)
    except KeyboardInterrupt:
        print("# local S3 stopped", flush=True)
    return 0


def _s3_stop(args: argparse.Namespace) -> int:
    root = s3server.data_dir_path(args.data_dir)
    if s3server.stop_local_s3(root):
        print(f"local S3 serving {root} stopped; its data stays there.")
    else:
        print(f"no local S3 is serving {root}; nothing to stop.")
    return 0


# ---------------------------------------------------------------------------- consolidate

def _add_consolidate(subparsers) -> None:
    p = subparsers.add_parser(
        "consolidate", help="consolidate a job's worker responses (ours or Ground Truth's) into labels",
        description="Read <job>/annotations/worker-response/ under OUTPUT_PREFIX, consolidate each "
                    "object's answers, and print (or --out) output-manifest lines.")
    p.add_argument("output_prefix", metavar="OUTPUT_PREFIX", help="the job folder, or the output path holding it")
    p.add_argument("--job", help="job name, when OUTPUT_PREFIX holds several jobs")
    p.add_argument("--categories", help="label-category JSON file, or a comma-separated list, in the job's order")
    p.add_argument("--method", choices=["dawid-skene", "majority"], default="dawid-skene")
    p.add_argument("--multi-label", action="store_true", default=None, help="answers are lists of labels")
    p.add_argument("--label-attribute", help="label attribute name (default: the job name)")
    p.add_argument("--batches", choices=["auto", "none"], default="auto",
                   help="auto: per consolidation-request file, else by answer times (default)")
    p.add_argument("--input-manifest", help="the job's input manifest: write a full output manifest in its order")
    p.add_argument("--out", help="file or s3:// URI to write (default: standard output)")
    p.set_defaults(func=_consolidate)


def _consolidate(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True):  # the problems are reported below, once each
        warnings.simplefilter("always")
        answers = responses.read_worker_responses(args.output_prefix, job=args.job, errors="skip")
    problems = list(answers.attrs.get("problems", []))
    job_dir = answers.attrs.get("job_dir", args.output_prefix)
    job_name = str(job_dir).rstrip("/").replace("\\", "/").rsplit("/", 1)[-1]
    categories = _categories(args.categories, answers)
    _check_answers_match(answers, categories, args)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        result, lines = consolidate_output(
            answers, categories, input_manifest=args.input_manifest or None, method=args.method,
            multi_label=args.multi_label, batches=args.batches, label_attribute=args.label_attribute or job_name,
            job_name=job_name, errors="skip")
    problems += result.attrs.get("problems", [])
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    if args.out:
        storage.write_bytes(args.out, body)
        print(f"{result['object_id'].nunique()} objects consolidated -> {args.out}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    for msg in problems:
        print(f"gtwidgets: {msg}", file=sys.stderr)
    return 1 if problems else 0


def _check_answers_match(answers, categories: list[str], args: argparse.Namespace) -> None:
    """Nothing to consolidate is the user's mistake (most often the wrong categories): say which."""
    where = args.output_prefix + (f" (job {args.job})" if args.job else "")
    answered = answered_names(answers)
    if not answered:
        raise JobError(f"{where}: no worker answers found; check the path (it holds "
                       "<job>/annotations/worker-response/) and --job.")
    if not set(answered) & set(categories):
        shown = ", ".join(answered[:10]) + (", ..." if len(answered) > 10 else "")
        raise JobError(f"{where}: no answer is one of --categories {','.join(categories)} (answers use: {shown}); "
                       "pass the job's categories in its order, or its label-category JSON file.")


def _categories(spec: str | None, answers) -> list[str]:
    """--categories: a label-category file, a comma-separated list, or (absent) the answered names."""
    if spec is None:
        names = answered_names(answers)
        print(f"gtwidgets: no --categories given; using the {len(names)} answered names in sorted order "
              "(label indices follow that order; pass the job's label-category file to match it).", file=sys.stderr)
        return names
    if storage.is_s3(spec) or os.path.isfile(spec):
        try:
            return tasks.read_label_categories(orjson.loads(storage.read_bytes(spec)))
        except orjson.JSONDecodeError as e:
            raise JobError(f"{spec}: not JSON ({e}); give a label-category file or a comma-separated list.") from None
    return tasks.check_categories([c.strip() for c in spec.split(",") if c.strip()])


# ---------------------------------------------------------------------------- lab

def _add_lab(subparsers) -> None:
    p = subparsers.add_parser(
        "lab", help="start the local S3 store and open JupyterLab on the fashion capstone",
        description="Start (or reuse) the local S3 store and open JupyterLab on a capstone notebook. "
                    "Other options (e.g. --ServerApp.port=8888) go to jupyter lab.")
    p.add_argument("--notebook", default=lab.DEFAULT_NOTEBOOK, help=f"notebook to open (default {lab.DEFAULT_NOTEBOOK})")
    p.add_argument("--port", type=int, default=0, help="port of the local S3 store (default: reuse or pick one)")
    p.add_argument("--no-browser", action="store_true", help="do not open a web browser")
    p.set_defaults(func=_lab, passthrough=[])  # any other option goes to jupyter lab (see main)


def _lab(args: argparse.Namespace) -> int:
    return lab.run_lab(args.notebook, port=args.port, no_browser=args.no_browser, passthrough=args.passthrough)


if __name__ == "__main__":
    sys.exit(main())
