"""`poelis-pipelines doctor`: what is wrong with this machine's configuration, and how to fix it."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

from poelis_pipelines import settings
from poelis_pipelines.cli.output import EXIT_CONFIG, EXIT_OK, Output, first_line
from poelis_pipelines.cli.sync_command import api_client, retry_notices_for, target_warehouse
from poelis_pipelines.client import AuthenticationError, ConfigurationError, PoelisError
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.warehouse import WarehouseError

if TYPE_CHECKING:
    import dagster as dg

# How to give the pool a limit, for the warning (an instance-wide default, or this pool alone).
POOL_LIMIT_HOWTO = (
    "add `concurrency: {{pools: {{default_limit: 1}}}}` to $DAGSTER_HOME/dagster.yaml, "
    "or run `dagster instance concurrency set {pool} 1`"
)


def pool_limit(instance: dg.DagsterInstance, pool: str) -> int | None:
    """The most steps of `pool` the instance runs at once: the limit set on the pool itself
    (`dagster instance concurrency set`), else the instance's `concurrency.pools.default_limit`; None when
    neither is set, and Dagster then runs every step of the pool at once."""
    explicit = next(
        (
            limit.limit
            for limit in instance.event_log_storage.get_pool_limits()
            if limit.name == pool and not limit.from_default
        ),
        None,
    )
    if explicit is not None:
        return explicit
    default_limit: int | None = instance.get_concurrency_config().pool_config.default_pool_limit
    return default_limit


def run_doctor(args: argparse.Namespace, output: Output) -> int:
    problems = 0
    warned = 0

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
    if os.environ.get("DAGSTER_HOME"):
        warned += _check_pool(output)
    if problems:
        output.line(f"{problems} problem(s) found")
    else:
        output.line("all checks passed" + (f" ({warned} warning(s))" if warned else ""))
    return EXIT_OK if problems == 0 else EXIT_CONFIG


def _check_pool(output: Output) -> int:
    """Warn (1) when the instance at DAGSTER_HOME lets every step of the Poelis pool run at once: a
    deployment's runs would then spend the organization's quota side by side. Not a failure: the CLI's own
    syncs run one at a time anyway."""
    from poelis_pipelines.cli.runner import dagster_instance

    pool = settings.API_CONCURRENCY_POOL
    try:
        with dagster_instance() as instance:
            limit = pool_limit(instance, pool)
    except Exception as error:  # a broken dagster.yaml or an unreachable storage: say so, do not crash
        output.line(
            f"warn  Dagster pool {pool}: cannot read the instance at DAGSTER_HOME: {first_line(error)}"
        )
        return 1
    if limit is None:
        output.line(
            f"warn  Dagster pool {pool}: unlimited in the instance at DAGSTER_HOME, so runs launched by the "
            f"daemon call the API side by side; {POOL_LIMIT_HOWTO.format(pool=pool)}"
        )
        return 1
    output.line(f"ok    Dagster pool {pool}: at most {limit} step(s) at once")
    return 0
