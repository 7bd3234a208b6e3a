"""`PoelisComponent`: `build_poelis_defs` as a Dagster component, for a `dg` project's `defs.yaml`.

The API key is the one attribute Dagster must never see by value. A component's `{{ env.X }}` template is
rendered when the code loads, and a resource field holding a plain string is shown in the UI's resource
configuration; so `api_key` (and the warehouse `url`, which may hold a password) keep the *name* of the
variable instead: `{{ env.POELIS_API_KEY }}` becomes `dg.EnvVar("POELIS_API_KEY")`, which the UI shows as
a name and the run reads when it starts. A key written into `defs.yaml` itself is refused.
"""

from __future__ import annotations

import re
import textwrap
from typing import Annotated, Literal

import dagster as dg
from dagster.components.component.component_scaffolder import DefaultComponentScaffolder
from dagster.components.resolved.errors import ResolutionException
from pydantic import ConfigDict, Field

from poelis_pipelines import settings
from poelis_pipelines.defs.poelis.factory import build_poelis_defs
from poelis_pipelines.defs.poelis.names import PoelisResourceKeys
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, PoelisWarehouseResource

_ENV_REFERENCE = re.compile(
    r"""^\s*\{\{\s*env(?:\.(?P<attribute>\w+)|\(\s*(?P<quote>['"])(?P<argument>\w+)(?P=quote)\s*\))\s*\}\}\s*$"""
)
"""`{{ env.NAME }}` or `{{ env('NAME') }}`, alone in the value."""

Status = Literal["running", "stopped"]

ATTRIBUTES_CONFIG = ConfigDict(extra="forbid", arbitrary_types_allowed=True, hide_input_in_errors=True)
"""`dg.Model`'s settings, plus `dg.EnvVar` fields and validation errors that never quote a value (a key passed
where an `EnvVar` belongs, in Python)."""


def _environment_variable_named(template: str) -> dg.EnvVar | None:
    """`dg.EnvVar(NAME)` for a value that is only `{{ env.NAME }}` (or `{{ env('NAME') }}`), else None."""
    match = _ENV_REFERENCE.match(template)
    if match is None:
        return None
    return dg.EnvVar(match.group("attribute") or match.group("argument"))


def _resolve_api_key(context: dg.ResolutionContext, template: str | None) -> dg.EnvVar | None:
    if template is None:
        return None
    variable = _environment_variable_named(template)
    if variable is None:
        # Dagster's own resolver errors quote the YAML line, which here is the key.
        raise ResolutionException(
            "api_key must name an environment variable, e.g. '{{ env.POELIS_API_KEY }}' (or use "
            "api_key_file): a key written in defs.yaml would be committed with the project and shown in "
            "Dagster's UI"
        )
    return variable


def _resolve_warehouse_url(context: dg.ResolutionContext, template: str | None) -> str | None:
    if template is None:
        return None
    return _environment_variable_named(template) or context.resolve_value(template, as_type=str)


class PoelisWarehouseAttributes(dg.Resolvable, dg.Model):
    """The warehouse block of `PoelisComponent` (`PoelisWarehouseResource`'s fields)."""

    model_config = ATTRIBUTES_CONFIG

    url: Annotated[
        dg.EnvVar | str | None,
        dg.Resolver(
            _resolve_warehouse_url,
            model_field_type=str,
            inject_before_resolve=False,
            description="SQLAlchemy URL; a URL holding a password belongs in '{{ env.WAREHOUSE_URL }}', "
            f"which is read when a run starts; default: ${settings.ENV_WAREHOUSE_URL}, else "
            f"{settings.DEFAULT_WAREHOUSE_URL}.",
            examples=["{{ env.WAREHOUSE_URL }}", "duckdb:///data/poelis.duckdb"],
        ),
    ] = None
    schema_name: str | None = Field(
        default=None,
        description=f"Schema; default: ${settings.ENV_WAREHOUSE_SCHEMA}, "
        f"else {settings.DEFAULT_WAREHOUSE_SCHEMA}.",
    )


class PoelisResourceKeysAttributes(dg.Resolvable, dg.Model):
    """The resource keys block of `PoelisComponent` (`PoelisResourceKeys`)."""

    poelis: str = PoelisResourceKeys.poelis
    warehouse: str = PoelisResourceKeys.warehouse
    sync_settings: str = PoelisResourceKeys.sync_settings


