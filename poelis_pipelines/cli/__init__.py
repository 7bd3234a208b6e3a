"""`poelis-pipelines`: sync, demo, dev, doctor, plan, query, workspaces and fake-api from the command line.

Exit codes: 0 success, 1 the sync failed, 2 bad configuration or input, 128 + the signal's number when Ctrl-C
(130) or SIGTERM (143) stopped it. Errors are one clear line (the full traceback only with `--debug`) and
never contain the API key.
"""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

from poelis_pipelines import __version__, settings
from poelis_pipelines.cli import interrupts
from poelis_pipelines.cli.output import EXIT_CONFIG, Output


class _OneLineErrors(argparse.ArgumentParser):
    """Bad arguments get one line and exit code 2, like every other bad input (argparse prints its usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_CONFIG, f"error: {message} (see {self.prog} --help)\n")


def _add_debug_argument(parser: argparse.ArgumentParser, *, default: object) -> None:
    """`--debug` before or after the command: the command's copy only overrides when given."""
    parser.add_argument(
        "--debug", action="store_true", default=default, help="show full tracebacks on errors"
    )


def _add_insecure_http_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help=f"allow plain http to a non-loopback API host behind a TLS-terminating proxy "
        f"(or ${settings.ENV_ALLOW_INSECURE_HTTP}=1)",
    )


def _add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse-url",
        help=f"SQLAlchemy URL of the warehouse (default: ${settings.ENV_WAREHOUSE_URL}, "
        f"else {settings.DEFAULT_WAREHOUSE_URL})",
    )
    parser.add_argument(
        "--schema",
        help=f"schema for the tables (default: ${settings.ENV_WAREHOUSE_SCHEMA}, "
        f"else {settings.DEFAULT_WAREHOUSE_SCHEMA})",
    )


