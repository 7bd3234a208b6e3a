"""Chaos helpers: the real `poelis-pipelines sync` in a subprocess against the fake API in this process.

Every scenario ends with the same three proofs: the warehouse holds exactly the fake's data (normalized as the
sync normalizes it, bookkeeping columns aside), the `*_history` tables are consistent, and the key's text
appears in no output, no file under the test's folder (DAGSTER_HOME, the DuckDB file) and no warehouse row.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.tables import TABLES, all_tables
from poelis_pipelines.warehouse import Warehouse

# The comparison the Dagster-layer tests use, so both suites agree on what "identical" means.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "defs"))
from sync_helpers import comparable, expected_frames

# Many retries, short back-off: the faults scenario survives 22% failing requests in seconds, not minutes.
FAST_RETRIES = {settings.ENV_MAX_ATTEMPTS: "12", settings.ENV_BACKOFF_SECONDS: "0.02"}
CLI_TIMEOUT_SECONDS = 240
REPOSITORY_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml"
WAIT_SECONDS = 60


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll a condition until it holds; fail naming it after `timeout` seconds (never sleep for luck)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.002)


@dataclass
class Cli:
    """One warehouse target, the environment a user would set for it, and every output the CLI produced."""

    server: FakePoelisServer
    folder: Path
    env: dict[str, str]
    outputs: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.env[settings.ENV_WAREHOUSE_URL]

    @property
    def schema(self) -> str:
        return self.env.get(settings.ENV_WAREHOUSE_SCHEMA, settings.DEFAULT_WAREHOUSE_SCHEMA)

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "poelis_pipelines", *args],
            env=self.env,
            cwd=self.folder,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
            check=False,
        )
        self.outputs += [result.stdout, result.stderr]
        return result

    def sync(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`poelis-pipelines sync` that must succeed."""
        result = self.run("sync", *args)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def start(self, *args: str) -> subprocess.Popen[str]:
        """A command in the background; its output goes to files that outlive it (for the leak check)."""
        log = self.folder / f"background-{len(list(self.folder.glob('background-*')))}"
        with log.with_suffix(".out").open("w") as stdout, log.with_suffix(".err").open("w") as stderr:
            return subprocess.Popen(
                [sys.executable, "-m", "poelis_pipelines", *args],
                env=self.env,
                cwd=self.folder,
                stdout=stdout,
                stderr=stderr,
                text=True,
            )

    def warehouse(self) -> Warehouse:
        return Warehouse(self.url, self.schema)

    def requests_of(self, action: Callable[[], object]) -> int:
        """How many requests the fake served while `action` ran."""
        before = self.server.total_requests
        action()
        return self.server.total_requests - before

    # --- the proofs every scenario ends with ---

    def assert_matches_fake(self, workspace_ids: set[str] | None = None) -> int:
        """Live rows equal the fake's records (of these workspaces), table by table; returns rows compared."""
        expected = expected_frames(self.server.dataset, workspace_ids)
        compared = 0
        with self.warehouse() as warehouse:
            for table in TABLES:
                stored = warehouse.read_table(table)
                live = stored[stored["_removed_at"].isna()]
                pd.testing.assert_frame_equal(
                    comparable(live, table), comparable(expected[table], table), check_dtype=False
                )
                compared += len(live)
        return compared

    def assert_history_consistent(self) -> None:
        """No duplicate keys; per id one open version (the current row) and no overlapping versions."""
        with self.warehouse() as warehouse:
            for table in TABLES.values():
                current = warehouse.read_table(table.name)
                assert not current["id"].duplicated().any(), f"{table.name} repeats a primary key"
                history = warehouse.read_table(table.history_name)
                open_versions = history[history["_valid_to"].isna()]
                assert not open_versions["id"].duplicated().any(), f"{table.history_name}: two open versions"
                assert set(open_versions["id"]) == set(current["id"]), f"{table.history_name} != {table.name}"
                for row_id, versions in history.groupby("id"):
                    ordered = versions.sort_values("_valid_from")
                    ends = ordered["_valid_to"].iloc[:-1].to_numpy()
                    starts = ordered["_valid_from"].iloc[1:].to_numpy()
                    assert (ends <= starts).all(), f"{table.history_name} {row_id}: overlapping versions"
                    assert ordered["_valid_to"].iloc[:-1].notna().all(), f"{row_id}: an older version is open"

    def assert_key_absent(self, key: str | None = None) -> None:
        """The key in no output, no file under the test's folder (bytes), no warehouse cell."""
        key = key or self.server.api_key
        for text in self.outputs:
            assert key not in text
        needle = key.encode()
        for path in self.folder.rglob("*"):
            if path.is_file():
                assert needle not in path.read_bytes(), f"the API key leaked into {path}"
        with self.warehouse() as warehouse:
            for table in all_tables():
                frame = warehouse.read_table(table.name)
                assert (
                    not frame.astype(str)
                    .apply(lambda column: column.str.contains(key, regex=False))
                    .any()
                    .any()
                ), f"the API key leaked into {table.name}"


def cli_environment(server: FakePoelisServer, folder: Path, url: str, schema: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("POELIS_")}
    dagster_home = folder / "dagster_home"
    dagster_home.mkdir(exist_ok=True)
    shutil.copy(REPOSITORY_DAGSTER_YAML, dagster_home)  # as `make` sets it up: the pool, no telemetry banner
    env.update(
        {
            settings.ENV_API_KEY: server.api_key,
            settings.ENV_BASE_URL: server.base_url,
            settings.ENV_WAREHOUSE_URL: url,
            settings.ENV_WAREHOUSE_SCHEMA: schema,
            "DAGSTER_HOME": str(dagster_home),
            # The scenarios prove the draft's levels (resume skips what was committed, a fresh sync costs
            # more than a resumed one); published versions resume on their own, proved in tests/versions.
            settings.ENV_VERSIONS: settings.VERSIONS_NONE,
            **FAST_RETRIES,
        }
    )
    return env