class PoelisScheduleAttributes(dg.Resolvable, dg.Model):
    """When the schedule syncs every workspace in one run, and whether it starts running."""

    cron: str = Field(default=settings.DEFAULT_SYNC_CRON, description="Cron expression of the sync.")
    status: Status = Field(
        default="stopped", description="running: the schedule is on as soon as the code loads."
    )


class PoelisSensorAttributes(dg.Resolvable, dg.Model):
    """Whether the workspace sensor (new workspaces become partitions and sync at once) starts running."""

    status: Status = Field(
        default="stopped", description="running: the sensor is on as soon as the code loads."
    )


class PoelisComponentScaffolder(DefaultComponentScaffolder):
    """`dg scaffold defs poelis_pipelines.PoelisComponent <path>` writes a commented `defs.yaml` template
    (`--format python`: Dagster's own `component.py`)."""

    def scaffold(self, request: dg.ScaffoldRequest) -> None:
        if request.scaffold_format != "yaml":
            super().scaffold(request)
            return
        path = request.target_path if request.append else request.target_path / "defs.yaml"
        with path.open("a" if request.append else "w", encoding="utf-8") as defs_yaml:
            if request.append:
                defs_yaml.write("---\n")
            defs_yaml.write(DEFS_YAML_TEMPLATE.format(type_name=request.type_name))


DEFS_YAML_TEMPLATE = textwrap.dedent(
    """\
    type: {type_name}

    attributes:
      # The key stays in the environment: Dagster shows and stores only the variable's name.
      api_key: "{{{{ env.POELIS_API_KEY }}}}"
      # base_url: https://api.poelis.com
      warehouse:
        # Any SQLAlchemy URL; one holding a password as "{{{{ env.WAREHOUSE_URL }}}}", read when a run starts.
        url: duckdb:///data/poelis.duckdb
        schema_name: poelis
      # max_staleness: 24h      # incremental runs re-list every live item within this bound
      # versions: baseline      # none | baseline | all
      # quota_share: 0.8        # part of the organization's rate limit this sync may use
      # key_prefix: poelis      # asset keys poelis/workspaces, poelis/products, ...
      schedule:
        cron: "0 * * * *"
        status: stopped         # running: syncs every hour once the code loads
      sensor:
        status: stopped         # running: new workspaces become partitions and sync at once
    """
)


