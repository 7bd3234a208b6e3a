"""Shared test data: the SPEC's example payloads (copied into tests/normalize/spec_examples) and their ids."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parents[1] / "normalize" / "spec_examples"
WORKSPACE_ID = "550e8400-e29b-41d4-a716-446655440000"
PRODUCT_ID = "660e8400-e29b-41d4-a716-446655440000"


def spec_examples(name: str) -> list[dict[str, Any]]:
    """The records of the SPEC's example list payload `examples/<name>.json`."""
    records: list[dict[str, Any]] = json.loads((EXAMPLES / f"{name}.json").read_text())["items"]
    return records
