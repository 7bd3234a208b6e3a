"""A faithful fake of the Poelis Public API (SPEC.md), served on loopback.

Product code, not a test helper: the demo runs the real sync against it, the tests and benchmarks use
it, and users develop offline against it (`poelis-pipelines fake-api`). Standard library only.

    with FakePoelisServer(seed=7, scale="tiny") as server:
        requests.get(f"{server.base_url}/v1/public/workspaces",
                     headers={"Authorization": f"Bearer {server.api_key}"})
"""

from poelis_pipelines.fake_api.api import FakeOrganization, Faults, RateLimit
from poelis_pipelines.fake_api.dataset import (
    SCALES,
    UNITS_BY_CATEGORY,
    FakeDataset,
    ProductVersion,
    ScalePreset,
    generate_organization,
)
from poelis_pipelines.fake_api.mutation import Mutation
from poelis_pipelines.fake_api.server import FakePoelisServer

__all__ = [
    "SCALES",
    "UNITS_BY_CATEGORY",
    "FakeDataset",
    "FakeOrganization",
    "FakePoelisServer",
    "Faults",
    "Mutation",
    "ProductVersion",
    "RateLimit",
    "ScalePreset",
    "generate_organization",
]
