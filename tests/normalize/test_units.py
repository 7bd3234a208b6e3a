"""`value_si` and `si_unit`: every unit the fake emits converts exactly; unknown units give null."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from typing import Any

import pandas as pd
import pytest

from poelis_pipelines.fake_api.dataset import UNITS_BY_CATEGORY
from poelis_pipelines.normalize import normalize
from poelis_pipelines.normalize.units import si_conversion

# What 1 unit (and, for the offset scales, 0 units) is in SI, from the unit definitions, not from pint.
EXACT: dict[str, tuple[float, float, str]] = {  # unit: (value of 1 unit, value of 0 units, SI unit)
    "W": (1.0, 0.0, "W"),
    "kW": (1e3, 0.0, "W"),
    "MW": (1e6, 0.0, "W"),
    "hp": (550 * 0.3048 * 0.45359237 * 9.80665, 0.0, "W"),  # mechanical: 550 ft·lbf/s = 745.69987... W
    "g": (1e-3, 0.0, "kg"),
    "kg": (1.0, 0.0, "kg"),
    "t": (1e3, 0.0, "kg"),
    "lb": (0.45359237, 0.0, "kg"),
    "mm": (1e-3, 0.0, "m"),
    "cm": (1e-2, 0.0, "m"),
    "m": (1.0, 0.0, "m"),
    "km": (1e3, 0.0, "m"),
    "in": (0.0254, 0.0, "m"),
    "ft": (0.3048, 0.0, "m"),
    "Pa": (1.0, 0.0, "Pa"),
    "kPa": (1e3, 0.0, "Pa"),
    "bar": (1e5, 0.0, "Pa"),
    "psi": (0.45359237 * 9.80665 / 0.0254**2, 0.0, "Pa"),  # lbf/in² = 6894.757... Pa
    "K": (1.0, 0.0, "K"),
    "°C": (274.15, 273.15, "K"),
    "°F": (255.37222222222223 + 5 / 9, 255.37222222222223, "K"),  # 0 °F = 459.67 × 5/9 K
    "s": (1.0, 0.0, "s"),
    "min": (60.0, 0.0, "s"),
    "h": (3600.0, 0.0, "s"),
    "-": (1.0, 0.0, "1"),
    "%": (0.01, 0.0, "1"),
}


def properties(*records: dict[str, Any]) -> pd.DataFrame:
    full = [{"id": f"p{n}", "item_id": "i", **record} for n, record in enumerate(records)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an odd unit must not warn, per row or at all
        return normalize("properties", full, endpoint="test", product_id="prod", workspace_id="ws")


def numeric(value: Any, unit: Any) -> dict[str, Any]:
    return {"type": "numeric", "value": value, "display_unit": unit}


def test_the_table_covers_every_unit_the_fake_api_emits() -> None:
    assert set(EXACT) == {unit for units in UNITS_BY_CATEGORY.values() for unit in units}


@pytest.mark.parametrize("unit", list(EXACT))
def test_every_fake_unit_converts_exactly(unit: str) -> None:
    one, zero, si_unit = EXACT[unit]
    frame = properties(numeric(1, unit), numeric(0.0, unit), numeric(-2.5, unit))
    assert frame["si_unit"].tolist() == [si_unit] * 3
    assert frame["value_si"].tolist() == pytest.approx([one, zero, zero - 2.5 * (one - zero)], rel=1e-12)


@pytest.mark.parametrize(
    ("value", "unit", "expected"),
    [(20, "°C", 293.15), (68, "°F", 293.15), (-40, "°F", 233.15), (50, "%", 0.5), (2, "t", 2000.0)],
)
def test_offsets_and_ratios_convert_to_absolute_si_values(value: float, unit: str, expected: float) -> None:
    assert properties(numeric(value, unit))["value_si"].tolist() == [pytest.approx(expected, rel=1e-12)]


@pytest.mark.parametrize(
    ("result", "value_si", "si_unit"),
    [
        ("10 kg", 10.0, "kg"),
        ("0.34 kW/kg", 340.0, "W/kg"),
        ("1.5 t", 1500.0, "kg"),
        ("12 %", 0.12, "1"),
        ("250 W", 250.0, "W"),
        ("3 N*m", 3.0, "J"),
        ("9.81 m/s^2", 9.81, "m/s^2"),
    ],
)
def test_formula_results_convert_with_the_unit_inside_the_value(
    result: str, value_si: float, si_unit: str
) -> None:
    row = properties({"type": "formula", "value": result}).iloc[0]
    assert (row["value_si"], row["si_unit"]) == (pytest.approx(value_si, rel=1e-12), si_unit)


@pytest.mark.parametrize(
    "record",
    [
        numeric(5, "pallets"),
        numeric(5, "EUR"),
        numeric(5, "kg/"),
        numeric(5, "m/0"),
        numeric(5, "dB"),  # pint reads it, but as a logarithm: no factor makes it SI
        numeric(5, ""),
        numeric(5, None),
        numeric(5, 42),
        {"type": "formula", "value": "5 apples"},
        {"type": "formula", "value": "42"},
        {"type": "formula", "value": "not a number kg"},
        {"type": "text", "value": "10 kg"},
    ],
)
def test_an_unknown_or_missing_unit_leaves_both_columns_null_and_keeps_the_original(
    record: dict[str, Any],
) -> None:
    row = properties(record).iloc[0]
    assert pd.isna(row["value_si"])
    assert pd.isna(row["si_unit"])
    assert row["value"] is not None


def test_non_finite_and_missing_numbers_stay_what_they_are() -> None:
    frame = properties(
        numeric(float("nan"), "kg"),
        numeric(float("inf"), "t"),
        numeric(float("-inf"), "°C"),
        numeric(None, "kg"),
        numeric("heavy", "kg"),
    )
    values = frame["value_si"].tolist()
    assert math.isnan(values[0])
    assert values[1:3] == [math.inf, -math.inf]
    assert [pd.isna(value) for value in values[3:]] == [True, True]
    assert frame["si_unit"].tolist() == ["kg", "kg", "K", "kg", "kg"]


def test_a_matrix_names_its_si_unit_but_has_no_single_si_value() -> None:
    matrix = {"type": "matrix", "value": "[[1.0,1.2],[1.4,1.6]]", "display_unit": "bar"}
    row = properties(matrix).iloc[0]
    assert (row["value_matrix"], row["value_unit"], row["si_unit"]) == ("[[1.0,1.2],[1.4,1.6]]", "bar", "Pa")
    assert pd.isna(row["value_si"])


def test_pint_is_asked_once_per_distinct_unit_of_a_batch_not_per_row() -> None:
    units = ["kW", "hp", "°F", "furlongs-per-fortnight"]
    records = [numeric(float(n), units[n % len(units)]) for n in range(2000)]
    before = si_conversion.cache_info()
    frame = properties(*records)
    after = si_conversion.cache_info()
    assert (after.hits + after.misses) - (before.hits + before.misses) == len(units)
    assert frame["value_si"].iloc[1] == pytest.approx(EXACT["hp"][0])
    assert frame["value_si"].isna().sum() == 500


def test_pint_is_imported_only_when_a_batch_has_a_unit() -> None:
    script = (
        "import sys\n"
        "from poelis_pipelines.normalize import normalize\n"
        "lineage = {'product_id': 'p', 'workspace_id': 'w'}\n"
        "text = {'id': 'a', 'item_id': 'i', 'type': 'text', 'value': 'x'}\n"
        "normalize('properties', [text], endpoint='e', **lineage)\n"
        "print('pint' in sys.modules)\n"
        "mass = {'id': 'b', 'item_id': 'i', 'type': 'numeric', 'value': 1, 'display_unit': 'kg'}\n"
        "normalize('properties', [mass], endpoint='e', **lineage)\n"
        "print('pint' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.split() == ["False", "True"]
