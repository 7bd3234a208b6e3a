"""End-to-end syncs against the peers, each in its own process, the fake API in another.

    used by `python -m benchmarks` (`make bench`)

Every run copies the same organization (workspaces -> products -> items -> properties, soft-deleted
included) from one fake API process into a fresh DuckDB file. Per run: wall time, requests the fake
served (counted at the server, by status), peak RSS and CPU seconds of the syncing process (`os.wait4`),
and the rows it wrote (counted in its DuckDB file afterwards, so a peer that loses rows shows it).

Peers (`benchmarks/peers/`): `floor` (one keep-alive session, one native DuckDB insert per table),
`naive` (requests + `pandas.json_normalize` + `DataFrame.to_sql`), `dlt` (dlt's `rest_api` source, with its
stock offset paginator or with a ten-line one that stops on a short page). This
package runs as users run it: `python -m poelis_pipelines sync --fresh` with a Dagster instance in a
temporary `DAGSTER_HOME` (SQLite run and event storage, the project's `dagster.yaml`).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from poelis_pipelines import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PROJECT_DAGSTER_YAML = PROJECT_ROOT / "dagster_home" / "dagster.yaml"
OURS = "poelis-pipelines"
DLT_SHORT_PAGE = "dlt-short-page"
PEERS = ("floor", OURS, "dlt", DLT_SHORT_PAGE, "naive")
PEER_MODULES = {
    "floor": "benchmarks.peers.floor",
    "naive": "benchmarks.peers.naive",
    "dlt": "benchmarks.peers.dlt_rest_api",
    DLT_SHORT_PAGE: "benchmarks.peers.dlt_short_page",
}
LEVELS = ("workspaces", "products", "items", "properties")


@dataclass
class FakeInfo:
    base_url: str
    api_key: str
    counts: dict[str, int]
    minimum_requests: int


class FakeAPI:
    """The fake API in a child process (`benchmarks.fake_child`), with its dataset built before timing."""

    def __init__(self, scale: str, rate_limit: tuple[int, int, float] | None = None) -> None:
        command = [sys.executable, "-m", "benchmarks.fake_child", "--scale", scale]
        if rate_limit is not None:
            limit, burst, window = rate_limit
            command += ["--rate-limit", str(limit), "--burst", str(burst), "--window", str(window)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=PROJECT_ROOT
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the fake API did not start: {command}")
        self.info = FakeInfo(**json.loads(line))

    def _ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(f"{command}\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def served(self) -> dict[str, Any]:
        """What the fake answered since the previous call: `statuses` (requests by HTTP status), `span`
        (seconds from the first to the last) and `most_in_a_window` (requests in its busiest window)."""
        return self._ask("counters")

    def served_since_last_call(self) -> tuple[dict[str, int], float]:
        """Requests the fake answered since the previous call, by HTTP status, and the seconds from the
        first of them to the last."""
        answer = self.served()
        return {status: int(count) for status, count in answer["statuses"].items()}, float(answer["span"])

    def mutate(self, seed: int) -> list[str]:
        """Change the organization as its users would (`FakePoelisServer.mutate`); the items it added."""
        return list(self._ask(f"mutate {seed}")["added_items"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


@contextmanager
def fake_api(scale: str, rate_limit: tuple[int, int, float] | None = None) -> Iterator[FakeAPI]:
    fake = FakeAPI(scale, rate_limit)
    try:
        yield fake
    finally:
        fake.close()


@dataclass
class Run:
    peer: str
    seconds: float
    requests: int
    statuses: dict[str, int]
    request_span: float  # seconds from the first request the fake served to the last
    peak_rss_mb: float
    cpu_seconds: float
    rows: dict[str, int] = field(default_factory=dict)


def _command(peer: str, info: FakeInfo, database: Path) -> list[str]:
    if peer == OURS:
        return [
            sys.executable,
            "-m",
            "poelis_pipelines",
            "sync",
            "--fresh",
            "--warehouse-url",
            f"duckdb:///{database}",
        ]
    return [sys.executable, "-m", PEER_MODULES[peer], info.base_url, str(database)]


def _count_rows(peer: str, database: Path, stdout: str) -> dict[str, int]:
    if peer == OURS:
        tables = {level: f"{settings.DEFAULT_WAREHOUSE_SCHEMA}.{level}" for level in LEVELS}
    else:
        tables = json.loads(stdout.strip().splitlines()[-1])["tables"]
    with duckdb.connect(str(database), read_only=True) as connection:
        return {
            level: connection.execute(f"SELECT count(*) FROM {tables[level]}").fetchall()[0][0]
            for level in LEVELS
        }


def run_peer(peer: str, fake: FakeAPI, workdir: Path) -> Run:
    """One sync by `peer` into a fresh DuckDB file; its RSS and CPU come from `wait4` on its process."""
    info = fake.info
    database = workdir / f"{peer}.duckdb"
    database.unlink(missing_ok=True)
    dagster_home = workdir / "dagster_home"
    shutil.rmtree(dagster_home, ignore_errors=True)
    dagster_home.mkdir()
    shutil.copy(PROJECT_DAGSTER_YAML, dagster_home)
    env = {
        **os.environ,
        settings.ENV_API_KEY: info.api_key,
        settings.ENV_BASE_URL: info.base_url,
        "DAGSTER_HOME": str(dagster_home),
        "RUNTIME__LOG_LEVEL": "WARNING",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    fake.served_since_last_call()
    stdout_path, stderr_path = workdir / f"{peer}.out", workdir / f"{peer}.err"
    with stdout_path.open("w") as stdout, stderr_path.open("w") as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(
            _command(peer, info, database), env=env, stdout=stdout, stderr=stderr, cwd=PROJECT_ROOT
        )
        _pid, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{peer} failed ({process.returncode}): {stderr_path.read_text()[-2000:]}")
    statuses, request_span = fake.served_since_last_call()
    return Run(
        peer=peer,
        seconds=seconds,
        requests=sum(statuses.values()),
        statuses=statuses,
        request_span=request_span,
        peak_rss_mb=usage.ru_maxrss / 1024,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        rows=_count_rows(peer, database, stdout_path.read_text()),
    )


@dataclass
class PeerSummary:
    """Medians over a peer's runs at one size."""

    peer: str
    runs: list[Run]

    def median(self, name: str) -> float:
        return statistics.median(getattr(run, name) for run in self.runs)

    @property
    def rows(self) -> int:
        return sum(self.runs[0].rows.values())


