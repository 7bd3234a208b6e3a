"""API records -> typed pandas frames matching `poelis_pipelines.tables` (no HTTP, no SQL)."""

from poelis_pipelines.normalize.core import normalize
from poelis_pipelines.normalize.errors import NormalizationError, UnknownPropertyTypeWarning
from poelis_pipelines.normalize.property_values import matrix_text, parse_formula_result

__all__ = [
    "NormalizationError",
    "UnknownPropertyTypeWarning",
    "matrix_text",
    "normalize",
    "parse_formula_result",
]
