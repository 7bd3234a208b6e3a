"""Auth, organization scoping, the rate limiter, fault injection, mutation, counters and determinism."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from poelis_pipelines import settings
from poelis_pipelines.fake_api import FakePoelisServer, Faults, RateLimit, generate_organization
from poelis_pipelines.fake_api import cli as fake_api_cli

UNAUTHORIZED = {"error": "unauthorized", "message": "Invalid or missing API key"}


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.02)


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Token poelis_api_abc", "Bearer not_a_poelis_key", "Bearer poelis_api_" + "x" * 43],
)
def test_missing_malformed_or_unknown_keys_get_401(
    server: FakePoelisServer, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = requests.get(f"{server.base_url}/v1/public/workspaces", headers=headers, timeout=10)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["X-Request-ID"]
    assert response.headers["X-RateLimit-Limit"].isdigit()


def test_a_revoked_key_stops_working_at_once_and_an_issued_key_works(
    server: FakePoelisServer, api: Any
) -> None:
    assert api.get("/workspaces").status_code == 200
    server.revoke_key(server.api_key)
    response = api.get("/workspaces")
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    fresh = server.issue_key()
    assert fresh.startswith(settings.API_KEY_PREFIX)
    assert len(fresh) == len(settings.API_KEY_PREFIX) + 43
    headers = {"Authorization": f"Bearer {fresh}"}
    assert (
        requests.get(f"{server.base_url}/v1/public/workspaces", headers=headers, timeout=10).status_code
        == 200
    )


def test_keys_see_only_their_organization(server: FakePoelisServer, make_api: Any) -> None:
    first, second = server.organizations
    assert first.api_key != second.api_key
    assert server.api_key.startswith(settings.API_KEY_PREFIX)
    assert len(server.api_key) == len(settings.API_KEY_PREFIX) + 43
    other = make_api(server, second.api_key)
    own_workspace = first.dataset.workspaces[0]["id"]
    own_product = first.dataset.products[0]["id"]
    own_item = first.dataset.items[0]["id"]
    own_property = first.dataset.properties[0]["id"]
    for path, params in (
        (f"/workspaces/{own_workspace}", {}),
        (f"/products/{own_product}", {}),
        (f"/items/{own_item}", {}),
        (f"/properties/{own_property}", {}),
        ("/products", {"workspace_id": own_workspace}),
        ("/items", {"product_id": own_product}),
        ("/properties", {"item_id": own_item}),
    ):
        response = other.get(path, **params)
        assert response.status_code == 404, path
        assert response.json()["error"] == "not_found"
    other_ids = {workspace["id"] for workspace in other.json("/workspaces")["items"]}
    assert other_ids == {workspace["id"] for workspace in second.dataset.workspaces}
    assert other_ids.isdisjoint(workspace["id"] for workspace in first.dataset.workspaces)


def test_rate_limit_counts_down_429s_and_resets_after_the_window(server: FakePoelisServer, api: Any) -> None:
    server.rate_limit = RateLimit(limit=3, burst=2, window=1.0)
    remaining = []
    for _ in range(5):
        response = api.get("/workspaces")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Limit"] == "3"
        remaining.append(int(response.headers["X-RateLimit-Remaining"]))
    assert remaining == [4, 3, 2, 1, 0]
    limited = api.get("/workspaces")
    assert limited.status_code == 429
    assert limited.json() == {"error": "rate_limit_exceeded", "message": "Too many requests"}
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert int(limited.headers["Retry-After"]) >= 1
    assert int(limited.headers["X-RateLimit-Reset"]) >= int(time.time())
    wait_for(lambda: api.get("/workspaces").status_code == 200)
    assert server.counters[("/v1/public/workspaces", 429)] >= 1


def test_rate_limit_is_per_organization_and_can_be_switched_off(
    server: FakePoelisServer, make_api: Any
) -> None:
    server.rate_limit = RateLimit(limit=1, burst=0, window=60.0)
    first, second = make_api(server), make_api(server, server.organizations[1].api_key)
    assert first.get("/workspaces").status_code == 200
    assert first.get("/workspaces").status_code == 429
    assert second.get("/workspaces").status_code == 200
    server.rate_limit = None
    for _ in range(3):
        response = first.get("/workspaces")
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Remaining"] == response.headers["X-RateLimit-Limit"]


def test_an_overloaded_429_keeps_the_windows_true_rate_headers(server: FakePoelisServer, api: Any) -> None:
    server.rate_limit = RateLimit(limit=10, burst=0, window=60.0)
    assert api.get("/workspaces").headers["X-RateLimit-Remaining"] == "9"
    server.faults = Faults(error_429_overloaded=1.0, retry_after=1)

    throttled = api.get("/workspaces")

    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.headers["X-RateLimit-Remaining"] == "8", "the window counted it and has budget left"


def test_window_counters_count_each_windows_requests_by_route_and_status(
    server: FakePoelisServer, api: Any
) -> None:
    server.rate_limit = RateLimit(limit=2, burst=0, window=60.0)
    resets = {api.get("/workspaces").headers["X-RateLimit-Reset"] for _ in range(3)}
    api.get("/organization/users")

    (reset,) = resets
    assert server.window_counters == {
        (reset, "/v1/public/workspaces", 200): 2,
        (reset, "/v1/public/workspaces", 429): 1,
        (reset, "/v1/public/organization/users", 429): 1,
    }
    server.reset_counters()
    assert not server.window_counters


@pytest.mark.parametrize(
    ("faults", "status", "error"),
    [
        (Faults(error_500=1.0), 500, "internal_error"),
        (Faults(error_503=1.0), 503, "service_unavailable"),
        (Faults(error_429=1.0, retry_after=7), 429, "rate_limit_exceeded"),
    ],
)
def test_error_faults(server: FakePoelisServer, api: Any, faults: Faults, status: int, error: str) -> None:
    server.faults = faults
    response = api.get("/workspaces")
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.headers["X-Request-ID"]
    if status == 429:
        assert response.headers["Retry-After"] == "7"
    server.faults = Faults()
    assert api.get("/workspaces").status_code == 200


def test_drop_connection_fault_closes_without_a_response(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(drop_connection=1.0)
    with pytest.raises(requests.ConnectionError):
        api.get("/workspaces")
    assert server.counters[("/v1/public/workspaces", 0)] == 1


def test_malformed_json_fault_sends_a_200_with_invalid_json(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(malformed_json=1.0)
    response = api.get("/workspaces")
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_latency_fault_delays_the_response(server: FakePoelisServer, api: Any) -> None:
    server.faults = Faults(latency=(0.2, 0.2))
    started = time.monotonic()
    assert api.get("/workspaces").status_code == 200
    assert time.monotonic() - started >= 0.2


def test_ignore_offset_fault_serves_the_first_page_again(server: FakePoelisServer, api: Any) -> None:
    first_page = api.json("/properties", item_id=server.dataset.items[0]["id"], limit=2)
    server.faults = Faults(ignore_offset=True)
    assert api.json("/properties", item_id=server.dataset.items[0]["id"], limit=2, offset=2) == first_page


def test_counters_count_requests_by_route_template_and_status(server: FakePoelisServer, api: Any) -> None:
    server.reset_counters()
    item_id = server.dataset.items[0]["id"]
    api.get(f"/items/{item_id}")
    api.get("/items/missing")
    api.get("/properties", item_id=item_id)
    assert server.counters == {
        ("/v1/public/items/{id}", 200): 1,
        ("/v1/public/items/{id}", 404): 1,
        ("/v1/public/properties", 200): 1,
    }
    assert server.total_requests == 3
    server.reset_counters()
    assert server.total_requests == 0


def test_mutation_changes_what_it_reports(server: FakePoelisServer, api: Any) -> None:
    before = {prop["id"]: prop for prop in server.dataset.properties}
    mutation = server.mutate(seed=1)
    assert mutation.organization_id == server.organizations[0].id
    for property_id in mutation.updated_properties:
        now = api.json(f"/properties/{property_id}")
        assert now["updatedAt"] > before[property_id]["updatedAt"]
    assert any(
        api.json(f"/properties/{pid}")["value"] != before[pid]["value"] for pid in mutation.updated_properties
    )
    for item_id in mutation.soft_deleted_items:
        item = api.json(f"/items/{item_id}")
        assert item["deleted"] is True
        assert item_id not in {i["id"] for i in api.all_pages("/items", product_id=item["product_id"])}
    for property_id in mutation.removed_properties:
        assert property_id in before
        assert api.get(f"/properties/{property_id}").status_code == 404
    for item_id in mutation.added_items:
        assert api.json(f"/items/{item_id}")["deleted"] is False
    for property_id in mutation.added_properties:
        assert property_id not in before
        assert api.json(f"/properties/{property_id}")["id"] == property_id
    for record_id in mutation.records_with_new_field:
        path = "/properties" if record_id in before else "/items"
        assert mutation.new_field in api.json(f"{path}/{record_id}")
    assert mutation.added_items
    assert mutation.removed_properties
    assert mutation.soft_deleted_items


def test_same_seed_same_organization_different_seed_different() -> None:
    first, again, other = (generate_organization(seed, "tiny") for seed in (5, 5, 6))
    for kind in ("workspaces", "products", "items", "properties", "users"):
        assert list(getattr(first, kind)) == list(getattr(again, kind)), kind
    assert list(first.items) != list(other.items)
    with FakePoelisServer(seed=5) as one, FakePoelisServer(seed=5) as two:
        assert one.api_key == two.api_key


def test_products_built_lazily_in_any_order_are_identical() -> None:
    in_order, reversed_order = generate_organization(9, "tiny"), generate_organization(9, "tiny")
    for product in reversed(list(reversed_order.products)):
        reversed_order.materialise(product["id"])
    assert list(in_order.properties) == list(reversed_order.properties)


def test_ids_from_products_nobody_listed_yet_resolve(make_api: Any) -> None:
    expected = generate_organization(21, "tiny")
    last_item = expected.items[-1]
    last_property = expected.properties[-1]
    with FakePoelisServer(seed=21) as fresh:
        api = make_api(fresh)
        assert api.json(f"/items/{last_item['id']}") == last_item
        assert api.json(f"/properties/{last_property['id']}") == last_property


def test_scale_presets_and_unknown_scale() -> None:
    tiny = generate_organization(3, "tiny")
    assert 2 <= len(tiny.workspaces) <= 3
    assert 1_000 <= len(tiny.properties) <= 5_000
    with pytest.raises(ValueError, match="unknown scale"):
        generate_organization(3, "huge")


@pytest.mark.parametrize(
    "build",
    [
        lambda: Faults(error_500=1.5),
        lambda: Faults(drop_connection=-0.1),
        lambda: Faults(latency=(0.5, 0.1)),
        lambda: RateLimit(limit=0),
        lambda: RateLimit(burst=-1),
    ],
)
def test_impossible_settings_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match=r"must|needs|probability"):
        build()


def test_non_loopback_hosts_are_refused_unless_allowed() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        FakePoelisServer(host="0.0.0.0")
    parser = argparse.ArgumentParser()
    fake_api_cli.add_arguments(parser)
    assert fake_api_cli.run(parser.parse_args(["--host", "0.0.0.0", "--scale", "tiny"])) == 2


def test_stop_cuts_kept_alive_connections_and_start_comes_back_on_the_same_url(api: Any) -> None:
    assert api.get("/workspaces").status_code == 200
    url = api.server.base_url
    api.server.stop()
    with pytest.raises(requests.ConnectionError):
        api.get("/workspaces")
    api.server.start()
    assert api.server.base_url == url
    assert api.get("/workspaces").status_code == 200


def start_fake_api_command(*entry_point: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, *entry_point, "--port", "0", "--scale", "tiny"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def assert_stopped_cleanly(process: subprocess.Popen[str], signum: int) -> None:
    """128 + the signal's number, like every command stopped by a signal; "stopped" last, no traceback."""
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, stdout + stderr
    assert "Traceback" not in stderr, stderr
    assert stdout.splitlines()[-1] == "stopped", stdout


def test_the_command_serves_until_interrupted() -> None:
    process = start_fake_api_command("-m", "poelis_pipelines.fake_api.cli")
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        assert banner[3].startswith("Press Ctrl-C"), banner
        base_url = banner[1].strip().partition("=")[2]
        api_key = banner[2].split("=", 1)[1].split()[0]
        response = requests.get(
            f"{base_url}/v1/public/workspaces", headers={"Authorization": f"Bearer {api_key}"}, timeout=10
        )
        assert response.status_code == 200
        assert response.json()["count"] >= 2
        process.send_signal(signal.SIGINT)
        assert_stopped_cleanly(process, signal.SIGINT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize(
    "entry_point",
    [("-m", "poelis_pipelines.fake_api.cli"), ("-m", "poelis_pipelines", "fake-api")],
    ids=["module", "poelis-pipelines"],
)
def test_a_signal_while_the_banner_is_printed_stops_it_cleanly(
    signum: int, entry_point: tuple[str, ...]
) -> None:
    """Signalled as soon as the first banner line is out: before `serve_forever`, or just after."""
    process = start_fake_api_command(*entry_point)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Fake Poelis API")
        process.send_signal(signum)
        assert_stopped_cleanly(process, signum)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
