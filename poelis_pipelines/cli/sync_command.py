"""`poelis-pipelines sync`: check the configuration, take the sync lock, resume or start, summarize."""

from __future__ import annotations

import argparse
import contextlib
import warnings
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from poelis_pipelines import settings
from poelis_pipelines.budget import estimate_backlog, shortfall
from poelis_pipelines.cli import interrupts
from poelis_pipelines.cli.output import (
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    Output,
    retry_budget_seconds,
    retry_notices,
)
from poelis_pipelines.cli.progress import (
    ProgressDisplay,
    describe_freshness,
    describe_incremental_plan,
    format_summary,
)
from poelis_pipelines.cli.runner import Runner, SyncResources, SyncSummary, dagster_instance
from poelis_pipelines.cli.sync_state import (
    SyncLock,
    record_sync_end,
    record_sync_start,
    sync_arguments,
    unfinished_sync,
)
from poelis_pipelines.cli.workspaces import resolve_workspace_arguments
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.client.config import resolve_backoff_seconds, resolve_max_attempts, resolve_max_requests
from poelis_pipelines.client.secrets import scrub
from poelis_pipelines.defs.poelis.resources import (
    PoelisResource,
    PoelisSyncSettings,
    PoelisWarehouseResource,
)
from poelis_pipelines.incremental import IncrementalSettings, item_catalog, parse_duration, select_items
from poelis_pipelines.normalize.errors import UnknownPropertyTypeWarning
from poelis_pipelines.plan import plan_full_sync, quota_per_minute
from poelis_pipelines.sync import properties_freshness
from poelis_pipelines.warehouse import Warehouse, WarehouseBusyError, WarehouseError
from poelis_pipelines.warehouse.errors import WarehouseInUseError
from poelis_pipelines.warehouse.inspection import live_ids


def sync_resources(args: argparse.Namespace) -> SyncResources:
    """The resources the flags ask for, handed to the runs as they are (a setting no flag gives: the
    environment, read when used). Never through `os.environ`, which is the caller's, nor through run config,
    which Dagster stores: a PostgreSQL URL may hold a password."""
    return SyncResources(
        poelis=PoelisResource(
            quota_share=getattr(args, "quota_share", None),
            allow_insecure_http=True if getattr(args, "allow_insecure_http", False) else None,
        ),
        warehouse=PoelisWarehouseResource(
            url=getattr(args, "warehouse_url", None), schema_name=getattr(args, "schema", None)
        ),
        sync_settings=PoelisSyncSettings(
            full=getattr(args, "full", False),
            max_staleness=getattr(args, "max_staleness", None),
            versions=getattr(args, "versions", None),
        ),
    )


def api_client(args: argparse.Namespace, quota_share: float | None = None) -> PoelisClient:
    """A client configured as the assets' one (key, URL, plain-http opt-in), with the quota share asked."""
    allow_insecure_http = sync_resources(args).poelis.insecure_http_allowed()
    return PoelisClient(allow_insecure_http=allow_insecure_http, quota_share=quota_share)


def target_warehouse(args: argparse.Namespace) -> Warehouse:
    """The warehouse the assets will write to, resolved exactly as their resource resolves it."""
    return sync_resources(args).warehouse.target()


def sync_budget(args: argparse.Namespace) -> int | None:
    """`--max-requests`, else `POELIS_MAX_REQUESTS`: the budget of the whole sync, shared by its runs, so it
    is resolved once."""
    return getattr(args, "max_requests", None) or resolve_max_requests()


def retry_notices_for(output: Output, base_url: str) -> contextlib.AbstractContextManager[None]:
    """Say at the first retry of each kind that the API is being retried, and for how long at most."""
    budget = retry_budget_seconds(
        resolve_max_attempts(), resolve_backoff_seconds(), settings.DEFAULT_MAX_BACKOFF_SECONDS
    )
    return retry_notices(output, base_url, budget)


def _warehouse_failure(output: Output, error: WarehouseError) -> int:
    """Another sync is worth a retry later (exit 1); a file another program holds open, or any other
    warehouse problem, needs the operator (2)."""
    another_sync = isinstance(error, WarehouseBusyError) and not isinstance(error, WarehouseInUseError)
    exit_code = EXIT_FAILED if another_sync else EXIT_CONFIG
    return output.fail(error, exit_code, context="warehouse")


def check_client_configuration(output: Output, args: argparse.Namespace) -> int | None:
    """Refuse a bad key, base URL, retry, budget, staleness or versions setting before Dagster starts."""
    try:
        api_client(args).close()  # the key, the URL and the quota and retry knobs
        sync_budget(args)
        sync_settings = sync_resources(args).sync_settings
        sync_settings.staleness_bound()
        sync_settings.versions_mode()
    except ConfigurationError as error:
        return output.fail(error, EXIT_CONFIG)
    return None