@dg.scaffold_with(PoelisComponentScaffolder)
class PoelisComponent(dg.Component, dg.Resolvable, dg.Model):
    """A Poelis organization synced into your warehouse: its assets, checks, sync job, schedule and
    workspace sensor, as `build_poelis_defs` builds them, from a `defs.yaml` of your `dg` project.

    `dg scaffold defs poelis_pipelines.PoelisComponent poelis` writes a template; a complete one::

        type: poelis_pipelines.PoelisComponent
        attributes:
          api_key: "{{ env.POELIS_API_KEY }}"
          warehouse:
            url: "{{ env.WAREHOUSE_URL }}"
            schema_name: poelis
          max_staleness: 6h
          versions: baseline
          quota_share: 0.5
          schedule:
            cron: "0 * * * *"
            status: running
          sensor:
            status: running

    `api_key` must be `{{ env.NAME }}`: the run reads the variable when it starts, and Dagster's UI, run
    config and events only ever hold its name. Left out, the key comes from `POELIS_API_KEY` or
    `POELIS_API_KEY_FILE` at run time, like every other unset attribute from its `POELIS_*` variable. Two
    organizations are two components with different `key_prefix`, `resource_keys`, `partitions_name`,
    `pool` and `job_name`.
    """

    model_config = ATTRIBUTES_CONFIG

    api_key: Annotated[
        dg.EnvVar | None,
        dg.Resolver(
            _resolve_api_key,
            model_field_type=str,
            inject_before_resolve=False,
            description="The Poelis API key as '{{ env.NAME }}' (read when a run starts, never shown); "
            f"unset: ${settings.ENV_API_KEY} or ${settings.ENV_API_KEY_FILE} at run time.",
            examples=["{{ env.POELIS_API_KEY }}"],
        ),
    ] = None
    api_key_file: str | None = Field(
        default=None, description="Path of a file holding the key (the Kubernetes/Docker secret convention)."
    )
    base_url: str | None = Field(
        default=None,
        description=f"API host; default: ${settings.ENV_BASE_URL}, else {settings.DEFAULT_BASE_URL}.",
    )
    quota_share: float | None = Field(
        default=None,
        description="Part of each rate-limit window the sync may spend (above 0, at most 1); default: "
        f"${settings.ENV_QUOTA_SHARE}, else {settings.DEFAULT_QUOTA_SHARE}.",
    )
    max_requests: int | None = Field(
        default=None,
        description=f"Requests one run may send; default: ${settings.ENV_MAX_REQUESTS}, else no limit.",
    )
    warehouse: PoelisWarehouseAttributes | None = None
    full: bool = Field(
        default=False, description="List every item's properties (about one request per item)."
    )
    max_staleness: str | None = Field(
        default=None,
        description="Incremental runs re-list every live item's properties within this bound (e.g. 6h, 2d); "
        f"default: ${settings.ENV_MAX_STALENESS}, else {settings.DEFAULT_MAX_STALENESS}.",
    )
    versions: Literal["none", "baseline", "all"] | None = Field(
        default=None,
        description=f"Published versions to store; default: ${settings.ENV_VERSIONS}, "
        f"else {settings.DEFAULT_VERSIONS}.",
    )
    key_prefix: str | list[str] = Field(
        default=settings.ASSET_KEY_PREFIX, description="Asset key prefix (one part or a list)."
    )
    group_name: str = Field(default=settings.ASSET_KEY_PREFIX, description="Asset group.")
    resource_keys: PoelisResourceKeysAttributes | None = None
    partitions_name: str = Field(
        default=settings.WORKSPACE_PARTITIONS_NAME, description="Name of the dynamic workspace partitions."
    )
    pool: str = Field(
        default=settings.API_CONCURRENCY_POOL,
        description="Concurrency pool of the API-calling steps; limit it to 1 in your instance.",
    )
    job_name: str = Field(
        default="poelis_sync", description="The sync job; the schedule and sensor are named after it."
    )
    schedule: PoelisScheduleAttributes | None = None
    sensor: PoelisSensorAttributes | None = None
    retire_vanished_workspaces: bool = Field(
        default=False, description="The sensor deletes the partitions of workspaces the key no longer sees."
    )

    @classmethod
    def get_spec(cls) -> dg.ComponentTypeSpec:
        return dg.ComponentTypeSpec(
            tags=["poelis"],
            produces=["asset", "asset_check", "job", "schedule", "sensor", "resource"],
        )

    def build_defs(self, context: dg.ComponentLoadContext) -> dg.Definitions:
        warehouse = self.warehouse or PoelisWarehouseAttributes()
        keys = self.resource_keys or PoelisResourceKeysAttributes()
        schedule = self.schedule or PoelisScheduleAttributes()
        sensor = self.sensor or PoelisSensorAttributes()
        return build_poelis_defs(
            poelis=PoelisResource(
                api_key=self.api_key,
                api_key_file=self.api_key_file,
                base_url=self.base_url,
                quota_share=self.quota_share,
                max_requests=self.max_requests,
            ),
            warehouse=PoelisWarehouseResource(url=warehouse.url, schema_name=warehouse.schema_name),
            sync_settings=PoelisSyncSettings(
                full=self.full, max_staleness=self.max_staleness, versions=self.versions
            ),
            key_prefix=self.key_prefix,
            group_name=self.group_name,
            resource_keys=PoelisResourceKeys(
                poelis=keys.poelis, warehouse=keys.warehouse, sync_settings=keys.sync_settings
            ),
            partitions_name=self.partitions_name,
            pool=self.pool,
            job_name=self.job_name,
            schedule_cron=schedule.cron,
            schedule_status=dg.DefaultScheduleStatus(schedule.status.upper()),
            sensor_status=dg.DefaultSensorStatus(sensor.status.upper()),
            retire_vanished_workspaces=self.retire_vanished_workspaces,
        )
