"""`poelis-pipelines doctor`: what is wrong with this machine's configuration, and how to fix it."""

from __future__ import annotations

import argparse

from poelis_pipelines import settings
from poelis_pipelines.cli.output import EXIT_CONFIG, EXIT_OK, Output
from poelis_pipelines.cli.sync_command import api_client, retry_notices_for, target_warehouse
from poelis_pipelines.client import AuthenticationError, ConfigurationError, PoelisError
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.warehouse import WarehouseError


def run_doctor(args: argparse.Namespace, output: Output) -> int:
    problems = 0

    def report(ok: bool, what: str, detail: str) -> None:
        nonlocal problems
        problems += 0 if ok else 1
        output.line(f"{'ok  ' if ok else 'FAIL'}  {what}: {scrub(detail)}")

    try:
        client = api_client(args)
    except ConfigurationError as error:
        report(False, "API key and URL", str(error))
        client = None
    if client is not None:
        with client, retry_notices_for(output, client.base_url):
            report(True, "API key and URL", f"key {client.key_fingerprint} for {client.base_url}")
            try:
                first = next(iter(client.iter_workspaces()), None)
            except AuthenticationError as error:
                report(False, "key accepted", str(error))
            except PoelisError as error:
                report(False, "API reachable", f"{error} (check {settings.ENV_BASE_URL} and the network)")
            else:
                report(
                    True,
                    "API reachable and key accepted",
                    "workspaces are visible" if first else "no workspaces",
                )
                limit = client.advertised_rate_limit
                report(
                    limit is not None,
                    "rate-limit headers",
                    "missing: the API sent no X-RateLimit-* headers, so requests cannot be paced"
                    if limit is None
                    else f"{limit} requests per window; requests are paced to stay inside it",
                )
    try:
        with target_warehouse(args) as warehouse:
            warehouse.ensure()  # creates or re-annotates the tables: a write, so this proves write access
            report(True, "warehouse", f"{warehouse.display_url} (schema {warehouse.schema}) is writable")
    except WarehouseError as error:
        report(False, "warehouse", str(error))
    output.line("all checks passed" if problems == 0 else f"{problems} problem(s) found")
    return EXIT_OK if problems == 0 else EXIT_CONFIG
