"""Runs the Dagster assets in this process: the CLI's only way to sync (one code path with the UI).

Runs are recorded in the instance at `DAGSTER_HOME` when it is set, so CLI syncs show in the Dagster UI. The
workspace list is synced in one run (the partitions come from it), then every workspace partition and the
views in a second run over the partition range: Dagster's fixed cost per run (~1 s: run record, planned
events, a SQLite event log) is paid twice per sync instead of once per workspace.

A run executes on a thread of its own: on the main thread Dagster takes over SIGINT and SIGTERM and turns them
into an exception raised wherever a step happens to be, which the RetryPolicy then retries. Off the main
thread it leaves signals to the CLI, whose handler sets `sync.STOP`; the step then ends between two commits
and cancels its run, and no further run starts.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from poelis_pipelines import sync
from poelis_pipelines.defs.poelis.assets import (
    FAILURE_KIND,
    NO_STEP_RETRIES_TAG,
    RUN_BUDGET_TAG,
    SYNC_KEY_TAG,
)
from poelis_pipelines.defs.poelis.checks import PROPERTIES_STALENESS
from poelis_pipelines.defs.poelis.factory import build_poelis_defs
from poelis_pipelines.defs.poelis.names import PoelisDefsNames
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, PoelisWarehouseResource
from poelis_pipelines.defs.poelis.schedules import PARTITION_RANGE_END_TAG, PARTITION_RANGE_START_TAG
from poelis_pipelines.incremental import REASONS

LEVELS_PER_WORKSPACE = ("products", "items", "properties")
WITH_THE_WORKSPACE_LIST = ("users",)  # organization-wide: synced in the workspace list's run
AFTER_THE_LEVELS = ("product_versions",)  # after the draft's levels: versions spend what the budget leaves
TRIGGER_TAG = "poelis/trigger"
HOST_TAG = "poelis/host"
PID_TAG = "poelis/pid"  # with the host: tells a killed CLI run from a live one
SIGNAL_POLL_SECONDS = 0.1  # how long a signal another thread received may wait for the main thread
INTERRUPTED_KIND = "interrupted"  # the failure kind of a step that stopped on `sync.STOP`
# No compute-log capture: it runs `tail` and a Python watcher per run in our process group, which a terminal's
# Ctrl-C kills (the watcher with a traceback), and it would copy the live progress display into the logs.
CLI_INSTANCE_OVERRIDES = {
    "compute_logs": {
        "module": "dagster._core.storage.noop_compute_log_manager",
        "class": "NoOpComputeLogManager",
    }
}
SUMMARY_FIELDS = (
    "records_from_api",
    "inserted",
    "updated",
    "unchanged",
    "removed",
    "http_requests",
    "http_429s",
)
VERSIONS_SUMMARY_FIELDS = ("versions_complete", "versions_pending", "versions_completed")
"""The `product_versions` asset's figures that add up over its partitions."""


@dataclass
class RunFailure:
    label: str
    message: str
    kind: str  # "configuration", "data", "transient" or "interrupted"


@dataclass
class SyncSummary:
    """Totals per table across every run of one sync, and the failures that stopped parts of it."""

    sync_key: str
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    failures: list[RunFailure] = field(default_factory=list)
    workspaces: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)
    interrupted: bool = False  # stopped on `sync.STOP` before every run had finished
    requests: int = 0
    """Requests the sync's runs sent (each run's client), retries included: what its budget counts."""
    budget_exhausted: bool = False
    """The sync's request budget ran out: what was fetched is committed, the rest waits for the next sync."""
    items_listed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASONS, 0))
    """Items whose properties an incremental sync listed, per reason (new, hint, rotation)."""
    stale_checks: list[str] = field(default_factory=list)
    """The properties' staleness check when it warned or erred: said, but the sync still succeeded."""

    def absorb(self, result: dg.ExecuteInProcessResult) -> None:
        self.run_ids.append(result.run_id)
        for evaluation in result.get_asset_check_evaluations():
            if evaluation.passed:
                continue
            name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
            if evaluation.check_name == PROPERTIES_STALENESS:  # non-blocking: the data is still the best copy
                self.stale_checks.append(f"{name} ({evaluation.severity.value})")
            else:
                self.failed_checks.append(name)
        # One materialization per partition, each with that partition's own figures: they add up.
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            table = materialization.asset_key.path[-1]
            totals = self.tables.setdefault(table, dict.fromkeys(SUMMARY_FIELDS, 0))
            for name in (*SUMMARY_FIELDS, *VERSIONS_SUMMARY_FIELDS):
                value = materialization.metadata.get(name)
                if value is not None:
                    totals[name] = totals.get(name, 0) + value.value  # type: ignore[operator]
            for reason in REASONS:
                listed = materialization.metadata.get(f"items_listed_{reason}")
                if listed is not None:
                    self.items_listed[reason] += int(listed.value)  # type: ignore[arg-type]
            exhausted = materialization.metadata.get("budget_exhausted")
            if exhausted is not None and exhausted.value:
                self.budget_exhausted = True

    @property
    def succeeded(self) -> bool:
        return not self.failures and not self.failed_checks and not self.interrupted