def check_warehouse(output: Output, args: argparse.Namespace) -> int | None:
    """Create or migrate the tables now: an unusable warehouse fails in one line, before any request."""
    try:
        with target_warehouse(args) as warehouse:
            warehouse.ensure()
    except WarehouseError as error:
        return _warehouse_failure(output, error)
    return None


def _unfinished_sync_key(output: Output, args: argparse.Namespace, arguments: str) -> str | None:
    """The latest unfinished CLI sync of the last day with the same arguments, to resume unless `--fresh`;
    said in one line that tells an interrupted (or killed) sync from a failed one.

    One that committed nothing (refused at its start: a bad key, an unreachable API) leaves nothing to skip.
    """
    if getattr(args, "fresh", False):
        return None
    with target_warehouse(args) as warehouse:
        unfinished = unfinished_sync(warehouse, arguments, datetime.now(UTC))
    if unfinished is None or unfinished.committed_scopes == 0:
        return None
    how = {"interrupted": ", interrupted", "running": ", its process ended without finishing"}
    resuming = (
        f"resuming sync {unfinished.sync_key} (started {unfinished.started_at:%Y-%m-%d %H:%M} UTC"
        f"{how.get(unfinished.status, '')}): {unfinished.committed_scopes} scope(s) already committed are "
        "not fetched again; --fresh starts over"
    )
    if unfinished.status == "failed":
        resuming = f"the last sync failed ({unfinished.error or 'no error recorded'}); {resuming}"
    output.line(resuming)
    return unfinished.sync_key


def announce_plan(
    output: Output, display: ProgressDisplay, workspace_ids: list[str] | None, args: argparse.Namespace
) -> None:
    """Say what the sync will do and how long the quota makes it take, from the warehouse's last state and
    the rate limit the API advertised on the workspace listing (no request of its own). An incremental sync
    says how many items' properties are due now (the listings may find more: new or changed items)."""
    sync_settings, max_requests = sync_resources(args).sync_settings, sync_budget(args)
    with target_warehouse(args) as warehouse:
        plan = plan_full_sync(warehouse, workspace_ids, versions_mode=sync_settings.versions_mode())
        due = None
        if not sync_settings.full:
            targets = workspace_ids or live_ids(warehouse, "workspaces")
            due = select_items(
                item_catalog(warehouse, targets),
                datetime.now(UTC),
                IncrementalSettings(sync_settings.staleness_bound(), max_items=max_requests),
                run_key="",
            )
    quota_share = getattr(args, "quota_share", None)
    with api_client(args, quota_share) as client:  # shares the limiter that saw the headers
        requests_per_minute = quota_per_minute(client.advertised_rate_limit)
    if due is None or plan.requests is None:  # a full sync, or items never listed: the full sync's line
        output.line(plan.describe(requests_per_minute))
        display.follow(plan, requests_per_minute)
        return
    listings = plan.requests - plan.items - plan.versions_requests
    selected = due.selected
    requests = listings + sum(selected.values()) + plan.versions_requests
    if max_requests is not None:
        requests = min(requests, max_requests)
    output.line(describe_incremental_plan(plan, listings, selected, requests, requests_per_minute))
    display.follow(replace(plan, requests=requests), requests_per_minute)


def _run_assets(runner: Runner, args: argparse.Namespace, output: Output) -> SyncSummary:
    """Run the assets; properties of a type this version does not know are kept, and said so on stderr."""

    def live_workspace_ids() -> list[str]:
        with target_warehouse(args) as warehouse:
            return live_ids(warehouse, "workspaces")

    only = getattr(args, "workspaces", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownPropertyTypeWarning)
        with ProgressDisplay(output) as display:

            def on_step(label: str) -> None:
                if display.plan is None:  # the first step: the workspace list is fresh
                    announce_plan(output, display, only, args)
                display.step(label)

            summary = runner.sync(live_workspace_ids, only=only, on_step=on_step)
    unknown_types = [
        warning for warning in caught if issubclass(warning.category, UnknownPropertyTypeWarning)
    ]
    for message in dict.fromkeys(str(warning.message) for warning in unknown_types):
        output.warning(message)
    for warning in caught:
        if warning not in unknown_types:  # everything else is shown as it would have been
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    return summary


