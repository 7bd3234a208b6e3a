"""The code location `workspace.yaml` loads: `dagster dev -w workspace.yaml`."""

from poelis_pipelines.defs.poelis import build_definitions

defs = build_definitions()
