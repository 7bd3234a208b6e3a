"""Property values in SI units (`value_si`, `si_unit`), converted per distinct unit string with pint.

Units are free text in Poelis (a built-in table plus each organization's custom units), so pint reads them:
what it cannot read, or reads as a non-linear unit (decibels), converts to null, never to an error. Building
pint's registry takes a noticeable fraction of a second, so it is built on the first unit that needs it; each
unit string is worked out once per process into a factor and an offset, and the rows are converted with
vectorised Arrow arithmetic, never with pint per row.
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
"""`si_unit` of a dimensionless value (`-`, `%`, ratios)."""
_NO_UNIT_SPELLINGS = frozenset({"-"})
"""Units that mean "no unit" but that pint does not read (it reads `%` as 0.01 itself)."""
_NAMED_SI_UNITS = ("W", "Pa", "J", "N")
"""Coherent SI units that name a product of base units: `si_unit` uses one when that makes it shorter."""
_LINEARITY_PROBE = 1000.0
_CACHED_UNITS = 4096
"""Distinct unit strings remembered per process (an organization has far fewer; formula results could not)."""
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

    return pint.UnitRegistry()


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


def _conversion(unit: str) -> SIConversion | None:
    """Ask pint once how `unit` converts to SI; None when pint cannot read it or it is not linear."""
    if unit in _NO_UNIT_SPELLINGS:
        return SIConversion(1.0, 0.0, DIMENSIONLESS)
    if not unit.strip():
        return None
    registry = _registry()
    try:
        zero = registry.Quantity(0.0, unit)
        target = _si_unit(registry, registry.Quantity(1.0, unit))
        offset = float(zero.to(target).magnitude)
        # 1 unit minus 0 units is a difference (delta_degC for °C), whose conversion is the bare scale
        factor = float((registry.Quantity(1.0, unit) - zero).to(target).magnitude)
        probe = float(registry.Quantity(_LINEARITY_PROBE, unit).to(target).magnitude)
    except Exception:  # pint signals an unreadable unit with many exception types; any means "unknown"
        return None
    linear = math.isclose(probe, _LINEARITY_PROBE * factor + offset, rel_tol=1e-9, abs_tol=1e-9)
    if not (linear and factor and math.isfinite(factor) and math.isfinite(offset)):
        return None
    return SIConversion(factor, offset, _unit_text(target))


@functools.lru_cache(maxsize=_CACHED_UNITS)
def si_conversion(unit: str) -> SIConversion | None:
    """How values in `unit` convert to SI, worked out by pint once per unit string (cached)."""
    with _PINT_LOCK:
        return _conversion(unit)


def si_columns(numbers: Sequence[float | None], units: Sequence[str | None]) -> tuple[pa.Array, pa.Array]:
    """`value_si` (float64) and `si_unit` (large_string) for the rows' numbers and units.

    The units are dictionary-encoded, so pint (or its cache) is asked once per distinct unit of the batch and
    the rows get their factor, offset and SI unit by index. Nulls stay null; NaN and ±Infinity stay IEEE.
    """
    encoded = pa.array(units, type=pa.large_string()).dictionary_encode()
    conversions = [si_conversion(unit) for unit in encoded.dictionary.to_pylist()]
    if not any(conversions):
        return pa.nulls(len(units), pa.float64()), pa.nulls(len(units), pa.large_string())
    factors = pa.array([None if c is None else c.factor for c in conversions], type=pa.float64())
    offsets = pa.array([None if c is None else c.offset for c in conversions], type=pa.float64())
    si_units = pa.array([None if c is None else c.unit for c in conversions], type=pa.large_string())
    indices = encoded.indices
    scaled = pc.multiply(pa.array(numbers, type=pa.float64()), factors.take(indices))
    return pc.add(scaled, offsets.take(indices)), si_units.take(indices)