def _sync_under_lock(args: argparse.Namespace, output: Output) -> tuple[int, SyncSummary | None]:
    exit_code = check_warehouse(output, args)
    if exit_code is not None:
        return exit_code, None
    resources = sync_resources(args)
    resolving: list[PoelisClient] = []  # a readable id the warehouse does not know lists the workspaces

    def resolving_client() -> PoelisClient:
        resolving.append(api_client(args, resources.poelis.quota_share))
        return resolving[-1]

    if getattr(args, "workspaces", None):
        with target_warehouse(args) as warehouse:
            args.workspaces = resolve_workspace_arguments(args.workspaces, warehouse, resolving_client)
    max_staleness = resources.sync_settings.max_staleness
    arguments = sync_arguments(
        getattr(args, "workspaces", None),
        full=resources.sync_settings.full,
        max_staleness=parse_duration(max_staleness) if max_staleness else None,
        versions=resources.sync_settings.versions_mode(),
    )
    resumed_key = _unfinished_sync_key(output, args, arguments)
    runner = Runner(
        dagster_instance(),
        resumed_key,
        debug=output.debug,
        resources=resources,
        max_requests=sync_budget(args),
    )
    runner.summary.requests = sum(int(client.stats.as_dict()["requests"]) for client in resolving)
    sync_key = runner.summary.sync_key
    with target_warehouse(args) as warehouse:
        record_sync_start(warehouse, sync_key, arguments, resumed=resumed_key is not None)
    summary = _run_assets(runner, args, output)
    first_failure = summary.failures[0] if summary.failures else None
    with target_warehouse(args) as warehouse:
        record_sync_end(
            warehouse,
            sync_key,
            arguments,
            status="interrupted" if summary.interrupted else "success" if summary.succeeded else "failed",
            error=scrub(f"{first_failure.label}: {first_failure.message}") if first_failure else None,
        )
    if summary.tables or not runner.configuration_failed():  # a refused key: its one error line only
        output.line(format_summary(summary))
        if "properties" in summary.tables or summary.budget_exhausted:
            for line in _what_is_left(args, summary):
                output.line(line)
    for failure in summary.failures:
        output.error(f"{failure.label}: {failure.message}")
    if summary.interrupted:
        output.error(
            f"interrupted ({interrupts.signal_name(interrupts.received())}); what was committed is kept: "
            f"the next `poelis-pipelines {args.command}` with the same arguments resumes after it "
            "(--fresh starts over)"
        )
        return interrupts.exit_code(), summary
    if runner.configuration_failed():
        return EXIT_CONFIG, summary
    return (EXIT_OK if summary.succeeded else EXIT_FAILED), summary


def _what_is_left(args: argparse.Namespace, summary: SyncSummary) -> list[str]:
    """After the table: what an incremental sync listed and the freshness it left, a sentence when the budget
    or the quota share cannot hold the bound, and what a spent budget left for the next sync. Measured in the
    warehouse (no request)."""
    sync_settings = sync_resources(args).sync_settings
    bound = sync_settings.staleness_bound()
    with target_warehouse(args) as warehouse:
        targets = summary.workspaces or live_ids(warehouse, "workspaces")
        left = properties_freshness(
            warehouse, targets, timedelta(0) if sync_settings.full else bound, run_key=summary.sync_key
        )
    with api_client(args, getattr(args, "quota_share", None)) as client:
        share, rate = client.quota_share, quota_per_minute(client.advertised_rate_limit)
    lines = []
    if not sync_settings.full:
        lines.append(describe_freshness(summary, left, bound))
        estimate = estimate_backlog(left, bound, share=share, per_minute=rate, max_requests=sync_budget(args))
        note = shortfall(estimate, bound, share=share, per_minute=rate)
        if note is not None:
            lines.append(note)
    if summary.budget_exhausted:
        lines.append(
            f"budget spent: {summary.requests:,} requests; {sum(left.backlog.values()):,} items left for the "
            "next run"
        )
    return lines


def run_sync(args: argparse.Namespace, output: Output) -> tuple[int, SyncSummary | None]:
    """One sync at a time per warehouse schema: a second one exits 1 at once instead of waiting."""
    exit_code = check_client_configuration(output, args)
    if exit_code is not None:
        return exit_code, None
    with api_client(args) as client:
        base_url = client.base_url
    try:
        with target_warehouse(args) as warehouse:  # validates the URL and the schema name
            lock = SyncLock(sync_resources(args).warehouse.resolved_url(), warehouse.schema)
        with lock, retry_notices_for(output, base_url):
            return _sync_under_lock(args, output)
    except WarehouseError as error:
        return _warehouse_failure(output, error), None


def run_sync_command(args: argparse.Namespace, output: Output) -> int:
    exit_code, _summary = run_sync(args, output)
    return exit_code
