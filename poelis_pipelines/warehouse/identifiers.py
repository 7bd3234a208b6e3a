"""The only names ever formatted into SQL text: validated against one pattern, then double-quoted."""

from __future__ import annotations

import re

from poelis_pipelines import settings
from poelis_pipelines.warehouse.errors import WarehouseConfigError

_IDENTIFIER = re.compile(settings.WAREHOUSE_IDENTIFIER_PATTERN)


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return `name` if it is a plain SQL identifier; raise `WarehouseConfigError` otherwise."""
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        raise WarehouseConfigError(
            f"{what} {name!r} is not allowed: use letters, digits and underscores, starting with a letter or "
            "underscore, at most 63 characters"
        )
    return name


def quote(name: str) -> str:
    """A validated identifier in double quotes (the pattern excludes quotes, so no escaping is needed)."""
    return f'"{validate_identifier(name)}"'
