"""`poelis-pipelines sync`: validate the configuration, run the assets, print a summary."""

from __future__ import annotations

import argparse
import os

from poelis_pipelines import settings
from poelis_pipelines.cli.output import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, Output
from poelis_pipelines.cli.progress import ProgressDisplay, format_summary
from poelis_pipelines.cli.runner import Runner, SyncSummary, dagster_instance
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.warehouse import Warehouse, WarehouseError
from poelis_pipelines.warehouse.inspection import live_ids


def apply_target_arguments(args: argparse.Namespace) -> None:
    """Hand --warehouse-url/--schema to the resources through the environment, never through run config.

    Run config is stored in Dagster's run storage; a PostgreSQL URL may hold a password.
    """
    if getattr(args, "warehouse_url", None):
        os.environ[settings.ENV_WAREHOUSE_URL] = args.warehouse_url
    if getattr(args, "schema", None):
        os.environ[settings.ENV_WAREHOUSE_SCHEMA] = args.schema


def warehouse_from_environment() -> Warehouse:
    return Warehouse(
        os.environ.get(settings.ENV_WAREHOUSE_URL) or settings.DEFAULT_WAREHOUSE_URL,
        os.environ.get(settings.ENV_WAREHOUSE_SCHEMA) or settings.DEFAULT_WAREHOUSE_SCHEMA,
    )


def preflight(output: Output) -> int | None:
    """Refuse bad configuration before Dagster starts: the key, the base URL, the warehouse."""
    try:
        PoelisClient().close()
    except ConfigurationError as error:
        return output.fail(error, EXIT_CONFIG)
    try:
        with warehouse_from_environment() as warehouse:
            warehouse.ensure()
    except WarehouseError as error:
        return output.fail(error, EXIT_CONFIG, context="warehouse")
    return None


def run_sync(args: argparse.Namespace, output: Output) -> tuple[int, SyncSummary | None]:
    apply_target_arguments(args)
    exit_code = preflight(output)
    if exit_code is not None:
        return exit_code, None

    def live_workspace_ids() -> list[str]:
        with warehouse_from_environment() as warehouse:
            return live_ids(warehouse, "workspaces")

    runner = Runner(dagster_instance(), debug=output.debug)
    with ProgressDisplay(output) as display:
        summary = runner.sync(
            live_workspace_ids, only=getattr(args, "workspaces", None), on_step=display.step
        )
    output.line(format_summary(summary))
    for failure in summary.failures:
        output.error(f"{failure.label}: {failure.message}")
    if runner.configuration_failed():
        return EXIT_CONFIG, summary
    return (EXIT_OK if summary.succeeded else EXIT_FAILED), summary


def run_sync_command(args: argparse.Namespace, output: Output) -> int:
    exit_code, _summary = run_sync(args, output)
    return exit_code
