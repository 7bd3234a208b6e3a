"""poelis-pipelines: everything in a Poelis organization, in your SQL warehouse, kept fresh by Dagster.

The public API, imported on first use (PEP 562), so `import poelis_pipelines.client` (or the Airflow
provider) never loads Dagster or pandas::

    from poelis_pipelines import PoelisResource, PoelisWarehouseResource, build_poelis_defs
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from poelis_pipelines.client import PoelisClient, PoelisError
    from poelis_pipelines.defs.poelis.component import PoelisComponent
    from poelis_pipelines.defs.poelis.factory import build_poelis_defs
    from poelis_pipelines.defs.poelis.names import PoelisResourceKeys
    from poelis_pipelines.defs.poelis.resources import (
        PoelisResource,
        PoelisSyncSettings,
        PoelisWarehouseResource,
    )

__version__ = "0.1.0"

_PUBLIC = {
    "PoelisClient": "poelis_pipelines.client",
    "PoelisError": "poelis_pipelines.client",
    "PoelisComponent": "poelis_pipelines.defs.poelis.component",
    "PoelisResource": "poelis_pipelines.defs.poelis.resources",
    "PoelisResourceKeys": "poelis_pipelines.defs.poelis.names",
    "PoelisSyncSettings": "poelis_pipelines.defs.poelis.resources",
    "PoelisWarehouseResource": "poelis_pipelines.defs.poelis.resources",
    "build_poelis_defs": "poelis_pipelines.defs.poelis.factory",
}
"""Each public name and the module that defines it."""

__all__ = [
    "PoelisClient",
    "PoelisComponent",
    "PoelisError",
    "PoelisResource",
    "PoelisResourceKeys",
    "PoelisSyncSettings",
    "PoelisWarehouseResource",
    "__version__",
    "build_poelis_defs",
]


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # imported once
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
