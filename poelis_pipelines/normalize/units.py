"""Property values in SI units (`value_si`, `si_unit`), converted per distinct (unit, category) with pint.

Units are free text in Poelis (a built-in table plus each organization's custom units), so pint reads them:
what it cannot read, or reads as a non-linear unit (decibels), converts to null, never to an error. pint also
reads some engineering spellings as something else (`pcs` as parsecs), so a reading must be vouched for:

* a property whose category is in `SI_UNIT_BY_CATEGORY` converts only when its unit has the same SI base
  units as the category's SI unit (`kW` for POWER; not `pcs` for MASS), and into that SI unit (N*m for
  TORQUE, J for ENERGY, though both are kg*m^2/s^2). The base units rather than pint's dimensionality,
  because pint counts angles as dimensionless: rpm would pass as a FREQUENCY at 2*pi Hz per 60 rpm;
* a property without a category (a formula result) or with one the mapping does not know converts only
  when it is built from `FAMILIAR_UNITS` (with any SI prefix): with nothing to check pint's reading
  against, a null is safer for an analyst than a plausible number in a unit nobody meant (`ct` is carat
  to pint, `a` a year, `ly` a light year);
* `ENGINEERING_DEFINITIONS` teach pint the spellings it misreads: `pcs` are pieces, `Nm` newton metres.

Building pint's registry takes a noticeable fraction of a second, so it is built on the first unit that
needs it; each (unit, SI unit of the category) is worked out once per process into a factor and an offset,
and the rows are converted with vectorised Arrow arithmetic, never with pint per row.
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

DIMENSIONLESS = "1"
"""`si_unit` of a dimensionless value (`-`, `%`, pieces, ratios)."""
_NO_UNIT_SPELLINGS = frozenset({"-"})
"""Units that mean "no unit" but that pint does not read (it reads `%` as 0.01 itself)."""
_NAMED_SI_UNITS = ("W", "Pa", "J", "N")
"""Coherent SI units that name a product of base units: `si_unit` uses one when that makes it shorter."""
ENGINEERING_DEFINITIONS = (
    "piece = 1 = pc = pcs = pce = pieces",  # counts; pint's pc is a parsec
    "newton_meter = newton * meter = Nm",  # torque; pint reads Nm as an unrelated "number metre"
)
"""pint definitions (its own syntax) for spellings organizations use and pint misreads."""
SI_UNIT_BY_CATEGORY: dict[str, str] = {
    "DIMENSIONLESS": DIMENSIONLESS,
    "RATIO": DIMENSIONLESS,
    "COUNT": DIMENSIONLESS,
    "LENGTH": "m",
    "DISTANCE": "m",
    "AREA": "m^2",
    "VOLUME": "m^3",
    "MASS": "kg",
    "TIME": "s",
    "DURATION": "s",
    "FREQUENCY": "Hz",
    "TEMPERATURE": "K",
    "VELOCITY": "m/s",
    "SPEED": "m/s",
    "ACCELERATION": "m/s^2",
    "ANGLE": "rad",
    "ANGULAR_VELOCITY": "rad/s",
    "FORCE": "N",
    "PRESSURE": "Pa",
    "STRESS": "Pa",
    "ENERGY": "J",
    "TORQUE": "N*m",
    "POWER": "W",
    "DENSITY": "kg/m^3",
    "MASS_FLOW": "kg/s",
    "VOLUME_FLOW": "m^3/s",
    "CURRENT": "A",
    "VOLTAGE": "V",
    "RESISTANCE": "ohm",
    "CHARGE": "C",
    "CAPACITANCE": "F",
}
"""The SI unit of each standard category (upper-case snake case, as the API normalises them)."""
FAMILIAR_UNITS = frozenset(
    {
        *("meter", "gram", "second", "ampere", "kelvin", "mole", "candela", "radian", "steradian"),
        *("hertz", "newton", "pascal", "joule", "watt", "coulomb", "volt", "farad", "ohm", "siemens"),
        *("weber", "tesla", "henry", "lumen", "lux", "degree_Celsius", "percent", "ppm", "piece"),
        *("minute", "hour", "day", "liter", "metric_ton", "degree", "bar", "watt_hour", "newton_meter"),
        *("inch", "foot", "yard", "mile", "pound", "ounce", "force_pound", "pound_force_per_square_inch"),
        *("horsepower", "degree_Fahrenheit", "revolutions_per_minute", "mile_per_hour", "force_kilogram"),
    }
)
"""pint's names of the units trusted without a category to check them against (SI prefixes allowed)."""
_LINEARITY_PROBE = 1000.0
_CACHED_UNITS = 4096
"""Distinct (unit, category SI unit) pairs remembered per process (an organization has far fewer; formula
results could not)."""
_PINT_LOCK = threading.Lock()
"""pint's registry caches what it parses and does not promise thread safety: one unit at a time."""


@dataclass(frozen=True)
class SIConversion:
    """`value_si = value * factor + offset`, in `unit` (the offset is non-zero for °C and °F only)."""

    factor: float
    offset: float
    unit: str


@functools.cache
def _registry() -> Any:
    import pint  # imported on first need: pint and its registry are the slow part

    registry: Any = pint.UnitRegistry(on_redefinition="ignore")  # `pc` and `Nm` are replaced on purpose
    for definition in ENGINEERING_DEFINITIONS:
        registry.define(definition)
    return registry


def si_unit_of_category(category: str | None) -> str | None:
    """The SI unit a property of `category` converts to; None without a category or for one not mapped."""
    if category is None:
        return None
    return SI_UNIT_BY_CATEGORY.get(category.strip().upper().replace(" ", "_"))


