"""Runs the Dagster assets in this process: the CLI's only way to sync (one code path with the UI).

Runs are recorded in the instance at `DAGSTER_HOME` when it is set, so CLI syncs show in the Dagster UI. The
workspace list is synced once, then each workspace partition in its own run, then the views.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis import build_definitions
from poelis_pipelines.defs.poelis.assets import FAILURE_KIND, NO_STEP_RETRIES_TAG, SYNC_KEY_TAG
from poelis_pipelines.defs.poelis.keys import asset_key

LEVELS_PER_WORKSPACE = ("products", "items", "properties")
TRIGGER_TAG = "poelis/trigger"
HOST_TAG = "poelis/host"
PID_TAG = "poelis/pid"  # with the host: tells a killed CLI run from a live one
SUMMARY_FIELDS = (
    "records_from_api",
    "inserted",
    "updated",
    "unchanged",
    "removed",
    "http_requests",
    "http_429s",
)


@dataclass
class RunFailure:
    label: str
    message: str
    kind: str  # "configuration", "data" or "transient"


@dataclass
class SyncSummary:
    """Totals per table across every run of one sync, and the failures that stopped parts of it."""

    sync_key: str
    tables: dict[str, dict[str, float]] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)
    failures: list[RunFailure] = field(default_factory=list)
    workspaces: list[str] = field(default_factory=list)
    failed_checks: list[str] = field(default_factory=list)

    def absorb(self, result: dg.ExecuteInProcessResult) -> None:
        self.run_ids.append(result.run_id)
        for evaluation in result.get_asset_check_evaluations():
            if not evaluation.passed:
                self.failed_checks.append(f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}")
        for event in result.get_asset_materialization_events():
            materialization = event.materialization
            table = materialization.asset_key.path[-1]
            totals = self.tables.setdefault(table, dict.fromkeys(SUMMARY_FIELDS, 0))
            for name in SUMMARY_FIELDS:
                value = materialization.metadata.get(name)
                if value is not None:
                    totals[name] += value.value  # type: ignore[operator]

    @property
    def succeeded(self) -> bool:
        return not self.failures and not self.failed_checks


def dagster_instance() -> dg.DagsterInstance:
    """The instance at `DAGSTER_HOME` (runs show in the UI), else a throwaway one."""
    if os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.get()
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


class Runner:
    """Executes the `poelis_sync` job in process, one run per workspace partition."""

    def __init__(
        self, instance: dg.DagsterInstance, sync_key: str | None = None, *, debug: bool = False
    ) -> None:
        self.instance = instance
        self.job = build_definitions().resolve_job_def("poelis_sync")
        self.summary = SyncSummary(sync_key=sync_key or f"cli-{uuid.uuid4()}")
        # The CLI reports progress and failures itself; Dagster's console log is for --debug.
        self.run_config = {
            "loggers": {"console": {"config": {"log_level": "DEBUG" if debug else "CRITICAL"}}}
        }

    def _execute(self, label: str, assets: Sequence[str], partition_key: str | None = None) -> bool:
        result = self.job.execute_in_process(
            instance=self.instance,
            run_config=self.run_config,
            partition_key=partition_key,
            asset_selection=[asset_key(name) for name in assets],
            raise_on_error=False,
            # The client already retried each request and a person is waiting: no step retries minutes later.
            tags={
                SYNC_KEY_TAG: self.summary.sync_key,
                NO_STEP_RETRIES_TAG: "true",
                TRIGGER_TAG: "cli",
                HOST_TAG: socket.gethostname(),
                PID_TAG: str(os.getpid()),
            },
        )
        self.summary.absorb(result)
        failures = _failures_of(result, label)
        self.summary.failures.extend(failures)
        return not failures

    def configuration_failed(self) -> bool:
        return any(failure.kind == "configuration" for failure in self.summary.failures)

    def sync(
        self,
        list_workspaces: Callable[[], list[str]],
        only: Sequence[str] | None = None,
        on_step: Callable[[str], None] | None = None,
    ) -> SyncSummary:
        """Workspaces first (the partitions come from them), then each workspace, then the views."""
        release_abandoned_runs(self.instance)
        if not self._execute("workspaces", ["workspaces"]):
            return self.summary
        available = list_workspaces()
        targets = list(only) if only else available
        unknown = sorted(set(targets) - set(available))
        if unknown:
            self.summary.failures.append(
                RunFailure("workspaces", f"unknown workspace id(s): {', '.join(unknown)}", "configuration")
            )
            return self.summary
        known = set(self.instance.get_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME))
        new = [workspace_id for workspace_id in available if workspace_id not in known]
        if new:
            self.instance.add_dynamic_partitions(settings.WORKSPACE_PARTITIONS_NAME, new)
        self.summary.workspaces = targets
        for workspace_id in targets:
            if on_step:
                on_step(f"workspace {workspace_id}")
            self._execute(f"workspace {workspace_id}", LEVELS_PER_WORKSPACE, partition_key=workspace_id)
            if self.configuration_failed():
                return self.summary
        self._execute("analyst views", ["analyst_views"])
        return self.summary
