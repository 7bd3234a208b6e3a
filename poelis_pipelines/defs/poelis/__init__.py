"""Dagster glue for the Poelis source: resources, assets, checks, the sync job, schedule and sensor, put
together by `build_poelis_defs` (`factory.py`)."""

from poelis_pipelines.defs.poelis.factory import build_poelis_defs
from poelis_pipelines.defs.poelis.names import PoelisResourceKeys
from poelis_pipelines.defs.poelis.resources import PoelisResource, PoelisSyncSettings, PoelisWarehouseResource

__all__ = [
    "PoelisResource",
    "PoelisResourceKeys",
    "PoelisSyncSettings",
    "PoelisWarehouseResource",
    "build_poelis_defs",
]
