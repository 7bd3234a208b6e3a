"""What normalization reports: an error for records it cannot key, a warning for types it does not know."""

from __future__ import annotations

from poelis_pipelines.redaction import scrub


class NormalizationError(ValueError):
    """A record cannot be normalized (not an object, no id, bad table or lineage): never a silent drop."""

    def __init__(self, message: str, *, endpoint: str, position: int | None = None) -> None:
        where = endpoint if position is None else f"{endpoint} record #{position}"
        super().__init__(scrub(f"{where}: {message}"))
        self.endpoint = endpoint
        self.position = position


class UnknownPropertyTypeWarning(UserWarning):
    """Properties of a type this version does not know were kept with empty typed value columns.

    A warning, not an error, so a sync keeps every row (the raw `value` is stored) when Poelis adds a type.
    Callers that must stop instead (the CLI's strict mode) turn it into an exception with
    `warnings.simplefilter("error", UnknownPropertyTypeWarning)`; the frame also carries the counts in
    `frame.attrs["unknown_property_types"]`.
    """
