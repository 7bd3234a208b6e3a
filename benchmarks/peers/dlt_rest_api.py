"""dlt's `rest_api` source as its docs advise, into a DuckDB file.

Bearer auth; an offset paginator with limit 200 (the API sends no total, so `total_path: None` and dlt
stops on an empty page); each child resolved from its parent's `id` (`{resources.<parent>.id}`, the
current form of a `resolve` param): workspaces -> products -> items -> properties.
`benchmarks.peers.dlt_short_page` runs the same source with the paginator a careful user would write.
"""

from __future__ import annotations

import os
import tempfile

import dlt
from dlt.sources.helpers.rest_client.paginators import BasePaginator
from dlt.sources.rest_api import EndpointResource, rest_api_source

from benchmarks.peers.common import LEVELS, PARENT_PARAMS, PARENT_TABLES, arguments, report

DATASET = "poelis_dlt"


def child(level: str) -> EndpointResource:
    return {
        "name": level,
        "endpoint": {
            "path": level,
            "params": {
                PARENT_PARAMS[level]: f"{{resources.{PARENT_TABLES[level]}.id}}",
                "include_deleted": "true",
            },
        },
    }


def main(paginator: BasePaginator | None = None) -> None:
    """Sync with `paginator` (default: dlt's stock offset paginator, as its docs configure it)."""
    args = arguments()
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    source = rest_api_source(
        {
            "client": {
                "base_url": args.api_url + "/",
                "auth": {"type": "bearer", "token": args.api_key},
                "paginator": paginator
                if paginator is not None
                else {"type": "offset", "limit": 200, "total_path": None},
            },
            "resource_defaults": {"endpoint": {"data_selector": "items"}},
            "resources": ["workspaces", *(child(level) for level in LEVELS[1:])],
        }
    )
    with tempfile.TemporaryDirectory() as pipelines_dir:
        pipeline = dlt.pipeline(
            pipeline_name="poelis_bench",
            destination=dlt.destinations.duckdb(args.database),
            dataset_name=DATASET,
            pipelines_dir=pipelines_dir,
        )
        pipeline.run(source)
    report({level: f"{DATASET}.{level}" for level in LEVELS})


if __name__ == "__main__":
    main()
