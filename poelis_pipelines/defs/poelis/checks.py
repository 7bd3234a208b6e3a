"""Asset checks derived from the table declarations, evaluated in the same step as the load.

Each of those is blocking: a table with duplicate keys, dangling parents, missing required values, or fewer
rows than the API returned would poison everything built on it, so downstream assets do not run on it. The
properties' staleness check is not: stale properties are still the best copy there is, and the views over
them should refresh; it warns at 80% of the staleness bound and errs past it.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.incremental import Freshness
from poelis_pipelines.sync import LevelResult
from poelis_pipelines.tables import merged_tables
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import inspect_table

PRIMARY_KEY_UNIQUE = "primary_key_unique"
FOREIGN_KEYS_RESOLVE = "foreign_keys_resolve"
REQUIRED_COLUMNS_PRESENT = "required_columns_present"
ROWS_MATCH_API = "rows_match_api"
PROPERTIES_STALENESS = "properties_staleness"
STALENESS_WARN_SHARE = 0.8  # of the bound: the staleness check warns beyond it, errs beyond the bound


def check_specs_for(table: str, names: PoelisDefsNames) -> list[dg.AssetCheckSpec]:
    """The checks a table's declaration implies (foreign keys only where it declares some)."""
    declaration = merged_tables()[table]
    descriptions = {
        PRIMARY_KEY_UNIQUE: f"No two rows share the primary key ({', '.join(declaration.primary_key)}).",
        REQUIRED_COLUMNS_PRESENT: "Columns declared NOT NULL hold a value in every row.",
        ROWS_MATCH_API: "Every record the API returned in this run is a live row of the table.",
    }
    if declaration.foreign_keys:
        descriptions[FOREIGN_KEYS_RESOLVE] = "Every parent id points at a row of its parent table."
    specs = [
        dg.AssetCheckSpec(name=name, asset=names.asset_key(table), description=description, blocking=True)
        for name, description in descriptions.items()
    ]
    if table == "properties":
        specs.append(
            dg.AssetCheckSpec(
                name=PROPERTIES_STALENESS,
                asset=names.asset_key(table),
                description="Every live item's properties were listed within the staleness bound: warns "
                f"beyond {STALENESS_WARN_SHARE:.0%} of it (or while items were never listed), errs past it.",
                blocking=False,
            )
        )
    return specs


def staleness_check(left: Freshness, bound: timedelta) -> dg.AssetCheckResult:
    """The oldest listing of a live item's properties against the bound (a bound of 0 holds no item)."""
    oldest = left.max_staleness
    metadata = {
        "max_staleness_hours": round(oldest.total_seconds() / 3600, 4) if oldest is not None else 0.0,
        "staleness_bound_hours": round(bound.total_seconds() / 3600, 4),
        "never_listed_items": left.never_listed,
        "live_items": left.live_items,
    }
    bounded = bound > timedelta(0) and oldest is not None
    severity = None
    if bounded and oldest > bound:  # type: ignore[operator]
        severity = dg.AssetCheckSeverity.ERROR
    elif (bounded and oldest > STALENESS_WARN_SHARE * bound) or left.never_listed:  # type: ignore[operator]
        severity = dg.AssetCheckSeverity.WARN
    return dg.AssetCheckResult(
        check_name=PROPERTIES_STALENESS,
        passed=severity is None,
        severity=severity or dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


def check_results_for(warehouse: Warehouse, table: str, result: LevelResult) -> list[dg.AssetCheckResult]:
    """Evaluate the checks on the table as it stands after this run's merges."""
    quality = inspect_table(warehouse, table)
    loaded = result.inserted + result.updated + result.unchanged
    results = [
        dg.AssetCheckResult(
            check_name=PRIMARY_KEY_UNIQUE,
            passed=quality.duplicate_keys == 0,
            metadata={"duplicate_keys": quality.duplicate_keys},
        ),
        dg.AssetCheckResult(
            check_name=REQUIRED_COLUMNS_PRESENT,
            passed=not any(quality.nulls_in_required.values()),
            metadata={"null_counts": dg.MetadataValue.json(quality.nulls_in_required)},
        ),
        dg.AssetCheckResult(
            check_name=ROWS_MATCH_API,
            passed=loaded == result.records_from_api,
            metadata={"records_from_api": result.records_from_api, "rows_merged": loaded},
        ),
    ]
    if merged_tables()[table].foreign_keys:
        results.append(
            dg.AssetCheckResult(
                check_name=FOREIGN_KEYS_RESOLVE,
                passed=not any(quality.orphans.values()),
                metadata={"orphans": dg.MetadataValue.json(quality.orphans)},
            )
        )
    return results