def full_sync(scale: str, peers: dict[str, int], workdir: Path) -> tuple[FakeInfo, list[PeerSummary]]:
    """Each peer `peers[peer]` times, interleaved (run 1 of every peer, then run 2, ...) against one fake."""
    with fake_api(scale) as fake:
        runs: dict[str, list[Run]] = {peer: [] for peer in peers}
        for round_index in range(max(peers.values())):
            for peer, count in peers.items():
                if round_index < count:
                    run = run_peer(peer, fake, workdir)
                    print(
                        f"  {scale} {peer} run {round_index + 1}: {run.seconds:.1f}s, "
                        f"{run.requests} requests, {run.peak_rss_mb:.0f} MB",
                        file=sys.stderr,
                    )
                    runs[peer].append(run)
        expected = fake.info.counts
        for peer, peer_runs in runs.items():
            for run in peer_runs:
                if run.rows != expected:
                    raise RuntimeError(f"{peer} wrote {run.rows}, the fake holds {expected}")
        return fake.info, [PeerSummary(peer, peer_runs) for peer, peer_runs in runs.items()]


@dataclass
class RateLimitedRun:
    scale: str
    limit: int
    burst: int
    window: float
    minimum_requests: int
    peer: str
    run: Run | None
    failure: str | None = None

    @property
    def allowed_rate(self) -> float:
        return (self.limit + self.burst) / self.window

    @property
    def quota_floor_seconds(self) -> float:
        return self.minimum_requests / self.allowed_rate


def rate_limited_sync(
    scale: str, limit: int, burst: int, window: float, peers: tuple[str, ...], workdir: Path
) -> list[RateLimitedRun]:
    """Each peer under a scaled quota window, against its own fresh fake (so each starts on a new window).

    Requests and 429s are counted by the fake. A peer other than this package that gives up (429s it does
    not absorb) is reported as failed rather than stopping the benchmark.
    """
    results = []
    for peer in peers:
        with fake_api(scale, (limit, burst, window)) as fake:
            minimum = fake.info.minimum_requests
            try:
                run = run_peer(peer, fake, workdir)
            except RuntimeError as error:
                if peer == OURS:
                    raise
                last_line = str(error).strip().splitlines()[-1][:200]
                results.append(RateLimitedRun(scale, limit, burst, window, minimum, peer, None, last_line))
                continue
            if run.rows != fake.info.counts:
                raise RuntimeError(
                    f"{peer} wrote {run.rows} under the quota, the fake holds {fake.info.counts}"
                )
            results.append(RateLimitedRun(scale, limit, burst, window, minimum, peer, run))
            print(f"  rate-limited {peer}: {run.seconds:.1f}s, {run.statuses}", file=sys.stderr)
    return results
