"""The floor: every page fetched in turn over one keep-alive `requests.Session`, then one native DuckDB
bulk insert per table (`read_json` of the records as NDJSON). No typing, no merge, no history, no retries."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import requests

from benchmarks.peers.common import LEVELS, PARENT_PARAMS, PARENT_TABLES, arguments, report
from poelis_pipelines import settings


def pages(session: requests.Session, url: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    offset = 0
    while True:
        response = session.get(url, params={**params, "limit": settings.MAX_PAGE_SIZE, "offset": offset})
        response.raise_for_status()
        records = response.json()["items"]
        yield from records
        if len(records) < settings.MAX_PAGE_SIZE:
            return
        offset += len(records)


def main() -> None:
    args = arguments()
    records: dict[str, list[dict[str, Any]]] = {}
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {args.api_key}"
        records["workspaces"] = list(pages(session, f"{args.api_url}/workspaces", {}))
        for level in LEVELS[1:]:
            records[level] = [
                record
                for parent in records[PARENT_TABLES[level]]
                for record in pages(
                    session,
                    f"{args.api_url}/{level}",
                    {PARENT_PARAMS[level]: parent["id"], "include_deleted": "true"},
                )
            ]
    with tempfile.TemporaryDirectory() as directory, duckdb.connect(args.database) as connection:
        for level in LEVELS:
            path = Path(directory) / f"{level}.ndjson"
            path.write_text("\n".join(json.dumps(record) for record in records[level]))
            connection.execute(
                f"CREATE TABLE {level} AS SELECT * FROM read_json(?, format='newline_delimited')", [str(path)]
            )
    report({level: level for level in LEVELS})


if __name__ == "__main__":
    main()
