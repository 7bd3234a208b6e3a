"""The key never reaches a log record, a warning, an exception or a repr, whoever produced the text."""

from __future__ import annotations

import logging
import warnings
from typing import Any

import pytest
from client_helpers import ClientFactory, assert_no_key

from poelis_pipelines import settings
from poelis_pipelines.client import (
    ConfigurationError,
    PoelisClient,
    fingerprint,
    install_log_scrubbing,
    register_secret,
    scrub,
)

SECRET = settings.API_KEY_PREFIX + "s3cr3t-Value_" + "k" * 30


def test_scrub_masks_registered_values_bearer_tokens_and_key_shaped_text() -> None:
    register_secret("hunter2-hunter2")

    text = scrub(f"pw=hunter2-hunter2 auth='Bearer abc.def' key={SECRET}")

    assert "hunter2-hunter2" not in text
    assert "abc.def" not in text
    assert SECRET not in text
    assert fingerprint(SECRET) in text
    assert scrub(text) == text


def test_fingerprint_keeps_the_prefix_and_at_most_four_characters() -> None:
    assert fingerprint(SECRET) == settings.API_KEY_PREFIX + "…" + SECRET[-4:]
    assert fingerprint("short") == "***"


def test_log_records_of_any_logger_are_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    register_secret(SECRET)
    install_log_scrubbing()
    install_log_scrubbing()  # idempotent
    third_party = logging.getLogger("some.library")

    third_party.debug("headers: %r", {"Authorization": f"Bearer {SECRET}"})
    third_party.warning("key %s in a message", SECRET)
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        third_party.exception("request failed")

    assert len(caplog.records) == 3
    assert "request failed" in caplog.text
    assert fingerprint(SECRET) in caplog.text
    assert SECRET not in caplog.text
    for record in caplog.records:
        assert SECRET not in record.getMessage()
        assert SECRET not in logging.Formatter().format(record)


def test_warnings_are_scrubbed() -> None:
    register_secret(SECRET)
    install_log_scrubbing()

    text = warnings.formatwarning(f"deprecated call with {SECRET}", UserWarning, "x.py", 1)

    assert SECRET not in text


def test_client_requests_log_no_key(
    fake_api: Any, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_client()
    list(client.iter_workspaces())

    assert any(record.name.startswith("urllib3") for record in caplog.records)  # the DEBUG capture works
    assert_no_key(caplog.text)
    assert_no_key(repr(client))
    assert_no_key(repr(client.stats))


def test_a_key_in_an_argument_is_never_echoed(fake_api: Any) -> None:
    with pytest.raises(ConfigurationError) as raised:
        PoelisClient(api_key=fake_api.api_key + "\n" + fake_api.api_key, base_url=fake_api.base_url)

    assert_no_key(str(raised.value))
    assert_no_key(repr(raised.value))


def test_a_key_passed_as_the_base_url_is_not_echoed(fake_api: Any) -> None:
    with pytest.raises(ConfigurationError, match="base URL") as raised:
        PoelisClient(fake_api.api_key, fake_api.api_key)

    assert_no_key(str(raised.value))
