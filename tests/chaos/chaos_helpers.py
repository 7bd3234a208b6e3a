"""Chaos helpers: the real `poelis-pipelines sync` in a subprocess against the fake API in this process.

Every scenario ends with the same three proofs: the warehouse holds exactly the fake's data (normalized as the
sync normalizes it, bookkeeping columns aside), the `*_history` tables are consistent, and the key's text
appears in no output, no file under the test's folder (DAGSTER_HOME, the DuckDB file) and no warehouse row.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from org_helpers import assert_history_consistent, live_and_expected
from process_helpers import run_cli, user_environment, wait_for

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer
from poelis_pipelines.tables import all_tables
from poelis_pipelines.warehouse import Warehouse

# Many retries, short back-off: the faults scenario survives 22% failing requests in seconds, not minutes.
FAST_RETRIES = {settings.ENV_MAX_ATTEMPTS: "12", settings.ENV_BACKOFF_SECONDS: "0.02"}
REPOSITORY_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster_home" / "dagster.yaml"


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
        result = run_cli(*args, env=self.env, cwd=self.folder)
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
        compared = 0
        with self.warehouse() as warehouse:
            for _table, live, expected in live_and_expected(warehouse, self.server.dataset, workspace_ids):
                pd.testing.assert_frame_equal(live, expected, check_dtype=False)
                compared += len(live)
        return compared

    def assert_history_consistent(self) -> None:
        """No duplicate keys; per id one open version (the current row) and no overlapping versions."""
        with self.warehouse() as warehouse:
            assert_history_consistent(warehouse)

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
    dagster_home = folder / "dagster_home"
    env = user_environment(server, url, dagster_home)
    shutil.copy(REPOSITORY_DAGSTER_YAML, dagster_home)  # as `make` sets it up: the pool, no telemetry banner
    # The scenarios prove the draft's levels (resume skips what was committed, a fresh sync costs more than
    # a resumed one); published versions resume on their own, proved in tests/versions.
    return env | {
        settings.ENV_WAREHOUSE_SCHEMA: schema,
        settings.ENV_VERSIONS: settings.VERSIONS_NONE,
        **FAST_RETRIES,
    }


@contextmanager
def properties_merge_blocked(url: str, schema: str, process: subprocess.Popen[Any]) -> Iterator[None]:
    """While the block runs, the sync in `process` (into PostgreSQL) waits inside a properties merge: once
    its first product's properties are committed, a lock on `properties_history` blocks the next merge."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as observer:

            def first_properties_scope_committed() -> bool:
                exists = observer.execute(
                    sa.text("SELECT to_regclass(:name) IS NOT NULL"), {"name": f'"{schema}".sync_runs'}
                ).scalar_one()
                committed = (
                    exists
                    and observer.exec_driver_sql(
                        f'SELECT count(*) FROM "{schema}".sync_runs '
                        "WHERE table_name = 'properties' AND status = 'success'"
                    ).scalar_one()
                )
                observer.rollback()
                return bool(committed) or process.poll() is not None

            wait_for(first_properties_scope_committed, "the first product's properties to commit")
            with engine.connect() as blocker:
                blocker.exec_driver_sql(f'LOCK TABLE "{schema}".properties_history IN ACCESS EXCLUSIVE MODE')

                def merge_blocked() -> bool:
                    waiting = (
                        observer.exec_driver_sql(
                            "SELECT query FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                            "AND datname = current_database()"
                        )
                        .scalars()
                        .all()
                    )
                    observer.rollback()
                    blocked = any(
                        "properties_history" in query and "COMMENT" not in query for query in waiting
                    )
                    return blocked or process.poll() is not None

                wait_for(merge_blocked, "the next properties merge to block inside its transaction")
                assert process.poll() is None, "the sync ended before its merge was blocked"
                yield
                blocker.rollback()
    finally:
        engine.dispose()