def _staleness(text: str) -> str:
    """`--max-staleness` as given, once it reads as a duration (a bad one: one line, exit 2)."""
    from poelis_pipelines.incremental import parse_duration

    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _quota_share(text: str) -> float:
    from poelis_pipelines.client import ConfigurationError
    from poelis_pipelines.client.config import resolve_quota_share

    try:
        return resolve_quota_share(float(text))
    except (ValueError, ConfigurationError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a share above 0 and at most 1, e.g. 0.5") from None


def _max_requests(text: str) -> int:
    from poelis_pipelines.client import ConfigurationError
    from poelis_pipelines.client.config import resolve_max_requests

    try:
        budget = resolve_max_requests(int(text))
    except (ValueError, ConfigurationError):
        budget = None
    if budget is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of requests")
    return budget


def build_parser() -> argparse.ArgumentParser:
    from poelis_pipelines.fake_api import cli as fake_api_cli
    from poelis_pipelines.fake_api.dataset import SCALES

    parser = _OneLineErrors(
        prog="poelis-pipelines",
        description="Copy a Poelis organization into your SQL warehouse, through Dagster.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_debug_argument(parser, default=False)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sync_parser = commands.add_parser("sync", help="sync workspaces, products, items and properties")
    sync_parser.add_argument(
        "--workspace",
        action="append",
        dest="workspaces",
        metavar="ID",
        help="sync only this workspace, by id or readable id (repeatable; default: every workspace the key "
        "can see; `poelis-pipelines workspaces` lists them)",
    )
    sync_parser.add_argument(
        "--fresh", action="store_true", help="do not resume an interrupted sync; fetch everything again"
    )
    sync_parser.add_argument(
        "--full",
        action="store_true",
        help="list every item's properties (exact; about one request per item) instead of an incremental "
        "sync (new items, items whose record changed, then the items due under --max-staleness)",
    )
    sync_parser.add_argument(
        "--max-staleness",
        type=_staleness,
        metavar="DURATION",
        help=f"re-list every live item's properties within this bound, e.g. 6h, 2d, 0 (every item due now); "
        f"default: ${settings.ENV_MAX_STALENESS}, else {settings.DEFAULT_MAX_STALENESS}",
    )
    sync_parser.add_argument(
        "--quota-share",
        type=_quota_share,
        metavar="SHARE",
        help=f"part of the API's rate limit to spend, above 0 and at most 1, the rest left to other "
        f"integrations (default: ${settings.ENV_QUOTA_SHARE}, else {settings.DEFAULT_QUOTA_SHARE})",
    )
    sync_parser.add_argument(
        "--max-requests",
        type=_max_requests,
        metavar="N",
        help=f"requests this sync may send; once spent it commits what it fetched and exits 0, the next sync "
        f"continues (default: ${settings.ENV_MAX_REQUESTS}, else no limit)",
    )
    sync_parser.add_argument(
        "--versions",
        choices=settings.VERSIONS_CHOICES,
        help=f"published versions to store: none, each product's baseline, or all (default: "
        f"${settings.ENV_VERSIONS}, else {settings.DEFAULT_VERSIONS}); a stored version is never fetched "
        "again",
    )
    _add_target_arguments(sync_parser)
    _add_insecure_http_argument(sync_parser)

    demo_parser = commands.add_parser(
        "demo", help=f"sync the bundled fake API into its own DuckDB file under {settings.DEMO_DIR}/"
    )
    demo_parser.add_argument(
        "--scale",
        default="small",
        choices=list(SCALES),
        help="size of the fake organization (default: small)",
    )
    demo_parser.add_argument("--seed", type=int, default=0, help="seed of the fake organization")

    doctor_parser = commands.add_parser("doctor", help="check the key, the API and the warehouse")
    _add_target_arguments(doctor_parser)
    _add_insecure_http_argument(doctor_parser)

    workspaces_parser = commands.add_parser("workspaces", help="list the workspaces the key can see")
    _add_insecure_http_argument(workspaces_parser)

    from poelis_pipelines.cli import plan

    plan_parser = commands.add_parser(
        "plan", help="the requests and time a full and an incremental sync need"
    )
    plan.add_arguments(plan_parser)
    _add_target_arguments(plan_parser)
    _add_insecure_http_argument(plan_parser)

    query_parser = commands.add_parser("query", help="run an example query of sql/queries (none: list them)")
    query_parser.add_argument(
        "name", nargs="?", metavar="NAME", help="the query to run (omit it to list them)"
    )
    _add_target_arguments(query_parser)

    from poelis_pipelines.cli import dev

    dev.add_arguments(commands.add_parser("dev", help="the Dagster UI; with no key, on the demo's fake API"))

    fake_parser = commands.add_parser("fake-api", help="serve the bundled fake Poelis API on loopback")
    fake_api_cli.add_arguments(fake_parser)
    for command_parser in commands.choices.values():
        _add_debug_argument(command_parser, default=argparse.SUPPRESS)
    return parser


def _collect_garbage_less_often() -> None:
    """Tune the collector for a sync; this process is ours.

    A sync allocates millions of short-lived, acyclic objects (decoded JSON records). With Python's default
    thresholds a collection runs every 700 new objects, and a full one each time the survivors grow by a
    quarter, walking the ~2M objects the imports created (Dagster, pandas, SQLAlchemy). Measured on CLI
    syncs: 3.5 s of 29 s at fake scale `large`, 0.8 s of 6.5 s at `medium`. Collecting every 10,000 new
    objects: 0.7 s at `large` (one full collection), 0.3 s at `medium`, same peak RSS. (`gc.freeze()` would
    save ~0.1 s more, but keeps DuckDB's bindings alive at exit, where nanobind reports them as leaks.)
    """
    gc.set_threshold(10_000, 10, 10)


def main(argv: Sequence[str] | None = None) -> int:
    output = Output()
    try:
        interrupts.install()
        from poelis_pipelines.client.secrets import scrub_whole_process

        scrub_whole_process()  # this process is ours: urllib3 or Dagster must not print the key either
        args = build_parser().parse_args(argv)
        output = Output(debug=args.debug)
        if args.command in ("sync", "demo"):
            interrupts.stop_between_commits()
            exit_code = _interrupted_or(_run_sync_or_demo(args, output), output)
            if interrupts.received() is not None:
                interrupts.end_process(exit_code)
            return exit_code
        if args.command == "dev":
            from poelis_pipelines.cli.dev import run_dev

            return run_dev(args, output)
        if args.command == "doctor":
            from poelis_pipelines.cli.doctor import run_doctor

            return run_doctor(args, output)
        if args.command == "plan":
            from poelis_pipelines.cli.plan import run_plan

            return run_plan(args, output)
        if args.command == "query":
            from poelis_pipelines.cli.query import run_query

            return run_query(args, output)
        if args.command == "workspaces":
            from poelis_pipelines.cli.workspaces import run_workspaces

            return run_workspaces(args, output)
        from poelis_pipelines.fake_api import cli as fake_api_cli

        return fake_api_cli.run(args)
    except KeyboardInterrupt:  # before a sync began, or any other command
        return _interrupted(output)
    except Exception as error:  # the last line of defence: one scrubbed line, traceback only with --debug
        return output.fail(error, EXIT_CONFIG if output.is_configuration_error(error) else 1)


def _run_sync_or_demo(args: argparse.Namespace, output: Output) -> int:
    _collect_garbage_less_often()
    if args.command == "sync":
        from poelis_pipelines.cli.sync_command import run_sync_command

        return run_sync_command(args, output)
    from poelis_pipelines.cli.demo import run_demo

    return run_demo(args, output)


def _interrupted_or(exit_code: int, output: Output) -> int:
    """`exit_code`, unless a signal arrived: a sync it cut short said so; otherwise say it here."""
    if interrupts.received() is None or exit_code == interrupts.exit_code():
        return exit_code
    return _interrupted(output)


def _interrupted(output: Output) -> int:
    output.error(f"interrupted ({interrupts.signal_name(interrupts.received())})")
    return interrupts.exit_code()


if __name__ == "__main__":
    sys.exit(main())