def _complexity(registry: Any, unit: Any) -> float:
    """How many base-unit factors `unit` writes out: kg·m²/s³ is 6, W is 1."""
    return float(sum(abs(exponent) for _name, exponent in registry.Quantity(1.0, unit).unit_items()))


def _si_unit(registry: Any, quantity: Any) -> Any:
    """The SI unit of `quantity`: its base units, or a named unit times the rest when that saves at least two
    factors (m²/s³ is W/kg, but m/s² stays m/s² rather than N/kg)."""
    base = quantity.to_base_units().units
    best, best_complexity = base, _complexity(registry, base) - 1
    for name in _NAMED_SI_UNITS:
        named = registry.Unit(name)
        rest = base / registry.Quantity(1.0, named).to_base_units().units
        complexity = 1 + _complexity(registry, rest)
        if complexity < best_complexity:
            best, best_complexity = named * rest, complexity
    return best


def _unit_text(unit: Any) -> str:
    return format(unit, "~C").replace("**", "^") or DIMENSIONLESS


def _familiar(registry: Any, quantity: Any) -> bool:
    """Whether every unit of `quantity` is, but for an SI prefix, one of `FAMILIAR_UNITS`."""
    return all(
        any(name in FAMILIAR_UNITS for _prefix, name, _suffix in registry.parse_unit_name(unit))
        for unit, _exponent in quantity.unit_items()
    )


def _target(registry: Any, quantity: Any, category_si_unit: str | None) -> tuple[Any, str] | None:
    """The unit `quantity` converts to and its `si_unit` spelling; None when its reading is not vouched for
    (see the module docstring)."""
    if category_si_unit is None:
        if not _familiar(registry, quantity):
            return None
        target = _si_unit(registry, quantity)
        return target, _unit_text(target)
    target = registry.Unit(category_si_unit)
    if quantity.to_base_units().units != registry.Quantity(1.0, target).to_base_units().units:
        return None
    return target, category_si_unit


def _conversion(unit: str, category_si_unit: str | None) -> SIConversion | None:
    """Ask pint once how `unit` converts to SI; None when pint cannot read it, it is not linear, or its
    reading does not fit the category."""
    if not unit.strip():
        return None
    pint_unit = DIMENSIONLESS if unit in _NO_UNIT_SPELLINGS else unit
    registry = _registry()
    try:
        zero = registry.Quantity(0.0, pint_unit)
        target = _target(registry, registry.Quantity(1.0, pint_unit), category_si_unit)
        if target is None:
            return None
        target_unit, si_unit = target
        offset = float(zero.to(target_unit).magnitude)
        # 1 unit minus 0 units is a difference (delta_degC for °C), whose conversion is the bare scale
        factor = float((registry.Quantity(1.0, pint_unit) - zero).to(target_unit).magnitude)
        probe = float(registry.Quantity(_LINEARITY_PROBE, pint_unit).to(target_unit).magnitude)
    except Exception:  # pint signals an unreadable unit with many exception types; any means "unknown"
        return None
    linear = math.isclose(probe, _LINEARITY_PROBE * factor + offset, rel_tol=1e-9, abs_tol=1e-9)
    if not (linear and factor and math.isfinite(factor) and math.isfinite(offset)):
        return None
    return SIConversion(factor, offset, si_unit)


@functools.lru_cache(maxsize=_CACHED_UNITS)
def si_conversion(unit: str, category_si_unit: str | None) -> SIConversion | None:
    """How values in `unit` of a category whose SI unit is `category_si_unit` (`si_unit_of_category()`; None:
    no or an unmapped category) convert to SI, worked out by pint once per pair (cached)."""
    with _PINT_LOCK:
        return _conversion(unit, category_si_unit)


def si_columns(
    numbers: Sequence[float | None], units: Sequence[str | None], categories: Sequence[str | None]
) -> tuple[pa.Array, pa.Array]:
    """`value_si` (float64) and `si_unit` (large_string) for the rows' numbers, units and categories.

    Units and categories are dictionary-encoded and their index pairs encoded once more, so pint (or its
    cache) is asked once per distinct (unit, category) of the batch and the rows get their factor, offset
    and SI unit by index. Nulls stay null; NaN and ±Infinity stay IEEE.
    """
    encoded_units = pa.array(units, type=pa.large_string()).dictionary_encode()
    encoded_categories = pa.array(categories, type=pa.large_string()).dictionary_encode()
    # the last category index stands for "no category"
    targets = [si_unit_of_category(category) for category in encoded_categories.dictionary.to_pylist()] + [
        None
    ]
    category_indices = pc.fill_null(pc.cast(encoded_categories.indices, pa.int64()), len(targets) - 1)
    pair_codes = pc.add(
        pc.multiply(pc.cast(encoded_units.indices, pa.int64()), len(targets)), category_indices
    )
    encoded_pairs = pair_codes.dictionary_encode()
    distinct_units = encoded_units.dictionary.to_pylist()
    conversions = [
        si_conversion(distinct_units[code // len(targets)], targets[code % len(targets)])
        for code in encoded_pairs.dictionary.to_pylist()
    ]
    if not any(conversions):
        return pa.nulls(len(units), pa.float64()), pa.nulls(len(units), pa.large_string())
    factors = pa.array([None if c is None else c.factor for c in conversions], type=pa.float64())
    offsets = pa.array([None if c is None else c.offset for c in conversions], type=pa.float64())
    si_units = pa.array([None if c is None else c.unit for c in conversions], type=pa.large_string())
    indices = encoded_pairs.indices
    scaled = pc.multiply(pa.array(numbers, type=pa.float64()), factors.take(indices))
    return pc.add(scaled, offsets.take(indices)), si_units.take(indices)
