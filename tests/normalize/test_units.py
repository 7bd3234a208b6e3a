"""`value_si` and `si_unit`: every unit the fake emits converts exactly; unknown units, and readings that do
not fit the category, give null."""

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
from poelis_pipelines.normalize.units import SI_UNIT_BY_CATEGORY, si_conversion

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


def numeric(value: Any, unit: Any, category: str | None = None) -> dict[str, Any]:
    return {"type": "numeric", "value": value, "display_unit": unit, "category": category}


def formula(result: str) -> dict[str, Any]:
    return {"type": "formula", "value": result}


def si(frame: pd.DataFrame) -> list[tuple[Any, Any]]:
    """(value_si, si_unit) of each row, nulls as None."""
    return [
        (None if pd.isna(value) else value, None if pd.isna(unit) else unit)
        for value, unit in zip(frame["value_si"], frame["si_unit"], strict=True)
    ]


CATEGORY_OF = {unit: category for category, units in UNITS_BY_CATEGORY.items() for unit in units}


def test_the_table_covers_every_unit_the_fake_api_emits() -> None:
    assert set(EXACT) == set(CATEGORY_OF)


@pytest.mark.parametrize(
    ("unit", "category"), [(unit, category) for unit in EXACT for category in (CATEGORY_OF[unit], None)]
)
def test_every_fake_unit_converts_exactly_in_its_category_or_without_one(
    unit: str, category: str | None
) -> None:
    one, zero, si_unit = EXACT[unit]
    frame = properties(
        numeric(1, unit, category), numeric(0.0, unit, category), numeric(-2.5, unit, category)
    )
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


def test_pint_is_asked_once_per_distinct_unit_and_category_of_a_batch_not_per_row() -> None:
    pairs = [("kW", "POWER"), ("hp", "POWER"), ("°F", "TEMPERATURE"), ("kW", "MASS"), ("kW", None)]
    pairs += [("furlongs-per-fortnight", None), ("pcs", "COUNT"), ("pcs", "Performance")]
    records = [numeric(float(n), *pairs[n % len(pairs)]) for n in range(2000)]
    before = si_conversion.cache_info()
    frame = properties(*records)
    after = si_conversion.cache_info()
    assert (after.hits + after.misses) - (before.hits + before.misses) == len(pairs)
    assert si(frame.iloc[: len(pairs)]) == [
        (0.0, "W"),
        (pytest.approx(EXACT["hp"][0]), "W"),
        (pytest.approx(2 * 5 / 9 + 255.37222222222223), "K"),
        (None, None),
        (4000.0, "W"),
        (None, None),
        (6.0, "1"),
        (7.0, "1"),
    ]
    assert frame["value_si"].isna().sum() == 2 * 2000 // len(pairs)


@pytest.mark.parametrize(
    ("record", "value_si", "si_unit"),
    [
        (numeric(10, "pcs", "COUNT"), 10.0, "1"),
        (numeric(10, "pcs", "DIMENSIONLESS"), 10.0, "1"),
        (numeric(10, "pce", "DIMENSIONLESS"), 10.0, "1"),
        (numeric(10, "pieces", "DIMENSIONLESS"), 10.0, "1"),
        (numeric(10, "pc", "DIMENSIONLESS"), 10.0, "1"),
        (numeric(3, "kpcs", "COUNT"), 3000.0, "1"),
        (numeric(12, "Nm", "TORQUE"), 12.0, "N*m"),
        (numeric(12, "N.m", "TORQUE"), 12.0, "N*m"),
        (numeric(1.5, "kNm", "TORQUE"), 1500.0, "N*m"),
        (numeric(12, "Nm", "ENERGY"), 12.0, "J"),
        (numeric(2, "kWh", "ENERGY"), 7.2e6, "J"),
        (formula("10 pcs"), 10.0, "1"),
        (formula("10 pc"), 10.0, "1"),
        (formula("3 Nm"), 3.0, "J"),
    ],
)
def test_engineering_spellings_pint_misreads_convert_exactly(
    record: dict[str, Any], value_si: float, si_unit: str
) -> None:
    assert si(properties(record)) == [(value_si, si_unit)]


@pytest.mark.parametrize(
    "record",
    [
        numeric(5, "pcs", "MASS"),
        numeric(5, "kg", "POWER"),
        numeric(5, "kW", "ENERGY"),
        numeric(5, "%", "MASS"),
        numeric(5, "-", "LENGTH"),
        numeric(5, "Nm", "FORCE"),
        numeric(5, "rpm", "FREQUENCY"),  # pint's rpm is 2*pi rad/min: 60 rpm would be 6.28 Hz
        numeric(5, "deg", "DIMENSIONLESS"),  # an angle is not a ratio, though pint finds no dimension
        numeric(5, "%", "ANGLE"),
        {"type": "matrix", "value": "[[1.0]]", "display_unit": "kg", "category": "PRESSURE"},
    ],
)
def test_a_unit_that_does_not_fit_its_category_converts_to_null(record: dict[str, Any]) -> None:
    frame = properties(record)
    assert si(frame) == [(None, None)]
    assert frame["value_unit"].tolist() == [record["display_unit"]]


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        (numeric(2, "kW", "Performance"), (2000.0, "W")),  # the older category spelling of the SPEC
        (numeric(2, "kW", "power"), (2000.0, "W")),
        (numeric(2, "kN*m", "MOMENT_OF_SOMETHING"), (2000.0, "J")),
        (numeric(2, "pcs", "QUANTITY"), (2.0, "1")),
        (numeric(2, "ct", "QUANTITY"), (None, None)),  # pint: carat
        (numeric(2, "a", "SERVICE_LIFE"), (None, None)),  # pint: year
        (numeric(2, "parsec", "REACH"), (None, None)),
        (formula("2 ly"), (None, None)),
        (formula("2 au"), (None, None)),  # pint: astronomical units
        (formula("2 ct"), (None, None)),
    ],
)
def test_without_a_known_category_only_familiar_units_convert(
    record: dict[str, Any], expected: tuple[Any, Any]
) -> None:
    assert si(properties(record)) == [expected]


def test_a_known_category_trusts_any_unit_of_its_dimension() -> None:
    assert si(properties(numeric(2, "ct", "MASS"), numeric(1, "nmi", "DISTANCE"))) == [
        (pytest.approx(4e-4, rel=1e-12), "kg"),
        (1852.0, "m"),
    ]


@pytest.mark.parametrize(("category", "si_unit"), list(SI_UNIT_BY_CATEGORY.items()))
def test_every_category_si_unit_is_read_by_pint_as_itself(category: str, si_unit: str) -> None:
    assert si(properties(numeric(1.5, si_unit, category))) == [(1.5, si_unit)]


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
