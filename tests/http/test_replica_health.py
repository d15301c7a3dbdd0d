"""A replica, in process: `/health` says which one it is and its DCGM endpoints are its own node."""

from typing import Any

import jsonschema
import msgspec
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mockcore import Settings
from mockcore.gpu import initial_fleet
from mockcore.replica import REPLICA_DCGM_SEED, replica_identity, with_replica_defaults
from mockhttp import create_app
from mockhttp.openapi import openapi_document


def replica_settings(name: str, **options: Any) -> Settings:
    """The settings the CLI resolves for a replica named `name` (no option given explicitly)."""
    return with_replica_defaults(Settings(replica_name=name, **options), given=())


def get_json(settings: Settings, path: str) -> Any:
    with TestClient(create_app(settings)) as client:
        response = client.get(path)
    assert response.status_code == 200
    return response.json()


def dcgm_labels(settings: Settings, instance: int) -> set[tuple[str, str]]:
    """The (Hostname, UUID) pairs of one DCGM endpoint."""
    with TestClient(create_app(settings)) as client:
        text = client.get(f"/dcgm{instance}/metrics").text
    return {
        (sample.labels["Hostname"], sample.labels["UUID"])
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_a_server_that_is_no_replica_reports_an_empty_replica() -> None:
    body = get_json(Settings(), "/health")
    assert body["replica"] == {"name": "", "ordinal": None, "hostname": "localhost", "seed": None}
    assert body["status"] == "healthy"
    assert set(body["config"]) == set(Settings.__struct_fields__)


def test_health_reports_the_replica_name_ordinal_hostname_and_seed() -> None:
    settings = replica_settings("mock-server-2", seed_from_ordinal=True, random_seed=40)
    body = get_json(settings, "/health")
    assert body["replica"] == {"name": "mock-server-2", "ordinal": 2, "hostname": "mock-server-2", "seed": 42}
    assert body["replica"] == msgspec.to_builtins(replica_identity(settings))
    assert (body["config"]["random_seed"], body["config"]["dcgm_seed"]) == (42, REPLICA_DCGM_SEED)


def test_a_deployment_pod_has_a_name_but_no_ordinal() -> None:
    replica = get_json(replica_settings("mock-server-7d9f8b5c4-x2k9z"), "/health")["replica"]
    assert (replica["ordinal"], replica["seed"]) == (None, None)


def test_the_root_route_keeps_its_shape() -> None:
    assert set(get_json(replica_settings("mock-server-0"), "/")) == {"message", "version", "config"}


def test_health_matches_its_openapi_schema() -> None:
    document = openapi_document("test")
    content = document["paths"]["/health"]["get"]["responses"]["200"]["content"]
    health_schema = content["application/json"]["schema"]
    resolvable = {**health_schema, "components": document["components"]}  # for its `$ref`s
    for settings in (Settings(), replica_settings("mock-server-5", seed_from_ordinal=True)):
        jsonschema.validate(get_json(settings, "/health"), resolvable)
    assert "replica" in health_schema["required"]


def test_the_dcgm_endpoints_carry_the_replica_name_and_its_own_gpus() -> None:
    settings = replica_settings("mock-server-1")
    for instance in (1, 2):
        expected = initial_fleet(
            gpu_model=settings.dcgm_gpu_name,
            num_gpus=settings.dcgm_num_gpus,
            initial_load=settings.dcgm_initial_load,
            hostname="mock-server-1",
            seed=REPLICA_DCGM_SEED,
            instance=instance,
            replica_name="mock-server-1",
        )
        assert dcgm_labels(settings, instance) == {
            ("mock-server-1", gpu.uuid) for gpu in expected.identity.gpus
        }


def test_two_replicas_are_two_nodes_and_a_restart_is_the_same_node() -> None:
    first, second = replica_settings("mock-server-0"), replica_settings("mock-server-1")
    first_gpus = {uuid for _, uuid in dcgm_labels(first, 1)}
    assert first_gpus.isdisjoint(uuid for _, uuid in dcgm_labels(second, 1))
    assert {uuid for _, uuid in dcgm_labels(replica_settings("mock-server-0"), 1)} == first_gpus
