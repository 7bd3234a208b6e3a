"""The script a data engineer writes in an afternoon: `requests.get` per page, `pandas.json_normalize`,
`DataFrame.to_sql` through SQLAlchemy (duckdb-engine). Nested lists become JSON text for to_sql."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import requests
import sqlalchemy as sa

from benchmarks.peers.common import LEVELS, PARENT_PARAMS, PARENT_TABLES, arguments, report


def fetch_all(url: str, headers: dict[str, str], params: dict[str, Any]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    offset = 0
    while True:
        response = requests.get(url, headers=headers, params={**params, "limit": 200, "offset": offset})
        response.raise_for_status()
        page = response.json()["items"]
        records.extend(page)
        if len(page) < 200:
            return records
        offset += 200


def as_json_text(value: Any) -> Any:
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def main() -> None:
    args = arguments()
    headers = {"Authorization": f"Bearer {args.api_key}"}
    records: dict[str, list[dict[str, Any]]] = {
        "workspaces": fetch_all(f"{args.api_url}/workspaces", headers, {})
    }
    for level in LEVELS[1:]:
        records[level] = []
        for parent in records[PARENT_TABLES[level]]:
            params = {PARENT_PARAMS[level]: parent["id"], "include_deleted": "true"}
            records[level].extend(fetch_all(f"{args.api_url}/{level}", headers, params))
    engine = sa.create_engine(f"duckdb:///{args.database}")
    for level in LEVELS:
        frame = pd.json_normalize(records[level])
        for column in [name for name in frame.columns if frame[name].dtype == "object"]:
            frame[column] = frame[column].map(as_json_text)
        frame.to_sql(level, engine, index=False, if_exists="replace", chunksize=10_000)
    engine.dispose()
    report({level: level for level in LEVELS})


if __name__ == "__main__":
    main()
