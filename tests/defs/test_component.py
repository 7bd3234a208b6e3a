"""`PoelisComponent`: its attributes reach `build_poelis_defs`, the key reaches Dagster only as the name of
its variable, and in a fresh `dg` project `dg scaffold defs poelis_pipelines.PoelisComponent` plus a
`defs.yaml` loads with `dg check defs` and materializes against the fake API."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import traceback
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

import dagster as dg
import pytest
import yaml
from dagster._core.remote_representation.external_data import RepositorySnap, ResourceConfigEnvVarSnap
from dagster._serdes import serialize_value
from dagster.components.core.component_tree import ComponentTree
from dagster.components.resolved.errors import ResolutionException
from dagster_dg_core.version import __version__ as dg_version
from process_helpers import sealed_environment
from pydantic import ValidationError
from sync_helpers import expected_frames

from poelis_pipelines import PoelisComponent
from poelis_pipelines.defs.poelis.component import PoelisComponentScaffolder
from poelis_pipelines.warehouse import Warehouse
from poelis_pipelines.warehouse.inspection import live_ids

REPOSITORY = Path(__file__).resolve().parents[2]
STEP_TIMEOUT_SECONDS = 600  # one dg command on a busy 2-core machine (a sync run takes ~40 s when idle)
KEY = "poelis_api_a-key-nobody-may-see-1234567890"


def files_holding(secret: str, folder: Path) -> list[Path]:
    """The files under `folder` (symbolic links not followed) whose bytes contain `secret`."""
    needle = secret.encode()
    return [
        Path(directory, name)
        for directory, _, names in os.walk(folder)
        for name in names
        if not Path(directory, name).is_symlink() and needle in Path(directory, name).read_bytes()
    ]


def stored_by_dagster(dagster_home: Path) -> str:
    """Everything the instance keeps of its runs (run config and tags, job and plan snapshots, every event)
    as text: the UI shows these, and on disk the snapshots are compressed, out of reach of a file scan."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs()
        assert len(runs) == 2
        stored = [serialize_value(run) for run in runs]
        for run in runs:
            stored.append(serialize_value(instance.get_job_snapshot(str(run.job_snapshot_id))))
            plan = instance.get_execution_plan_snapshot(str(run.execution_plan_snapshot_id))
            stored.append(serialize_value(plan))
            stored.extend(serialize_value(event) for event in instance.all_logs(run.run_id))
    return "\n".join(stored)


def component_defs(attributes: dict[str, Any]) -> dg.Definitions:
    component = PoelisComponent.from_attributes_dict(attributes=attributes)
    return component.build_defs(ComponentTree.for_test().load_context)


def test_the_key_reaches_dagster_as_the_name_of_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POELIS_API_KEY", KEY)
    monkeypatch.setenv("ACME_WAREHOUSE_URL", f"postgresql://sync:{KEY}@db/acme")
    defs = component_defs(
        {"api_key": "{{ env.POELIS_API_KEY }}", "warehouse": {"url": "{{ env('ACME_WAREHOUSE_URL') }}"}}
    )

    snapshot = RepositorySnap.from_def(defs.get_repository_def())
    resources = {resource.name: resource for resource in snapshot.resources}
    assert resources["poelis"].configured_values["api_key"] == ResourceConfigEnvVarSnap(name="POELIS_API_KEY")
    assert resources["poelis_warehouse"].configured_values["url"] == ResourceConfigEnvVarSnap(
        name="ACME_WAREHOUSE_URL"
    )
    assert KEY not in serialize_value(snapshot)  # what the UI and the run storage receive


def test_a_key_written_in_defs_yaml_is_refused_without_repeating_it() -> None:
    with pytest.raises(ResolutionException) as refused:
        component_defs({"api_key": KEY})

    assert "{{ env.POELIS_API_KEY }}" in str(refused.value)
    assert KEY not in "".join(traceback.format_exception(refused.value))


def test_a_key_given_in_python_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as refused:
        PoelisComponent(api_key=KEY)  # type: ignore[arg-type]

    assert "EnvVar" in str(refused.value)
    assert KEY not in "".join(traceback.format_exception(refused.value))


