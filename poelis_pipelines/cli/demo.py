"""`poelis-pipelines demo` (what `make demo` runs): the real sync against the bundled fake API.

Nothing leaves this machine: the fake Poelis API serves a generated engineering organization on a free
loopback port, the real assets sync it into the default DuckDB file, and the demo shows what analysts get.
"""

from __future__ import annotations

import argparse
import os

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.cli.output import EXIT_OK, Output
from poelis_pipelines.cli.sync_command import apply_target_arguments, run_sync, warehouse_from_environment
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse.inspection import preview

SAMPLE_ROWS = 8
QUERY_SNIPPET = (
    "\"import duckdb; print(duckdb.connect('data/warehouse.duckdb', read_only=True).sql('{query}'))\""
)
SAMPLE_COLUMNS = ("workspace_name", "product_name", "item_path", "property_name", "property_type", "shown")


def shown_values(sample: pd.DataFrame) -> pd.Series:
    """The typed value as a person reads it: number and unit, else text, date or matrix."""
    number = sample["value_number"].astype("Float64").map(lambda value: f"{value:g}", na_action="ignore")
    numeric = (number.astype("string") + " " + sample["value_unit"].astype("string").fillna("")).str.strip()
    shown = numeric
    for column in ("value_text", "value_date", "value_matrix"):
        shown = shown.fillna(sample[column].astype("string"))
    return shown.fillna("")


def run_demo(args: argparse.Namespace, output: Output) -> int:
    apply_target_arguments(args)
    with FakePoelisServer(seed=args.seed, scale=args.scale) as server:
        os.environ[settings.ENV_API_KEY] = server.api_key
        os.environ[settings.ENV_BASE_URL] = server.base_url
        os.environ.pop(settings.ENV_API_KEY_FILE, None)
        output.line(f"Fake Poelis API ({args.scale} organization, seed {args.seed}) at {server.base_url}")
        exit_code, _summary = run_sync(args, output)
    if exit_code != EXIT_OK:
        return exit_code
    with warehouse_from_environment() as warehouse:
        output.line()
        output.line(f"Rows in {warehouse.display_url}:")
        for table in TABLES:
            output.line(f"  {warehouse.schema}.{table:<24} {warehouse.row_count(table):>8}")
        sample = preview(warehouse, "property_values", SAMPLE_ROWS)
        sample["shown"] = shown_values(sample)
        columns = list(SAMPLE_COLUMNS)
        output.line()
        output.line(f"A sample of {warehouse.schema}.property_values:")
        output.line(sample[columns].to_string(index=False, max_colwidth=32))
        schema = warehouse.schema
    output.line()
    output.line("Next:")
    output.line(
        "  Open the Dagster UI (runs, assets, checks, schedule):  make dev   then http://127.0.0.1:3000"
    )
    snippet = QUERY_SNIPPET.format(query=f"FROM {schema}.property_values LIMIT 5")
    output.line(f"  Query the warehouse:  .venv/bin/python -c {snippet}")
    return EXIT_OK
