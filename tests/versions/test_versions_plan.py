"""`plan` counts what the published versions cost the next run, as `sync_versions` spends it: checked against
the fake's request counters around the real run."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from versions_helpers import DAY_ONE, Org, a_day_later

from poelis_pipelines import settings
from poelis_pipelines.plan import VersionsPlan, plan_workspaces, warehouse_state


def planned(org: Org, mode: str, now: datetime) -> VersionsPlan:
    """The versions part of the plan of every workspace, summed."""
    with org.warehouse() as warehouse:
        workspaces = plan_workspaces(warehouse_state(warehouse), now, versions_mode=mode)
    plans = [workspace.versions for workspace in workspaces]
    assert all(workspace.full["product_versions"] == workspace.versions.requests for workspace in workspaces)
    return VersionsPlan(
        *(sum(getattr(plan, field.name) for plan in plans) for field in dataclasses.fields(VersionsPlan))
    )


def spent(org: Org, mode: str, now: datetime, **client_options: object) -> int:
    return org.requests_during(lambda: org.sync_versions(mode, now, **client_options))


def test_complete_versions_cost_nothing_and_a_days_probes_one_request_per_product(duckdb_org: Org) -> None:
    duckdb_org.sync_draft()
    assert planned(duckdb_org, settings.VERSIONS_NONE, DAY_ONE) == VersionsPlan()
    spent(duckdb_org, settings.VERSIONS_BASELINE, DAY_ONE)

    same_day = planned(duckdb_org, settings.VERSIONS_BASELINE, a_day_later(DAY_ONE, 0.5))
    assert same_day == VersionsPlan()
    assert spent(duckdb_org, settings.VERSIONS_BASELINE, a_day_later(DAY_ONE, 0.5)) == 0

    next_day = a_day_later(DAY_ONE)
    products = len(duckdb_org.server.dataset.products)
    assert planned(duckdb_org, settings.VERSIONS_BASELINE, next_day) == VersionsPlan(products, 0, 0, products)
    assert spent(duckdb_org, settings.VERSIONS_BASELINE, next_day) == products

    # every other version is known (the probes found them), never listed: sized as the draft, said so
    others = len(duckdb_org.fake_versions()) - sum(
        1 for product in duckdb_org.server.dataset.products if product.get("baseline_version_number")
    )
    pending = planned(duckdb_org, settings.VERSIONS_ALL, next_day)
    assert (pending.versions, pending.estimated, pending.probes) == (others, others, 0)


def test_an_interrupted_version_is_counted_exactly_where_it_resumes(
    duckdb_org: Org, postgres_org: Org
) -> None:
    """A first run cut by its budget one request before its end leaves the last version partly stored: the
    plan says what finishing it costs, and the next run spends exactly that."""
    postgres_org.sync_draft()
    whole_run = spent(postgres_org, settings.VERSIONS_ALL, DAY_ONE)

    duckdb_org.sync_draft()
    cut = duckdb_org.sync_versions(settings.VERSIONS_ALL, DAY_ONE, max_requests=whole_run - 1)
    assert cut.budget_exhausted
    left = planned(duckdb_org, settings.VERSIONS_ALL, DAY_ONE)
    assert (left.versions, left.estimated, left.probes) == (1, 0, 0)
    assert left.requests == spent(duckdb_org, settings.VERSIONS_ALL, DAY_ONE) > 1
    duckdb_org.assert_versions_exact()
