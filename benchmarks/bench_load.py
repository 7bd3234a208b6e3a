"""Normalize + load synthetic properties into DuckDB and PostgreSQL, against peers measured in the same run.

    python -m benchmarks.bench_load [--rows 1000000] [--per-product 10000] [--postgres-url URL]
        [--duckdb-query memory_limit=16GB]   # e.g. to compare against the warehouse's default memory limit

Peers, on the same normalized frame and the same table DDL:
* raw native: DuckDB `INSERT ... SELECT` from the registered Arrow table; PostgreSQL CSV `COPY` of the frame,
  all in one transaction. This is the floor: one write, no staging, no change detection, no history.
* raw native, a transaction per product: the same, committed per product like the merge (the fair peer:
  DuckDB pays a WAL write and a connection per commit).
* `DataFrame.to_sql`: pandas' generic path (timed on a sample; rows/s extrapolates).
The merge is measured twice: the first load (every row new) and an unchanged rerun (the nightly common case).
Peak RSS is the process high-water mark after each step.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from poelis_pipelines import settings
from poelis_pipelines.normalize import normalize
from poelis_pipelines.tables import PROPERTIES
from poelis_pipelines.warehouse import Batch, Warehouse
from poelis_pipelines.warehouse.bulk import load_frame
from poelis_pipelines.warehouse.statements import create_table, dialect_of, qualified

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TO_SQL_SAMPLE_ROWS = 20_000
_UNITS = {"numeric": "kW", "matrix": "bar"}


@dataclass
class Result:
    step: str
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def synthetic_properties(product_index: int, count: int) -> list[dict[str, Any]]:
    """API-shaped property records of every type, deterministic, with the audit users of the current shape."""
    kinds = ("numeric", "text", "date", "status", "matrix", "formula")
    user = {"id": "auth0|bench-user", "userName": "Bench User", "imageUrl": None}
    records = []
    for n in range(count):
        kind = kinds[n % len(kinds)]
        value: Any = {
            "numeric": n * 0.5,
            "text": f"text value {n} – ünïcode",
            "date": f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "status": ("Draft", "Under Review", "Done")[n % 3],
            "matrix": f"[[{n},{n + 1}],[{n + 2},{n + 3}]]",
            "formula": f"{n / 10} kg",
        }[kind]
        records.append(
            {
                "id": f"prop-{product_index}-{n}",
                "readable_id": f"prop_{n}",
                "item_id": f"item-{product_index}-{n // 20}",
                "name": f"Property {n}",
                "type": kind,
                "value": value,
                "deleted": n % 50 == 0,
                "category": "POWER" if kind in _UNITS else None,
                "display_unit": _UNITS.get(kind),
                "draft_property_id": None,
                "references": [] if n % 7 else [{"item_document_id": "doc-1", "page": n % 100}],
                "formula_expression": "@{a} / @{b}" if kind == "formula" else None,
                "createdBy": user,
                "createdAt": "2026-01-12T09:00:00.000Z",
                "updatedAt": "2026-02-20T16:45:10.000Z",
                "updatedBy": user,
            }
        )
    return records


def timed(step: str, rows: int, action: Callable[[], object]) -> Result:
    start = time.perf_counter()
    action()
    return Result(step, rows, time.perf_counter() - start)


def product_frames(rows: int, per_product: int) -> Iterator[tuple[str, pd.DataFrame]]:
    for index, start in enumerate(range(0, rows, per_product)):
        records = synthetic_properties(index, min(per_product, rows - start))
        product_id = f"product-{index}"
        yield (
            product_id,
            normalize("properties", records, endpoint="bench", product_id=product_id, workspace_id="ws"),
        )


def bench_merges(
    label: str,
    url: str,
    schema: str,
    frames: list[tuple[str, pd.DataFrame]],
    results: list[Result],
    *,
    session: bool,
) -> None:
    """First load and unchanged rerun, one merge (one transaction) per product, as the Dagster layer does."""
    total = sum(len(frame) for _, frame in frames)
    synced_at = datetime(2026, 3, 1, tzinfo=UTC)
    with Warehouse(url, schema) as warehouse, warehouse.session() if session else contextlib.nullcontext():
        warehouse.ensure()

        def merge_all(at: datetime) -> None:
            for product_id, frame in frames:
                warehouse.merge([Batch("properties", frame, {"product_id": product_id})], synced_at=at)

        results.append(timed(f"{label}, first load", total, lambda: merge_all(synced_at)))
        print(
            f"  {results[-1].step}: {results[-1].seconds:.1f}s, peak RSS {peak_rss_mb():.0f} MB",
            file=sys.stderr,
        )
        results.append(timed(f"{label}, unchanged rerun", total, lambda: merge_all(synced_at + timedelta(1))))
        assert warehouse.row_count("properties") == total
        assert warehouse.row_count("properties_history") == total


def bench_peers(
    name: str, url: str, schema: str, frames: list[tuple[str, pd.DataFrame]], results: list[Result]
) -> None:
    """The same frames written by the raw native path and by `DataFrame.to_sql`."""
    total = sum(len(frame) for _, frame in frames)
    synced_at = datetime(2026, 3, 1, tzinfo=UTC)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    dialect = dialect_of(engine.dialect.name)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    raw_table = dataclasses.replace(PROPERTIES, name="raw_properties")
    per_product_table = dataclasses.replace(PROPERTIES, name="raw_properties_per_product")
    with engine.begin() as connection:
        connection.exec_driver_sql(create_table(raw_table, schema, dialect))

    stamped = [frame.assign(_synced_at=pd.Timestamp(synced_at)) for _, frame in frames]

    def raw_native() -> None:
        with engine.begin() as connection:
            for frame in stamped:
                load_frame(connection, dialect, qualified(schema, "raw_properties", dialect), frame)

    results.append(timed(f"{name}: raw native insert", total, raw_native))

    def raw_native_per_product() -> None:
        for frame in stamped:
            with engine.begin() as connection:
                load_frame(
                    connection, dialect, qualified(schema, "raw_properties_per_product", dialect), frame
                )

    with engine.begin() as connection:
        connection.exec_driver_sql(create_table(per_product_table, schema, dialect))
    results.append(timed(f"{name}: raw native, a transaction per product", total, raw_native_per_product))
    sample = pd.concat(stamped).head(TO_SQL_SAMPLE_ROWS)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE IF EXISTS {qualified(schema, 'to_sql_properties', dialect)}")
    results.append(
        timed(
            f"{name}: DataFrame.to_sql (sample)",
            len(sample),
            lambda: sample.to_sql("to_sql_properties", engine, schema=schema, index=False, chunksize=5_000),
        )
    )
    engine.dispose()


def measure(rows: int, per_product: int, postgres_url: str | None, duckdb_query: str = "") -> list[Result]:
    """Every step on DuckDB (`duckdb_query` appended to its URL), then on PostgreSQL unless it is None."""
    results: list[Result] = []
    start = time.perf_counter()
    frames = list(product_frames(rows, per_product))
    results.append(Result("normalize (incl. generating records)", rows, time.perf_counter() - start))
    print(f"  normalized {rows} rows, peak RSS {peak_rss_mb():.0f} MB", file=sys.stderr)

    with tempfile.TemporaryDirectory() as directory:
        duckdb_url = f"duckdb:///{Path(directory) / 'bench.duckdb'}" + (
            f"?{duckdb_query}" if duckdb_query else ""
        )
        bench_merges("DuckDB: merge", duckdb_url, "per_merge", frames, results, session=False)
        bench_merges("DuckDB: merge in session()", duckdb_url, "in_session", frames, results, session=True)
        bench_peers("DuckDB", duckdb_url, "poelis", frames, results)
    if postgres_url is not None:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        try:
            bench_merges("PostgreSQL: merge", postgres_url, schema, frames, results, session=False)
            bench_peers("PostgreSQL", postgres_url, schema, frames, results)
        finally:
            engine = sa.create_engine(postgres_url)
            with engine.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            engine.dispose()
    return results


PEERS = ("raw native insert", "raw native, a transaction per product")


def ratios_to_raw(results: list[Result]) -> list[tuple[Result, list[float | None]]]:
    """Each step with its time relative to the same backend's raw native peers (rows/s ratio)."""
    by_step = {result.step: result for result in results}
    rows = []
    for result in results:
        backend = result.step.split(":")[0]
        ratios: list[float | None] = []
        for peer in PEERS:
            raw = by_step.get(f"{backend}: {peer}")
            ratios.append(raw.rows_per_second / result.rows_per_second if raw else None)
        rows.append((result, ratios))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--per-product", type=int, default=10_000, help="properties per product (one merge each)"
    )
    parser.add_argument(
        "--postgres-url", default=os.environ.get(settings.ENV_TEST_POSTGRES_URL, DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--duckdb-query", default="", help="URL query for the DuckDB file, e.g. threads=1")
    args = parser.parse_args(argv)

    postgres_url = None if args.skip_postgres else args.postgres_url
    results = measure(args.rows, args.per_product, postgres_url, args.duckdb_query)
    header = f"{'step':<50} {'rows':>9} {'seconds':>8} {'rows/s':>10} {'vs raw':>7} {'vs raw/product':>15}"
    print("\n" + header)
    for result, ratios in ratios_to_raw(results):
        shown = [f"{ratio:.2f}x" if ratio is not None else "" for ratio in ratios]
        speed = f"{result.seconds:>8.2f} {result.rows_per_second:>10,.0f}"
        print(f"{result.step:<50} {result.rows:>9} {speed} {shown[0]:>7} {shown[1]:>15}")
    print(f"\npeak RSS: {peak_rss_mb():.0f} MB (process high-water mark)")


if __name__ == "__main__":
    main()
