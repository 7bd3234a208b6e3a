"""`poelis-pipelines doctor` reads the Dagster instance at DAGSTER_HOME and warns when the Poelis pool is
unlimited (runs launched by a daemon would then call the API side by side), saying how to declare it."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
from process_helpers import run_cli

from poelis_pipelines import settings
from poelis_pipelines.cli.doctor import pool_limit

REPO_ROOT = Path(__file__).resolve().parents[2]
POOL = settings.API_CONCURRENCY_POOL


def pool_line(stdout: str) -> str:
    lines = [line for line in stdout.splitlines() if f"Dagster pool {POOL}" in line]
    assert len(lines) == 1, stdout
    return lines[0]


def test_doctor_warns_about_an_unlimited_pool_and_says_how_to_declare_it(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """An instance with no dagster.yaml: Dagster's defaults, no pool limit. A warning, not a failure."""
    result = run_cli("doctor", env=cli_env, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    line = pool_line(result.stdout)
    assert line.startswith("warn  ")
    assert "unlimited" in line
    assert "default_limit: 1" in line
    assert f"dagster instance concurrency set {POOL} 1" in line
    assert "all checks passed (1 warning(s))" in result.stdout


def test_doctor_is_content_with_the_limit_the_repository_instance_declares(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    """`concurrency.pools.default_limit: 1`, as this repository's dagster_home/dagster.yaml and
    deploy/dagster.yaml declare it."""
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", Path(cli_env["DAGSTER_HOME"]) / "dagster.yaml")

    result = run_cli("doctor", env=cli_env, cwd=tmp_path)

    assert result.returncode == 0, result.stdout + result.stderr
    assert pool_line(result.stdout) == f"ok    Dagster pool {POOL}: at most 1 step(s) at once"
    assert "warning" not in result.stdout


def test_a_limit_set_on_the_pool_alone_counts_and_wins_over_the_default(tmp_path: Path) -> None:
    """`dagster instance concurrency set poelis_api N` stores a limit for this pool only."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert pool_limit(instance, POOL) is None
        instance.event_log_storage.set_concurrency_slots(POOL, 2)
        assert pool_limit(instance, POOL) == 2
        assert pool_limit(instance, "another_pool") is None

    (home / "dagster.yaml").write_text("concurrency:\n  pools:\n    default_limit: 1\n")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert pool_limit(instance, POOL) == 2
        assert pool_limit(instance, "another_pool") == 1
