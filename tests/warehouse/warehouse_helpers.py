"""Shared test data: the SPEC's example payloads (copied into tests/normalize/spec_examples), their ids, and
the batches the merge takes of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from poelis_pipelines.normalize import normalize
from poelis_pipelines.warehouse import Batch

EXAMPLES = Path(__file__).resolve().parents[1] / "normalize" / "spec_examples"
WORKSPACE_ID = "550e8400-e29b-41d4-a716-446655440000"
PRODUCT_ID = "660e8400-e29b-41d4-a716-446655440000"


def spec_examples(name: str) -> list[dict[str, Any]]:
    """The records of the SPEC's example list payload `examples/<name>.json`."""
    records: list[dict[str, Any]] = json.loads((EXAMPLES / f"{name}.json").read_text())["items"]
    return records


def spec_batches(
    *, items: list[dict[str, Any]] | None = None, properties: list[dict[str, Any]] | None = None
) -> list[Batch]:
    """The SPEC's example organization as one sync merges it, level by level (these items or properties, where
    given, instead of the examples)."""
    return [
        Batch("workspaces", normalize("workspaces", spec_examples("workspaces"), endpoint="ws"), {}),
        Batch(
            "products",
            normalize("products", spec_examples("products"), endpoint="pr"),
            {"workspace_id": WORKSPACE_ID},
        ),
        Batch(
            "items",
            normalize(
                "items",
                spec_examples("items") if items is None else items,
                endpoint="it",
                workspace_id=WORKSPACE_ID,
            ),
            {"product_id": PRODUCT_ID},
        ),
        properties_batch(spec_examples("properties") if properties is None else properties),
    ]


def properties_batch(records: list[dict[str, Any]]) -> Batch:
    """These property records of the SPEC's example product, as the merge takes them."""
    frame = normalize("properties", records, endpoint="pp", product_id=PRODUCT_ID, workspace_id=WORKSPACE_ID)
    return Batch("properties", frame, {"product_id": PRODUCT_ID})