def test_every_attribute_reaches_the_definitions() -> None:
    defs = component_defs(
        {
            "api_key_file": "/run/secrets/poelis",
            "base_url": "https://poelis.example",
            "quota_share": 0.5,
            "max_requests": 900,
            "warehouse": {"url": "duckdb:///acme.duckdb", "schema_name": "acme"},
            "full": True,
            "max_staleness": "6h",
            "versions": "all",
            "key_prefix": ["acme", "poelis"],
            "group_name": "acme",
            "resource_keys": {"poelis": "acme_api", "warehouse": "acme_wh", "sync_settings": "acme_sync"},
            "partitions_name": "acme_workspaces",
            "pool": "acme_api",
            "job_name": "acme_sync",
            "schedule": {"cron": "15 */2 * * *", "status": "running"},
            "sensor": {"status": "running"},
            "retire_vanished_workspaces": True,
        }
    )

    resources: dict[str, Any] = dict(defs.resources or {})
    api, warehouse, sync_settings = resources["acme_api"], resources["acme_wh"], resources["acme_sync"]
    assert (api.api_key, api.api_key_file) == (None, "/run/secrets/poelis")
    assert api.base_url == "https://poelis.example"
    assert (api.quota_share, api.max_requests) == (0.5, 900)
    assert (warehouse.url, warehouse.schema_name) == ("duckdb:///acme.duckdb", "acme")
    assert (sync_settings.full, sync_settings.max_staleness, sync_settings.versions) == (True, "6h", "all")
    repository = defs.get_repository_def()
    properties = repository.assets_defs_by_key[dg.AssetKey(["acme", "poelis", "properties"])]
    assert properties.group_names_by_key[dg.AssetKey(["acme", "poelis", "properties"])] == "acme"
    assert properties.partitions_def == dg.DynamicPartitionsDefinition(name="acme_workspaces")
    assert properties.node_def.pool == "acme_api"
    schedule = repository.get_schedule_def("acme_sync_schedule")
    assert schedule.cron_schedule == "15 */2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    sensor = repository.get_sensor_def("acme_sync_workspace_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert repository.has_job("acme_sync")


def scaffold(folder: Path, scaffold_format: Literal["yaml", "python"]) -> None:
    """What `dg scaffold defs poelis_pipelines.PoelisComponent <folder>` asks of the scaffolder."""
    request = dg.ScaffoldRequest(
        type_name="poelis_pipelines.PoelisComponent",
        target_path=folder,
        scaffold_format=scaffold_format,
        project_root=None,
        params=None,
    )
    PoelisComponentScaffolder().scaffold(request)


def test_the_scaffolded_template_loads(tmp_path: Path) -> None:
    scaffold(tmp_path, "yaml")

    written = yaml.safe_load((tmp_path / "defs.yaml").read_text())
    assert written["type"] == "poelis_pipelines.PoelisComponent"
    assert written["attributes"]["api_key"] == "{{ env.POELIS_API_KEY }}"
    defs = component_defs(written["attributes"])
    assert defs.resources["poelis"].api_key == dg.EnvVar("POELIS_API_KEY")  # type: ignore[index]


def test_the_python_scaffold_is_dagsters_own(tmp_path: Path) -> None:
    scaffold(tmp_path, "python")

    assert "from poelis_pipelines import PoelisComponent" in (tmp_path / "component.py").read_text()
    assert not (tmp_path / "defs.yaml").exists()


# --- A fresh dg project, as a user makes one ---------------------------------------------------------------


class DgProject:
    """A `create-dagster` project in `root`, its virtual environment `venv`, and `dg` run in it.

    The venv reuses this checkout's installed packages through a `.pth` line (nothing large downloads; a
    `--system-site-packages` venv would see the interpreter's packages, not this checkout's venv), and gets
    this package by a regular `pip install` of a copy of the source: its own files and its own entry points,
    which shadow the checkout's editable install, exactly what a user's `pip install poelis-pipelines` makes.
    """

    def __init__(self, folder: Path, environment: dict[str, str]) -> None:
        self.folder = folder
        self.venv = folder / "venv"
        self.root = folder / "my_project"
        self.environment = environment
        self.outputs: list[str] = []

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    def run(
        self, *args: str, cwd: Path | None = None, extra: dict[str, str] | None = None, succeeds: bool = True
    ) -> str:
        """A command to its end in the project's environment, its output; fails the test with that output if
        the command did not succeed (or, with `succeeds=False`, did)."""
        completed = subprocess.run(
            args,
            cwd=cwd or self.root,
            env=self.environment | (extra or {}),
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT_SECONDS,
            check=False,
        )
        output = completed.stdout + completed.stderr
        self.outputs.append(output)
        command = " ".join(args)
        assert (completed.returncode == 0) == succeeds, f"{command}: exit {completed.returncode}\n{output}"
        return output

    def dg(self, *args: str, extra: dict[str, str] | None = None, succeeds: bool = True) -> str:
        return self.run(self.python, "-m", "dagster_dg_cli.cli", *args, extra=extra, succeeds=succeeds)

    def create(self) -> None:
        self.run(sys.executable, "-m", "venv", "--without-pip", str(self.venv), cwd=self.folder)
        purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
        site_packages = Path(self.run(self.python, "-c", purelib, cwd=self.folder).strip())
        (site_packages / "checkout_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        pip = (self.python, "-m", "pip", "--disable-pip-version-check", "install", "--no-deps")
        if find_spec("create_dagster") is None:  # not among the dev tools yet: the one download, from PyPI
            self.run(*pip, f"create-dagster=={dg_version}", cwd=self.folder)
        source = self.folder / "poelis-pipelines"
        without_caches = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPOSITORY / "poelis_pipelines", source / "poelis_pipelines", ignore=without_caches)
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(REPOSITORY / name, source / name)
        self.run(*pip, "--no-build-isolation", "--no-index", str(source), cwd=self.folder)
        self.run(
            self.python, "-c", "from create_dagster.cli import main; main()", "project", self.root.name,
            "--no-uv-sync", cwd=self.folder,
        )  # fmt: skip
        # What `uv sync` would make: the project's venv beside it, the project installed editable.
        (self.root / ".venv").symlink_to(self.venv)
        (site_packages / "my_project.pth").write_text(str(self.root / "src") + "\n")


