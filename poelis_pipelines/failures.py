"""Which failures of a sync retrying can fix: the one classification every orchestrator maps onto its own
retry switch (Dagster's `Failure(allow_retries=...)`, Airflow's `AirflowFailException`).

Dagster-free and Airflow-free: it only names the error classes of the core layers.
"""

from __future__ import annotations

from typing import Literal

from poelis_pipelines.client import (
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    PermissionDeniedError,
    ProtocolError,
    ValidationError,
)
from poelis_pipelines.normalize import NormalizationError
from poelis_pipelines.warehouse import WarehouseConfigError

FailureKind = Literal["configuration", "data", "transient"]

# The user must change a setting (key, URL, warehouse): the same attempt again fails the same way.
CONFIGURATION_ERRORS: tuple[type[Exception], ...] = (
    AuthenticationError,
    ConfigurationError,
    PermissionDeniedError,
    WarehouseConfigError,
)
# The API sent something this version does not expect: a retry receives the same.
DATA_CONTRACT_ERRORS: tuple[type[Exception], ...] = (
    NotFoundError,
    ValidationError,
    ProtocolError,
    NormalizationError,
)


def failure_kind(error: BaseException) -> FailureKind:
    """`configuration` and `data` failures are permanent (never retried); anything else may pass later."""
    if isinstance(error, CONFIGURATION_ERRORS):
        return "configuration"
    if isinstance(error, DATA_CONTRACT_ERRORS):
        return "data"
    return "transient"