def dagster_instance() -> dg.DagsterInstance:
    """The instance at `DAGSTER_HOME` (runs show in the UI), else a throwaway one.

    `local_temp` is `DagsterInstance.get()` for a given folder plus overrides: the folder's dagster.yaml and
    storage, without compute-log capture.
    """
    home = os.environ.get("DAGSTER_HOME")
    if home:
        return dg.DagsterInstance.local_temp(os.path.expanduser(home), overrides=CLI_INSTANCE_OVERRIDES)
    return dg.DagsterInstance.ephemeral()


def _failures_of(result: dg.ExecuteInProcessResult, label: str) -> list[RunFailure]:
    failures = []
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        user_data = data.user_failure_data
        if user_data is not None:
            kind_value = user_data.metadata.get(FAILURE_KIND)
            kind = str(kind_value.value) if kind_value is not None else "transient"
            message = user_data.description or user_data.label
        else:
            kind = "transient"
            message = data.error.message.strip().splitlines()[0] if data.error else "unknown error"
        failures.append(RunFailure(label=f"{label} ({event.step_key})", message=message, kind=kind))
    if not result.success and not failures:
        failures.append(
            RunFailure(label=label, message="the run failed before any step ran", kind="transient")
        )
    return failures


def _off_the_main_thread(work: Callable[[], dg.ExecuteInProcessResult]) -> dg.ExecuteInProcessResult:
    """`work()` on a thread of its own, so that Dagster leaves SIGINT and SIGTERM to the CLI's handlers.

    The main thread, the only one that runs Python's signal handlers, waits in short `join`s: the kernel may
    deliver a signal to any thread, and a main thread blocked for good would handle it only after the run.
    """
    outcome: list[dg.ExecuteInProcessResult] = []
    raised: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work())
        except BaseException as error:  # re-raised on the caller's thread
            raised.append(error)

    worker = threading.Thread(target=run, name="poelis-run", daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(SIGNAL_POLL_SECONDS)
    if raised:
        raise raised[0]
    return outcome[0]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def release_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed, and free the pool slot of, every CLI run on this host whose process is gone.

    A CLI process killed mid-step (`kill -9`, OOM, power loss) leaves its run STARTED and its `poelis_api`
    pool slot taken; with no daemon to notice, every later sync would wait for that slot forever. Runs of
    live processes (another sync into another warehouse) are left alone.
    """
    unfinished = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[
                dg.DagsterRunStatus.NOT_STARTED,
                dg.DagsterRunStatus.STARTING,
                dg.DagsterRunStatus.STARTED,
            ],
            tags={TRIGGER_TAG: "cli", HOST_TAG: socket.gethostname()},
        )
    )
    released = []
    for run in unfinished:
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or _process_alive(int(pid)):
            continue
        instance.report_run_failed(run, "the CLI process running it ended without finishing (killed?)")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released


@dataclass(frozen=True)
class SyncResources:
    """What a CLI sync hands to its runs, built from its flags (a setting no flag gives: the environment,
    read when a run starts)."""

    poelis: PoelisResource = field(default_factory=PoelisResource)
    warehouse: PoelisWarehouseResource = field(default_factory=PoelisWarehouseResource)
    sync_settings: PoelisSyncSettings = field(default_factory=PoelisSyncSettings)


class Runner:
    """Executes the sync job of the factory's default definitions in process, over ranges of workspace
    partitions. `max_requests` is the budget of the whole sync, shared by its runs."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        sync_key: str | None = None,
        *,
        debug: bool = False,
        resources: SyncResources | None = None,
        max_requests: int | None = None,
    ) -> None:
        self.instance = instance
        self.names = PoelisDefsNames()
        self.resources = resources or SyncResources()
        self.max_requests = max_requests
        self.job = self._job()
        self.summary = SyncSummary(sync_key=sync_key or f"cli-{uuid.uuid4()}")
        # The CLI reports progress and failures itself; Dagster's console log is for --debug.
        self.run_config = {
            "loggers": {"console": {"config": {"log_level": "DEBUG" if debug else "CRITICAL"}}}
        }

    def _job(self) -> dg.JobDefinition:
        names = self.names
        definitions = build_poelis_defs(
            poelis=self.resources.poelis,
            sync_settings=self.resources.sync_settings,
            key_prefix=names.key_prefix,
            group_name=names.group_name,
            resource_keys=names.resource_keys,
            partitions_name=names.partitions_name,
            pool=names.pool,
            job_name=names.job_name,
        )
        # The warehouse as it is, not as config: Dagster stores a job's resource config (the values a
        # resource was built with included) with every run, and a warehouse URL may hold a password.
        warehouse = dg.ResourceDefinition.hardcoded_resource(self.resources.warehouse)
        return dg.Definitions(
            assets=definitions.assets,
            jobs=definitions.jobs,
            resources={**(definitions.resources or {}), names.resource_keys.warehouse: warehouse},
        ).resolve_job_def(names.job_name)

    def _budget_spent(self) -> bool:
        """Whether the sync's budget leaves nothing for a next run (the requests so far include any the
        CLI sent before the first run)."""
        left = self._requests_left()
        if left is not None and left <= 0:
            self.summary.budget_exhausted = True
        return self.summary.budget_exhausted

    def _requests_left(self) -> int | None:
        """What the sync's budget leaves for its next run (None: no budget): each run's budget is what the
        earlier runs left, so `--max-requests` holds for the whole sync."""
        if self.max_requests is None:
            return None
        return self.max_requests - self.summary.requests

    def _execute(self, label: str, assets: Sequence[str], partitions: Sequence[str] = ()) -> bool:
        """One run of `assets`; partitioned ones over `partitions`, which must be a contiguous range."""
        calls_api = assets != ["analyst_views"]
        range_tags = (
            {
                PARTITION_RANGE_START_TAG: partitions[0],
                PARTITION_RANGE_END_TAG: partitions[-1],
            }
            if partitions
            else {}
        )
        left = self._requests_left()
        budget_tags = {RUN_BUDGET_TAG: str(left)} if left is not None and calls_api else {}
        sync.PROGRESS.client_stats = None  # the run's client sets its own, if the run calls the API
        result = _off_the_main_thread(
            lambda: self.job.execute_in_process(
                instance=self.instance,
                run_config=self.run_config,
                asset_selection=[self.names.asset_key(name) for name in assets],
                raise_on_error=False,
                # The client already retried each request and a person is waiting: no step retries later.
                tags={
                    **range_tags,
                    **budget_tags,
                    SYNC_KEY_TAG: self.summary.sync_key,
                    NO_STEP_RETRIES_TAG: "true",
                    TRIGGER_TAG: "cli",
                    HOST_TAG: socket.gethostname(),
                    PID_TAG: str(os.getpid()),
                },
            )
        )
        self.summary.absorb(result)
        if sync.PROGRESS.client_stats is not None:
            self.summary.requests += int(sync.PROGRESS.client_stats.as_dict()["requests"])
        failures = _failures_of(result, label)
        if any(failure.kind == INTERRUPTED_KIND for failure in failures):
            self.summary.interrupted = True  # the step canceled its run: not a failure of the sync
            failures = [failure for failure in failures if failure.kind != INTERRUPTED_KIND]
        self.summary.failures.extend(failures)
        return not failures and not self.summary.interrupted

    def _stopping(self) -> bool:
        """Whether to launch no further run: `sync.STOP` was set (Ctrl-C, SIGTERM) or a run was canceled."""
        if sync.STOP.is_set():
            self.summary.interrupted = True
        return self.summary.interrupted

    def configuration_failed(self) -> bool:
        return any(failure.kind == "configuration" for failure in self.summary.failures)

    def sync(
        self,
        list_workspaces: Callable[[], list[str]],
        only: Sequence[str] | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> SyncSummary:
        """The workspace list first (the partitions come from it), then every target workspace and the views,
        one run per contiguous range of their partitions."""
        release_abandoned_runs(self.instance)
        if (
            self._stopping()
            or self._budget_spent()
            or not self._execute("workspaces", ["workspaces", *WITH_THE_WORKSPACE_LIST])
        ):
            return self.summary
        available = list_workspaces()
        targets = list(only) if only else available
        unknown = sorted(set(targets) - set(available))
        if unknown:
            self.summary.failures.append(
                RunFailure("workspaces", f"unknown workspace id(s): {', '.join(unknown)}", "configuration")
            )
            return self.summary
        known = self.instance.get_dynamic_partitions(self.names.partitions_name)
        registered = set(known)
        new = [workspace_id for workspace_id in available if workspace_id not in registered]
        if new:
            self.instance.add_dynamic_partitions(self.names.partitions_name, new)
            known = [*known, *new]
        self.summary.workspaces = targets
        ranges = contiguous_ranges(known, targets)
        for index, workspace_ids in enumerate(ranges):
            if self._stopping():
                return self.summary
            if self._budget_spent():  # the workspace list spent the sync's budget: the views only
                break
            label = (
                f"workspace {workspace_ids[0]}"
                if len(workspace_ids) == 1
                else f"{len(workspace_ids)} workspaces"
            )
            if on_step:
                on_step(label)
            views = ["analyst_views"] if index == len(ranges) - 1 else []
            self._execute(label, [*LEVELS_PER_WORKSPACE, *AFTER_THE_LEVELS, *views], workspace_ids)
            if self.configuration_failed():
                return self.summary
        # Skipped after a failed step: the views still matter.
        if "analyst_views" not in self.summary.tables and not self._stopping():
            self._execute("analyst views", ["analyst_views"])
        return self.summary


def contiguous_ranges(partition_order: Sequence[str], targets: Sequence[str]) -> list[list[str]]:
    """`targets` cut into runs of partitions adjacent in Dagster's order, so each run is one partition range
    that holds no partition the caller did not ask for (a retired or unselected workspace)."""
    wanted = set(targets)
    ranges: list[list[str]] = []
    current: list[str] = []
    for key in partition_order:
        if key in wanted:
            current.append(key)
        elif current:
            ranges.append(current)
            current = []
    if current:
        ranges.append(current)
    return ranges
