"""`poelis-pipelines workspaces`: the workspaces the key can see, and `--workspace` values people type.

People know a workspace by its readable id (`aerospace_engineering`) more often than by its UUID, so
`sync --workspace` takes either; the warehouse answers when it knows the value, else one listing of the API.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from poelis_pipelines.cli.output import EXIT_OK, Output, fixed_width
from poelis_pipelines.client import ConfigurationError, PoelisClient
from poelis_pipelines.tables import REMOVED_AT
from poelis_pipelines.warehouse import Warehouse

COLUMNS = ("id", "readable_id", "name")


def _matches(values: Iterable[str], workspaces: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Each value → the ids of the workspaces it names: by id first, else by readable id."""
    by_id: dict[str, list[str]] = {}
    by_readable: dict[str, list[str]] = {}
    for workspace in workspaces:
        workspace_id = str(workspace["id"])
        by_id[workspace_id] = [workspace_id]
        if workspace.get("readable_id"):
            by_readable.setdefault(str(workspace["readable_id"]), []).append(workspace_id)
    found = {}
    for value in values:
        ids = by_id.get(value) or by_readable.get(value)
        if ids:
            found[value] = ids
    return found


def resolve_workspace_arguments(
    values: Sequence[str], warehouse: Warehouse, new_client: Callable[[], PoelisClient]
) -> list[str]:
    """The workspace ids `--workspace` values name (ids or readable ids), in order, without repeats.

    The warehouse's last workspace list answers first; a value it does not know costs one listing of the
    API (a request per 200 workspaces), so a workspace created since the last sync is found too.
    """
    known = warehouse.query(
        f"SELECT id, readable_id FROM {{{{schema}}}}.workspaces WHERE {REMOVED_AT} IS NULL"
    )
    found = _matches(
        values, ({"id": id_, "readable_id": readable} for id_, readable in known.itertuples(index=False))
    )
    missing = [value for value in values if value not in found]
    if missing:
        with new_client() as client:
            found.update(_matches(missing, client.iter_workspaces()))
    unknown = [value for value in values if value not in found]
    if unknown:
        raise ConfigurationError(
            f"unknown workspace {', '.join(unknown)}: the key sees no workspace with that id or readable id; "
            "run `poelis-pipelines workspaces` to list the ones it can see"
        )
    ambiguous = [value for value in values if len(found[value]) > 1]
    if ambiguous:
        raise ConfigurationError(
            f"the readable id {', '.join(ambiguous)} names more than one workspace; pass its id instead "
            "(`poelis-pipelines workspaces` lists them)"
        )
    return list(dict.fromkeys(found[value][0] for value in values))


def format_workspaces(workspaces: Iterable[Mapping[str, Any]]) -> list[str]:
    """A fixed-width table: id, readable id, name."""
    rows = [COLUMNS, *(tuple(str(workspace.get(name) or "") for name in COLUMNS) for workspace in workspaces)]
    return [line.rstrip() for line in fixed_width(rows)]


def run_workspaces(args: argparse.Namespace, output: Output) -> int:
    from poelis_pipelines.cli.sync_command import api_client, retry_notices_for

    with api_client(args) as client, retry_notices_for(output, client.base_url):
        workspaces = sorted(client.iter_workspaces(), key=lambda workspace: str(workspace.get("name")))
    if not workspaces:
        output.line("the key sees no workspaces")
        return EXIT_OK
    for line in format_workspaces(workspaces):
        output.line(line)
    return EXIT_OK
