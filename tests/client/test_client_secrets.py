"""The key never reaches a log record, a warning, an exception or a repr: of this package anywhere, of anyone
in the CLI's process (`scrub_whole_process`). That a client leaves its host's own records alone is
`test_scrubbing_scope.py`."""

from __future__ import annotations

import logging
import traceback
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from client_helpers import ClientFactory, assert_no_key

from poelis_pipelines import settings
from poelis_pipelines.client import (
    ConfigurationError,
    PoelisClient,
    fingerprint,
    register_secret,
    scrub,
    scrub_whole_process,
    without_secrets,
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


@pytest.fixture
def cli_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process scrubbed as the CLI scrubs its own, then given back as it was: the other tests play a
    user's process, which the package must leave alone."""
    monkeypatch.setattr(warnings, "formatwarning", warnings.formatwarning)
    make_record = logging.getLogRecordFactory()
    scrub_whole_process()
    yield
    logging.setLogRecordFactory(make_record)


def test_the_cli_scrubs_the_records_of_any_logger_in_its_process(
    cli_process: None, caplog: pytest.LogCaptureFixture
) -> None:
    register_secret(SECRET)
    make_record, format_warning = logging.getLogRecordFactory(), warnings.formatwarning
    scrub_whole_process()  # idempotent: the hooks are not wrapped twice
    assert logging.getLogRecordFactory() is make_record
    assert warnings.formatwarning is format_warning
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


def test_the_cli_scrubs_every_warning_in_its_process(cli_process: None) -> None:
    register_secret(SECRET)

    text = warnings.formatwarning(f"deprecated call with {SECRET}", UserWarning, "x.py", 1)

    assert SECRET not in text


def test_an_exception_with_a_secret_anywhere_in_its_chain_gets_a_scrubbed_stand_in() -> None:
    register_secret(SECRET)
    harmless = ValueError("no secret here")
    assert without_secrets(harmless) is harmless
    try:
        try:
            raise KeyError(SECRET)
        except KeyError as cause:
            raise RuntimeError("request failed") from cause
    except RuntimeError as error:
        stand_in = without_secrets(error)

    assert str(stand_in) == "RuntimeError: request failed"
    text = "".join(traceback.format_exception(stand_in))
    assert SECRET not in text
    assert f"KeyError: '{fingerprint(SECRET)}'" in text


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
