"""`poelis-pipelines plan`: what a full and an incremental sync would request, how long each takes at the
key's quota, and what the schedule can hold, before spending any of the quota.

From the warehouse's last state it sends no request; `--scan` spends only the cheap listings (workspaces,
products, items: about one request per 200 records) to count today's organization, and writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from poelis_pipelines import settings
from poelis_pipelines.cli.output import EXIT_CONFIG, EXIT_OK, Output, fixed_width
from poelis_pipelines.client import ConfigurationError
from poelis_pipelines.client.config import resolve_quota_share
from poelis_pipelines.incremental import REASONS, parse_duration
from poelis_pipelines.plan import (
    LEVELS,
    OrganizationState,
    ScheduleCapacity,
    WorkspacePlan,
    describe_minutes,
    full_requests,
    incremental_requests,
    listing_requests,
    pages,
    plan_workspaces,
    quota_per_minute,
    scan,
    scanned_state,
    warehouse_state,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scan",
        action="store_true",
        help="list workspaces, products and items now (about one request per 200 records) to count "
        "today's organization; without it no request is sent",
    )
    parser.add_argument(
        "--workspace",
        action="append",
        dest="workspaces",
        metavar="ID",
        help="plan only this workspace, by id or readable id (repeatable)",
    )
    parser.add_argument(
        "--quota-share",
        type=float,
        help=f"part of the rate limit a sync spends (default: ${settings.ENV_QUOTA_SHARE}, "
        f"else {settings.DEFAULT_QUOTA_SHARE})",
    )
    parser.add_argument(
        "--max-staleness",
        help=f"every live item's properties re-listed within this bound, e.g. 6h, 2d, 0 (default: "
        f"${settings.ENV_MAX_STALENESS}, else {settings.DEFAULT_MAX_STALENESS})",
    )
    parser.add_argument(
        "--rate-limit",
        type=int,
        metavar="PER_MINUTE",
        help=f"the key's requests per minute (default: what the API advertises during --scan, else "
        f"{settings.DEFAULT_RATE_LIMIT_PER_MINUTE})",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def schedule_interval(cron: str) -> timedelta:
    """The shortest gap between two ticks of `cron`: the time a scheduled run's budget must fit in (the
    schedule measures it the same way)."""
    from dagster._utils.schedules import get_smallest_cron_interval, is_valid_cron_string

    if not is_valid_cron_string(cron):
        raise ConfigurationError(f"${settings.ENV_SYNC_CRON} is not a cron schedule: {cron!r}")
    return get_smallest_cron_interval(cron, settings.SYNC_TIMEZONE)


def _settings(args: argparse.Namespace) -> tuple[float, timedelta, str]:
    """The quota share, staleness bound and cron the plan assumes: the options, else the environment."""
    if args.rate_limit is not None and args.rate_limit <= 0:
        raise ConfigurationError(f"--rate-limit must be a positive number of requests, got {args.rate_limit}")
    if args.quota_share is not None and not 0 < args.quota_share <= 1:
        raise ConfigurationError(f"--quota-share must be above 0 and at most 1, got {args.quota_share:g}")
    share = resolve_quota_share(args.quota_share)
    bound = args.max_staleness or os.environ.get(settings.ENV_MAX_STALENESS) or settings.DEFAULT_MAX_STALENESS
    try:
        max_staleness = parse_duration(bound)
    except ValueError as error:
        raise ConfigurationError(f"--max-staleness: {error}") from None
    cron = os.environ.get(settings.ENV_SYNC_CRON) or settings.DEFAULT_SYNC_CRON
    return share, max_staleness, cron


def _hours(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 3600, 2)


def _describe_duration(duration: timedelta) -> str:
    return describe_minutes(duration.total_seconds() / 60).removeprefix("about ")


def build_report(
    state: OrganizationState,
    workspaces: list[WorkspacePlan],
    *,
    requests_per_minute: float,
    share: float,
    max_staleness: timedelta,
    cron: str,
    scan_requests: int | None,
) -> dict[str, Any]:
    """Everything `plan` says, as one JSON-ready object."""
    rate = requests_per_minute * share
    full = full_requests(state, workspaces) if state.known else None
    incremental = incremental_requests(state, workspaces) if state.known else None
    listings = listing_requests(state, workspaces)
    capacity = ScheduleCapacity.of(
        schedule_interval(cron),
        requests_per_minute,
        share,
        listings,
        sum(workspace.live_items for workspace in workspaces),
    )
    holdable = capacity.holdable_staleness if state.known else None
    held = holdable is not None and holdable <= max(max_staleness, capacity.interval)
    full_properties = sum(workspace.full["properties"] for workspace in workspaces)
    due = {reason: sum(workspace.due[reason] for workspace in workspaces) for reason in REASONS}
    return {
        "source": "scan" if scan_requests is not None else "warehouse",
        "scan_requests": scan_requests,
        "known": state.known,
        "full_requests": full,
        "incremental_requests": incremental,
        "incremental_due_items": due,
        "workspace_listing_requests": pages(state.workspace_count),
        "workspaces": [
            {
                "id": workspace.workspace_id,
                "products": workspace.products,
                "items": workspace.items,
                "live_items": workspace.live_items,
                "full": workspace.full,
                "incremental": workspace.incremental,
                "due_items": workspace.due,
            }
            for workspace in workspaces
        ],
        "rate_limit_per_minute": requests_per_minute,
        "quota_share": share,
        "requests_per_minute": rate,
        "full_minutes": None if full is None else full / rate,
        "incremental_minutes": None if incremental is None else incremental / rate,
        "max_staleness_hours": _hours(max_staleness),
        "schedule": {
            "cron": cron,
            "interval_minutes": capacity.interval.total_seconds() / 60,
            "budget_per_run": capacity.budget_per_run,
            "listing_requests_per_run": listings,
            "items_per_run": capacity.items_per_run,
            "next_run_requests": None if incremental is None else min(incremental, capacity.budget_per_run),
            "first_load_runs": capacity.runs_for(full_properties) if state.known else None,
            "holdable_staleness_hours": _hours(holdable),
            "bound_held": held,
            "quota_share_needed": None
            if held or not state.known
            else round(capacity.share_needed(max_staleness, requests_per_minute), 3),
        },
    }


def format_report(report: dict[str, Any]) -> list[str]:
    """The report for people: a table of requests per workspace and level, then times and the schedule."""
    source = (
        f"today's listings ({report['scan_requests']:,} requests spent)"
        if report["source"] == "scan"
        else "the warehouse's last sync (no request sent)"
    )
    workspaces = report["workspaces"]
    lines = [
        f"plan for {len(workspaces):,} workspace(s), {sum(w['products'] for w in workspaces):,} products, "
        f"{sum(w['items'] for w in workspaces):,} items, from {source}"
    ]
    if not report["known"]:
        lines.append(
            "the warehouse has not listed every workspace, product and item yet: their size is unknown "
            "(--scan lists them now, without writing the warehouse)"
        )
        return lines
    listing = f"{report['workspace_listing_requests']:,}"
    rows = [("workspace", "level", "full", "incremental"), ("(organization)", "workspaces", listing, listing)]
    for workspace in workspaces:
        for level in LEVELS:
            rows.append(
                (
                    workspace["id"],
                    level,
                    f"{workspace['full'][level]:,}",
                    f"{workspace['incremental'][level]:,}",
                )
            )
    rows.append(("total", "", f"{report['full_requests']:,}", f"{report['incremental_requests']:,}"))
    lines += [line.rstrip() for line in fixed_width(rows)]
    rate = (
        f"{report['requests_per_minute']:g} requests/min ({report['quota_share']:g} of "
        f"{report['rate_limit_per_minute']:g}/min)"
    )
    due = report["incremental_due_items"]
    schedule = report["schedule"]
    lines += [
        f"full sync: {report['full_requests']:,} requests, "
        f"{describe_minutes(report['full_minutes'])} at {rate}",
        f"incremental run now: {report['incremental_requests']:,} requests, "
        f"{describe_minutes(report['incremental_minutes'])} (properties of {due['new']:,} new, "
        f"{due['hint']:,} hinted and {due['rotation']:,} due items, max staleness "
        f"{_describe_duration(timedelta(hours=report['max_staleness_hours']))})",
    ]
    interval = timedelta(minutes=schedule["interval_minutes"])
    budget = (
        f"schedule {schedule['cron']!r} (every {_describe_duration(interval)}): "
        f"{schedule['budget_per_run']:,} requests per run, "
        f"{schedule['listing_requests_per_run']:,} of them listings"
    )
    if schedule["first_load_runs"] is None:
        lines.append(f"{budget}: too few to list any item's properties; raise --quota-share or the interval")
        return lines
    lines.append(
        f"{budget}; the next run spends {schedule['next_run_requests']:,}; a first load takes "
        f"{schedule['first_load_runs']:,} run(s)"
    )
    holdable = _describe_duration(timedelta(hours=schedule["holdable_staleness_hours"]))
    if schedule["bound_held"]:
        lines.append(f"staleness the schedule holds: {holdable} (within the bound)")
    else:
        lines.append(
            f"staleness the schedule holds: {holdable}, over the bound: a quota share of "
            f"{schedule['quota_share_needed']:.2f} would hold it (or a longer bound)"
        )
    return lines


def run_plan(args: argparse.Namespace, output: Output) -> int:
    from poelis_pipelines.cli.sync_command import api_client, retry_notices_for, target_warehouse
    from poelis_pipelines.cli.workspaces import resolve_workspace_arguments

    try:
        share, max_staleness, cron = _settings(args)
        schedule_interval(cron)
    except ConfigurationError as error:
        return output.fail(error, EXIT_CONFIG)
    with target_warehouse(args) as warehouse:
        warehouse.ensure()  # creates the empty tables of a new warehouse; data is never written
        workspace_ids = (
            resolve_workspace_arguments(args.workspaces, warehouse, lambda: api_client(args))
            if args.workspaces
            else None
        )
        state = warehouse_state(warehouse, workspace_ids)
    advertised, scan_requests = None, None
    if args.scan:
        with api_client(args) as client, retry_notices_for(output, client.base_url):
            workspaces, listings = scan(client, workspace_ids)
            advertised = client.advertised_rate_limit
        state = scanned_state(state, workspaces, listings, workspace_ids)
    plans = plan_workspaces(state, datetime.now(UTC), max_staleness)
    if args.scan:
        scan_requests = listing_requests(state, plans)
    requests_per_minute = float(args.rate_limit) if args.rate_limit else quota_per_minute(advertised)
    report = build_report(
        state,
        plans,
        requests_per_minute=requests_per_minute,
        share=share,
        max_staleness=max_staleness,
        cron=cron,
        scan_requests=scan_requests,
    )
    if args.json:
        output.line(json.dumps(report))
    else:
        for line in format_report(report):
            output.line(line)
    return EXIT_OK
