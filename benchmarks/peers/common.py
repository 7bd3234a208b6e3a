"""What every peer shares: its arguments, the API prefix and the report line."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

from poelis_pipelines import settings

LEVELS = ("workspaces", "products", "items", "properties")
PARENT_PARAMS = {"products": "workspace_id", "items": "product_id", "properties": "item_id"}
PARENT_TABLES = {"products": "workspaces", "items": "products", "properties": "items"}


@dataclass(frozen=True)
class PeerArguments:
    api_url: str  # base URL with the API prefix
    api_key: str
    database: str


def arguments() -> PeerArguments:
    base_url, database = sys.argv[1], sys.argv[2]
    return PeerArguments(base_url + settings.API_PREFIX, os.environ[settings.ENV_API_KEY], database)


def report(tables: dict[str, str]) -> None:
    """Tell the benchmark which table holds each level (it counts the rows itself)."""
    print(json.dumps({"tables": tables}), flush=True)
