"""CPU cost of `normalize()` per table on the fake's `medium` organization, batched per scope as a sync does.

    python -m benchmarks.bench_normalize [--scale medium] [--reps 5]

Each table's records are split into the scopes a sync normalizes at once (one call per workspace for
products, per product for items and properties). Prints the median CPU time (`time.process_time`) of
normalizing the whole table over `--reps` runs, as records/s and µs/record; run it before and after a change.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from collections import defaultdict
from typing import Any

from poelis_pipelines.fake_api import generate_organization
from poelis_pipelines.normalize import normalize

Call = tuple[list[dict[str, Any]], dict[str, str]]


def scoped_calls(scale: str) -> dict[str, list[Call]]:
    """Per table, the `(records, lineage)` of each normalize call a full sync makes."""
    dataset = generate_organization(seed=0, scale=scale)
    dataset.materialise()
    workspace_of = {product["id"]: product["workspace_id"] for product in dataset.products}
    product_of = {item["id"]: item["product_id"] for item in dataset.items}
    calls: dict[str, list[Call]] = {"workspaces": [(list(dataset.workspaces), {})]}
    for table, records, scope_of, lineage in (
        ("products", dataset.products, lambda r: r["workspace_id"], lambda _s: {}),
        ("items", dataset.items, lambda r: r["product_id"], lambda s: {"workspace_id": workspace_of[s]}),
        (
            "properties",
            dataset.properties,
            lambda r: product_of[r["item_id"]],
            lambda s: {"product_id": s, "workspace_id": workspace_of[s]},
        ),
    ):
        by_scope: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record in records:
            by_scope[scope_of(record)].append(record)
        calls[table] = [(scoped, lineage(scope)) for scope, scoped in by_scope.items()]
    return calls


def cpu_seconds(table: str, calls: list[Call]) -> float:
    started = time.process_time()
    for records, lineage in calls:
        normalize(table, records, endpoint=table, **lineage)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # repeated ids and unknown types are part of the fake's data
    print(f"{'table':<12}{'calls':>7}{'records':>10}{'CPU s':>9}{'records/s':>12}{'µs/record':>11}")
    for table, calls in scoped_calls(args.scale).items():
        records = sum(len(scoped) for scoped, _lineage in calls)
        seconds = statistics.median(cpu_seconds(table, calls) for _ in range(args.reps))
        print(
            f"{table:<12}{len(calls):>7}{records:>10}{seconds:>9.3f}"
            f"{records / seconds:>12,.0f}{seconds / records * 1e6:>11.1f}"
        )


if __name__ == "__main__":
    main()
