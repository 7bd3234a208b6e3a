"""Every name a set of Poelis definitions takes in a Dagster deployment, derived from `build_poelis_defs`'s
parameters: two organizations synced by one deployment differ in these names and in nothing else."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import dagster as dg

from poelis_pipelines import settings


@dataclass(frozen=True)
class PoelisResourceKeys:
    """The keys under which the Poelis assets, schedule and sensor find their resources.

    Change them when your `Definitions` already use one of these keys for something else, or when a second
    organization's definitions live beside the first::

        from poelis_pipelines import PoelisResourceKeys, build_poelis_defs

        defs = build_poelis_defs(
            key_prefix="acme",
            resource_keys=PoelisResourceKeys(
                poelis="acme_poelis", warehouse="acme_warehouse", sync_settings="acme_sync"
            ),
        )
    """

    poelis: str = "poelis"
    warehouse: str = "poelis_warehouse"
    sync_settings: str = "poelis_sync"

    def all(self) -> set[str]:
        return {self.poelis, self.warehouse, self.sync_settings}


@dataclass(frozen=True)
class PoelisDefsNames:
    """The names of one organization's definitions, handed to every builder (assets, checks, job, schedule,
    sensor), so none of them reads a global."""

    key_prefix: tuple[str, ...] = (settings.ASSET_KEY_PREFIX,)
    group_name: str = settings.ASSET_KEY_PREFIX
    resource_keys: PoelisResourceKeys = field(default_factory=PoelisResourceKeys)
    partitions_name: str = settings.WORKSPACE_PARTITIONS_NAME
    pool: str = settings.API_CONCURRENCY_POOL
    job_name: str = "poelis_sync"

    @classmethod
    def of(
        cls,
        *,
        key_prefix: str | Sequence[str],
        group_name: str,
        resource_keys: PoelisResourceKeys | None,
        partitions_name: str,
        pool: str,
        job_name: str,
    ) -> PoelisDefsNames:
        prefix = (key_prefix,) if isinstance(key_prefix, str) else tuple(key_prefix)
        return cls(prefix, group_name, resource_keys or PoelisResourceKeys(), partitions_name, pool, job_name)

    def asset_key(self, name: str) -> dg.AssetKey:
        return dg.AssetKey([*self.key_prefix, name])

    @property
    def workspace_partitions(self) -> dg.DynamicPartitionsDefinition:
        return dg.DynamicPartitionsDefinition(name=self.partitions_name)

    @property
    def schedule_name(self) -> str:
        return f"{self.job_name}_schedule"

    @property
    def sensor_name(self) -> str:
        return f"{self.job_name}_workspace_sensor"