@pytest.mark.slow
@pytest.mark.timeout(STEP_TIMEOUT_SECONDS * 6)
def test_a_fresh_dg_project_scaffolds_checks_and_materializes(fake_api: Any, tmp_path: Path) -> None:
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    environment = {name: value for name, value in sealed_environment().items() if name != "PYTHONPATH"}
    project = DgProject(
        tmp_path,
        environment  # without PYTHONPATH: the project imports its own install of the package
        | {
            "DAGSTER_HOME": str(dagster_home),
            "VIRTUAL_ENV": str(tmp_path / "my_project" / ".venv"),
            "DAGSTER_DG_UPDATE_CHECK_ENABLED": "0",
        },
    )
    project.create()

    assert "poelis_pipelines.PoelisComponent" in project.dg("list", "components", "--json")
    project.dg("scaffold", "defs", "poelis_pipelines.PoelisComponent", "poelis")
    defs_yaml = project.root / "src" / "my_project" / "defs" / "poelis" / "defs.yaml"
    assert "{{ env.POELIS_API_KEY }}" in defs_yaml.read_text()
    defs_yaml.write_text(f"type: poelis_pipelines.PoelisComponent\nattributes:\n  api_key: {KEY}\n")
    refused = project.dg("check", "defs", succeeds=False)
    assert "api_key must name an environment variable" in refused
    assert KEY not in refused
    warehouse_url = f"duckdb:///{tmp_path}/warehouse.duckdb"
    defs_yaml.write_text(
        yaml.safe_dump(
            {
                "type": "poelis_pipelines.PoelisComponent",
                "attributes": {
                    "api_key": "{{ env.POELIS_API_KEY }}",
                    "base_url": fake_api.base_url,
                    "warehouse": {"url": warehouse_url},
                    "versions": "none",
                },
            }
        )
    )

    project.dg("check", "defs")  # no key needed to load
    with_key = {"POELIS_API_KEY": fake_api.api_key}
    project.dg("launch", "--assets", "poelis/workspaces,poelis/users", extra=with_key)
    with Warehouse(warehouse_url) as warehouse:
        workspace_ids = live_ids(warehouse, "workspaces")
    # What the workspace sensor does once it runs: a partition per workspace.
    add_partitions = (
        "import sys, dagster as dg\n"
        "dg.DagsterInstance.get().add_dynamic_partitions(sys.argv[1], sys.argv[2:])"
    )
    project.run(project.python, "-c", add_partitions, "poelis_workspaces", *workspace_ids)
    project.dg(
        "launch",
        "--assets",
        "poelis/products,poelis/items,poelis/properties",
        "--partition-range",
        f"{workspace_ids[0]}...{workspace_ids[-1]}",
        extra=with_key,
    )

    expected = expected_frames(fake_api.dataset)
    with Warehouse(warehouse_url) as warehouse:
        for table in ("workspaces", "products", "items", "properties"):
            assert live_ids(warehouse, table) == sorted(expected[table]["id"]), table
    assert files_holding(fake_api.api_key, tmp_path) == []  # project, DAGSTER_HOME, warehouse, venv
    key_stored = fake_api.api_key in stored_by_dagster(dagster_home)
    assert not key_stored, "the Dagster instance holds the key"
    assert not any(fake_api.api_key in output for output in project.outputs)
