"""`poelis-pipelines dev` (what `make dev` runs): the Dagster UI, on the real organization or on the demo.

With a key configured (`POELIS_API_KEY` or `POELIS_API_KEY_FILE`) it is `dagster dev` with the environment
as it is. With none, a first-hour user (right after `make demo`) would get a sensor tick that fails and runs
that cannot start; instead it serves the bundled fake API again and points the code location at it and at
the demo's warehouse and Dagster home, so the demo's runs show, and says so on the terminal and in the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from poelis_pipelines import settings
from poelis_pipelines.cli.child import run_child
from poelis_pipelines.cli.output import EXIT_CONFIG, Output
from poelis_pipelines.fake_api.dataset import SCALES

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000
# `dagster dev` warns at every start that `dg dev` supersedes it: advice for Dagster project authors, only
# noise to someone opening this project's UI, so that one message (and nothing else) is ignored.
SUPERSEDED_COMMAND_WARNING = "ignore:Function `dev_command` is superseded"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST, help=f"webserver interface (default: {DEFAULT_HOST})")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"webserver port (default: {DEFAULT_PORT})"
    )
    parser.add_argument(
        "--workspace", default="workspace.yaml", help="Dagster workspace file (default: workspace.yaml)"
    )
    parser.add_argument(
        "--scale",
        choices=list(SCALES),
        default=settings.FAKE_API_DEFAULT_SCALE,
        help="size of the fake organization when no key is set (default: the demo's)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the fake organization (default: the demo's)"
    )


def _quiet(environment: Mapping[str, str]) -> dict[str, str]:
    quiet = dict(environment)
    quiet["PYTHONWARNINGS"] = ",".join(
        filter(None, [quiet.get("PYTHONWARNINGS"), SUPERSEDED_COMMAND_WARNING])
    )
    return quiet


def key_configured() -> bool:
    return any(os.environ.get(name, "").strip() for name in (settings.ENV_API_KEY, settings.ENV_API_KEY_FILE))


def run_dev(args: argparse.Namespace, output: Output) -> int:
    workspace = Path(args.workspace)
    if not workspace.is_file():
        output.error(f"{workspace} not found: run this in the project folder (where `make dev` runs)")
        return EXIT_CONFIG
    dagster_dev = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(workspace),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    url = f"http://{args.host}:{args.port}"
    if key_configured():
        output.line(f"Dagster UI at {url}, on the organization of your POELIS_API_KEY (Ctrl-C stops it)")
        return run_child(dagster_dev, _quiet(os.environ))

    from poelis_pipelines.cli.demo import DemoSite
    from poelis_pipelines.fake_api import FakePoelisServer

    site = DemoSite.here()
    site.prepare()
    with FakePoelisServer(seed=args.seed, scale=args.scale) as server:
        banner = (
            f"DEMO MODE: fake Poelis API at {server.base_url} ({args.scale} organization, seed {args.seed}), "
            f"warehouse {os.path.relpath(site.warehouse_path)}; no {settings.ENV_API_KEY} is set."
        )
        output.line(banner)
        site.describe(output)
        output.line(
            f"Dagster UI at {url} (Ctrl-C stops it). For your own organization, set "
            f"{settings.ENV_API_KEY} (or {settings.ENV_API_KEY_FILE}) and run it again."
        )
        environment = site.environment(server, os.environ)
        environment[settings.ENV_DEMO_MODE] = banner
        return run_child(dagster_dev, _quiet(environment))
