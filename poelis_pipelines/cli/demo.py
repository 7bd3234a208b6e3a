"""`poelis-pipelines demo` (what `make demo` runs): the real sync against the bundled fake API.

Nothing leaves this machine and nothing of the user's is touched: the fake Poelis API serves a generated
engineering organization on a free loopback port, the real sync (`poelis-pipelines sync`, in a child process
given only the demo's settings) loads it into the demo's own DuckDB file and Dagster home under `data/demo/`,
whatever POELIS_* and DAGSTER_HOME say, and the demo shows what analysts get.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.cli import interrupts
from poelis_pipelines.cli.child import run_child
from poelis_pipelines.cli.output import EXIT_OK, Output
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.tables import TABLES
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import preview

SAMPLE_ROWS = 8
QUERY_SNIPPET = "\"import duckdb; print(duckdb.connect('{path}', read_only=True).sql('{query}'))\""
SAMPLE_COLUMNS = ("workspace_name", "product_name", "item_path", "property_name", "property_type", "shown")
# The instance settings of the repository's dagster_home/dagster.yaml (a test keeps the two equal): no
# telemetry, and one API-calling step at a time, so the demo's and `make dev`'s runs pace as one organization.
DEMO_INSTANCE_YAML = """\
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


@dataclass(frozen=True)
class DemoSite:
    """The demo's own warehouse and Dagster home (`data/demo/` of the current directory, like the default
    warehouse), so a demo never merges its fake organization into, or retires workspaces of, real data."""

    root: Path

    @classmethod
    def here(cls) -> DemoSite:
        return cls(Path.cwd() / settings.DEMO_DIR)

    @property
    def warehouse_path(self) -> Path:
        return self.root / settings.DEMO_WAREHOUSE_FILE

    @property
    def warehouse_url(self) -> str:
        return f"duckdb:///{self.warehouse_path}"

    @property
    def dagster_home(self) -> Path:
        return self.root / settings.DEMO_DAGSTER_HOME

    def prepare(self) -> None:
        self.dagster_home.mkdir(parents=True, exist_ok=True)
        instance_config = self.dagster_home / "dagster.yaml"
        if not instance_config.exists():
            instance_config.write_text(DEMO_INSTANCE_YAML, encoding="utf-8")

    def environment(self, server: FakePoelisServer, base: Mapping[str, str]) -> dict[str, str]:
        """`base` without any POELIS_* or DAGSTER_HOME of the user's, plus the fake API and the demo's
        warehouse and Dagster home: what a child process syncs or serves the UI with."""
        environment = {
            name: value
            for name, value in base.items()
            if not name.startswith("POELIS_") and name != "DAGSTER_HOME"
        }
        environment.update(
            {
                settings.ENV_API_KEY: server.api_key,
                settings.ENV_BASE_URL: server.base_url,
                settings.ENV_WAREHOUSE_URL: self.warehouse_url,
                settings.ENV_WAREHOUSE_SCHEMA: settings.DEFAULT_WAREHOUSE_SCHEMA,
                "DAGSTER_HOME": str(self.dagster_home),
            }
        )
        return environment

    def describe(self, output: Output) -> None:
        schema = settings.DEFAULT_WAREHOUSE_SCHEMA
        output.line(f"  warehouse     {os.path.relpath(self.warehouse_path)} (schema {schema})")
        output.line(f"  Dagster home  {os.path.relpath(self.dagster_home)}")
        output.line("  (your own POELIS_* settings and DAGSTER_HOME are not used)")


def shown_values(sample: pd.DataFrame) -> pd.Series:
    """The typed value as a person reads it: number and unit, else text, date or matrix."""
    number = sample["value_number"].astype("Float64").map(lambda value: f"{value:g}", na_action="ignore")
    numeric = (number.astype("string") + " " + sample["value_unit"].astype("string").fillna("")).str.strip()
    shown = numeric
    for column in ("value_text", "value_date", "value_matrix"):
        shown = shown.fillna(sample[column].astype("string"))
    return shown.fillna("")


def run_demo(args: argparse.Namespace, output: Output) -> int:
    site = DemoSite.here()
    site.prepare()
    with FakePoelisServer(seed=args.seed, scale=args.scale) as server:
        output.line(f"Fake Poelis API ({args.scale} organization, seed {args.seed}) at {server.base_url}")
        site.describe(output)
        sync = [sys.executable, "-m", "poelis_pipelines", *(["--debug"] if args.debug else []), "sync"]
        if interrupts.received() is not None:  # stopped while the fake API started: no sync to begin
            raise KeyboardInterrupt
        exit_code = run_child(sync, site.environment(server, os.environ), ours=True)
    if exit_code != EXIT_OK:
        return exit_code
    schema = settings.DEFAULT_WAREHOUSE_SCHEMA
    warehouse_file = os.path.relpath(site.warehouse_path)
    with Warehouse(site.warehouse_url, schema) as warehouse:
        output.line()
        output.line(f"Rows in {warehouse_file}:")
        for table in TABLES:
            output.line(f"  {schema}.{table:<24} {warehouse.row_count(table):>8}")
        sample = preview(warehouse, "property_values", SAMPLE_ROWS)
    sample["shown"] = shown_values(sample)
    output.line()
    output.line(f"A sample of {schema}.property_values:")
    output.line(sample[list(SAMPLE_COLUMNS)].to_string(index=False, max_colwidth=32))
    output.line()
    output.line("Next:")
    output.line(
        "  Open the Dagster UI on these runs:  make dev   then http://127.0.0.1:3000 "
        "(with no POELIS_API_KEY set it serves this fake organization again)"
    )
    snippet = QUERY_SNIPPET.format(path=warehouse_file, query=f"FROM {schema}.property_values LIMIT 5")
    output.line(f"  Query the demo warehouse:  .venv/bin/python -c {snippet}")
    return EXIT_OK
