"""The typed value columns of a property, derived from its `type` and raw `value` (SPEC section 6).

Whatever the value looks like, the raw `value` column keeps it; these columns are a convenience for analysts
and stay null when the value does not have the documented shape (an invalid formula, a malformed matrix).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from itertools import chain
from typing import Any

_FORMULA_RESULT = re.compile(
    r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:inf|nan))\s*(.*?)\s*$", re.I
)
_NUMBER_TYPES = (int, float)
_CELL_TYPES = frozenset({int, float, type(None)})
_DECODER = json.JSONDecoder()
_STRICT_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), allow_nan=False)


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def parse_formula_result(result: str) -> tuple[float | None, str | None]:
    """`"10 kg"` -> `(10.0, "kg")`, `"0.34 kW/kg"` -> `(0.34, "kW/kg")`, `"abc"` -> `(None, None)`."""
    match = _FORMULA_RESULT.fullmatch(result)
    if match is None:
        return None, None
    return float(match.group(1)), match.group(2) or None


def matrix_text(value: Any) -> str | None:
    """Compact JSON of a valid matrix (a rectangular 2-D array of numbers or nulls; `[]` is the empty one),
    else None.

    The API sends the matrix as a string holding JSON; a list is accepted too (the write shape).
    """
    if isinstance(value, str):
        try:
            value = _DECODER.decode(value)
        except ValueError:
            return None
    if not isinstance(value, list):
        return None
    if not value:
        return "[]"
    if not all(isinstance(row, list) for row in value):
        return None
    if len(set(map(len, value))) != 1:
        return None
    if not _CELL_TYPES.issuperset(map(type, chain.from_iterable(value))):  # else the exact, slower check
        cells_ok = all(
            cell is None or (isinstance(cell, _NUMBER_TYPES) and not isinstance(cell, bool))
            for row in value
            for cell in row
        )
        if not cells_ok:
            return None
    try:
        return _STRICT_COMPACT_JSON.encode(value)
    except ValueError:  # strict JSON has no NaN or infinity, and neither has a matrix value
        return None


def typed_values(
    types: Sequence[Any], values: Sequence[Any], display_units: Sequence[Any]
) -> tuple[dict[str, list[Any]], Counter[str]]:
    """The raw lists of `value_number/unit/text/date/matrix`, and the count of each unknown type seen.

    `value_date` holds the ISO string here; the caller parses the column in one vectorised call.
    """
    size = len(types)
    number: list[Any] = [None] * size
    unit: list[Any] = [None] * size
    text: list[Any] = [None] * size
    date: list[Any] = [None] * size
    matrix: list[Any] = [None] * size
    unknown: Counter[str] = Counter()
    for position, (kind, value) in enumerate(zip(types, values, strict=True)):
        if kind == "numeric":
            if isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool):
                number[position] = float(value)
            unit[position] = _text_or_none(display_units[position])
        elif kind in ("text", "status"):
            if isinstance(value, str):
                text[position] = value
        elif kind == "formula":
            if isinstance(value, str):
                text[position] = value
                number[position], unit[position] = parse_formula_result(value)
        elif kind == "date":
            date[position] = value
        elif kind == "matrix":
            matrix[position] = matrix_text(value)
            unit[position] = _text_or_none(display_units[position])
        else:
            unknown[repr(kind) if not isinstance(kind, str) else kind] += 1
    columns = {
        "value_number": number,
        "value_unit": unit,
        "value_text": text,
        "value_date": date,
        "value_matrix": matrix,
    }
    return columns, unknown
