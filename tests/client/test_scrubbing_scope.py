"""A client lives in someone else's process (their Dagster project, their Airflow worker): it scrubs the
records of this package's loggers, and leaves the process's own records, warnings and hooks as they were."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from typing import Any

import pytest

from poelis_pipelines import settings
from poelis_pipelines.client import PoelisClient, fingerprint, get_logger, register_secret
from poelis_pipelines.normalize import NormalizationError, UnknownPropertyTypeWarning, normalize


@pytest.fixture
def captured() -> Iterator[Any]:
    """Attach a handler (as an application or Dagster would) to a logger; what it printed, per logger."""
    attached: list[tuple[logging.Logger, logging.Handler, bool]] = []
    streams: dict[str, io.StringIO] = {}

    def attach(name: str, *, propagate: bool = True) -> io.StringIO:
        logger = logging.getLogger(name)
        stream = streams[name] = io.StringIO()
        handler = logging.StreamHandler(stream)
        attached.append((logger, handler, logger.propagate))
        logger.addHandler(handler)
        logger.propagate = propagate
        return stream

    yield attach
    for logger, handler, propagate in attached:
        logger.removeHandler(handler)
        logger.propagate = propagate


def test_a_client_scrubs_its_own_records_and_leaves_the_users_alone(fake_api: Any, captured: Any) -> None:
    make_record, format_warning, show_warning = (
        logging.getLogRecordFactory(),
        warnings.formatwarning,
        warnings.showwarning,
    )
    key = fake_api.api_key
    # The user's key would fail this package's leak guard on the root logger: their logger keeps to itself.
    users = captured("users.app", propagate=False)
    ours = captured("poelis_pipelines.client.client")

    with PoelisClient(key, fake_api.base_url) as client:
        list(client.iter_workspaces())
        logging.getLogger("users.app").warning("key=%s", key)
        logging.getLogger("poelis_pipelines.client.client").warning("key=%s", key)
        user_warning = warnings.formatwarning(f"key={key}", UserWarning, "app.py", 1)

    assert logging.getLogRecordFactory() is make_record
    assert warnings.formatwarning is format_warning
    assert warnings.showwarning is show_warning
    assert users.getvalue() == f"key={key}\n"
    assert key in user_warning
    assert ours.getvalue().splitlines()[-1] == f"key={fingerprint(key)}"


def test_every_logger_under_the_package_is_scrubbed_tracebacks_included(
    fake_api: Any, captured: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Modules log through `get_logger`; a logger made with `logging.getLogger` (the fake API's, which may
    not import the client) is scrubbed as its records propagate, before the root's handlers see them."""
    key = fake_api.api_key
    PoelisClient(key, fake_api.base_url).close()
    module_logger = get_logger("poelis_pipelines.some_module")
    on_the_module = captured("poelis_pipelines.some_module", propagate=False)  # as a Dagster managed logger

    for logger in (module_logger, logging.getLogger("poelis_pipelines.fake_api.other")):
        try:
            raise RuntimeError(f"failed with {key}")
        except RuntimeError:
            logger.exception("request with %s failed", key)

    assert key not in on_the_module.getvalue()
    assert f"RuntimeError: failed with {fingerprint(key)}" in on_the_module.getvalue()
    (propagated,) = caplog.records
    assert propagated.name == "poelis_pipelines.fake_api.other"
    assert key not in logging.Formatter().format(propagated)
    assert f"request with {fingerprint(key)} failed" in caplog.text


def test_where_logging_is_not_configured_our_warnings_still_reach_stderr_scrubbed(fake_api: Any) -> None:
    """Python prints a record no handler took (its last resort): the package's scrubbing handler must neither
    swallow our warnings there nor let the key through, and the user's records print as they were."""
    key = fake_api.api_key
    script = (
        "import logging, os\n"
        "from poelis_pipelines.client import PoelisClient\n"
        f"key = os.environ[{settings.ENV_API_KEY!r}]\n"
        f"PoelisClient(key, {fake_api.base_url!r}).close()\n"
        "logging.getLogger('poelis_pipelines.client.client').info('not a warning: not printed')\n"
        "logging.getLogger('poelis_pipelines.fake_api.transport').warning('ours: %s', key)\n"
        "logging.getLogger('users.app').warning('theirs: %s', key)\n"
    )
    environment = {**os.environ, settings.ENV_API_KEY: key}
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=120, check=True)

    assert done.stderr.splitlines() == [f"ours: {fingerprint(key)}", f"theirs: {key}"]


def test_our_warnings_are_scrubbed_when_made_not_when_printed() -> None:
    """The process's `warnings.formatwarning` stays the user's: our warnings and errors are clean from the
    start."""
    secret = "a-registered-secret-value"
    register_secret(secret)
    records = [{"id": "p", "item_id": "i", "type": secret, "value": 1}] * 2

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        normalize("properties", records, endpoint=f"GET /x?token={secret}", product_id="p", workspace_id="w")
    with pytest.raises(NormalizationError) as raised:
        normalize("properties", records, endpoint=f"GET /x?token={secret}")

    messages = [str(warning.message) for warning in caught] + [str(raised.value)]
    assert [warning.category for warning in caught] == [UnknownPropertyTypeWarning, UserWarning]
    assert all(secret not in message and fingerprint(secret) in message for message in messages)


def test_normalize_scrubs_without_importing_the_http_client() -> None:
    """The scrubber lives below the layers (`poelis_pipelines.redaction`): normalize may not import HTTP."""
    script = "import sys, poelis_pipelines.normalize; print(sorted(sys.modules))"
    command = [sys.executable, "-c", script]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    modules = done.stdout.split("'")
    assert "poelis_pipelines.redaction" in modules
    assert not [name for name in modules if name.startswith(("poelis_pipelines.client", "urllib3"))]
