"""`POELIS_VERSIONS` picks which published versions a sync stores; a bad value is one clear sentence."""

from __future__ import annotations

import pytest

from poelis_pipelines import settings
from poelis_pipelines.client import ConfigurationError
from poelis_pipelines.versions import resolve_versions_mode


def test_the_mode_comes_from_the_argument_else_the_environment_else_baseline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(settings.ENV_VERSIONS, raising=False)
    assert resolve_versions_mode() == settings.VERSIONS_BASELINE
    monkeypatch.setenv(settings.ENV_VERSIONS, " All ")
    assert resolve_versions_mode() == settings.VERSIONS_ALL
    assert resolve_versions_mode("none") == settings.VERSIONS_NONE


def test_a_bad_mode_names_the_variable_and_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_VERSIONS, "latest")
    with pytest.raises(ConfigurationError) as raised:
        resolve_versions_mode()
    assert str(raised.value) == (
        "$POELIS_VERSIONS must be one of none, baseline, all (the published versions to store), got 'latest'."
    )
