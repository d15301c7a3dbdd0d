"""Three replicas without a cluster: three server processes named as a StatefulSet's pods.

Each looks like its own GPU node (its own DCGM `Hostname` and GPUs, the ones its name
predicts, so a restarted pod is the same node), and a client round-robining over them, as a
Service does, gets the same content for the same request from every replica while each
replica fails on its own reproducible schedule (`--seed-from-ordinal`), counted from its own
requests only (docs/scale-out.md).
"""

from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.cli.conftest import CliServer
from tests.server_process import free_port

from mockcli.config import POD_NAME_ENV
from mockcore import Settings, predict
from mockcore.gpu import initial_fleet
from mockcore.replica import REPLICA_DCGM_SEED

pytestmark = pytest.mark.e2e

REPLICAS = ("mock-server-0", "mock-server-1", "mock-server-2")
BASE_SEED = 100
# Every replica gets the same configuration, as from one pod template.
TEMPLATE = {
    "MOCK_SERVER_FAST": "true",
    "MOCK_SERVER_ERROR_RATE": "40",
    "MOCK_SERVER_RANDOM_SEED": str(BASE_SEED),
    "MOCK_SERVER_SEED_FROM_ORDINAL": "true",
}
REQUESTS = [
    {
        "model": "m",
        "messages": [{"role": "user", "content": "What does a load balancer do?"}],
        "max_tokens": 24,
    },
    {"model": "m", "messages": [{"role": "user", "content": "Name three GPUs."}], "max_tokens": 16},
]
ROUNDS = 6


def start_replica(name: str) -> CliServer:
    port = free_port()
    return CliServer([], port=port, env={**TEMPLATE, POD_NAME_ENV: name, "MOCK_SERVER_PORT": str(port)})


@pytest.fixture(scope="module")
def replicas() -> Iterator[list[CliServer]]:
    """The three replicas, started together and stopped at the end of the module."""
    servers: list[CliServer] = []
    try:
        servers.extend(start_replica(name) for name in REPLICAS)
        for server in servers:
            server.wait_until_healthy()
        yield servers
    finally:
        for server in servers:
            server.close()


def health(server: CliServer) -> dict[str, Any]:
    response = httpx.get(f"{server.base_url}/health", timeout=10.0, trust_env=False)
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def dcgm_gpus(server: CliServer, instance: int) -> set[tuple[str, str]]:
    """The (Hostname, UUID) pairs of one of the server's DCGM endpoints."""
    response = httpx.get(f"{server.base_url}/dcgm{instance}/metrics", timeout=10.0, trust_env=False)
    assert response.status_code == 200
    return {
        (sample.labels["Hostname"], sample.labels["UUID"])
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def predicted_gpus(settings: Settings, instance: int) -> set[tuple[str, str]]:
    fleet = initial_fleet(
        gpu_model=settings.dcgm_gpu_name,
        num_gpus=settings.dcgm_num_gpus,
        initial_load=settings.dcgm_initial_load,
        hostname=settings.replica_name,
        seed=REPLICA_DCGM_SEED,
        instance=instance,
        replica_name=settings.replica_name,
    )
    return {(settings.replica_name, gpu.uuid) for gpu in fleet.identity.gpus}


def test_each_replica_reports_its_name_ordinal_hostname_and_seed(replicas: list[CliServer]) -> None:
    for ordinal, (name, server) in enumerate(zip(REPLICAS, replicas, strict=True)):
        body = health(server)
        assert body["replica"] == {
            "name": name,
            "ordinal": ordinal,
            "hostname": name,
            "seed": BASE_SEED + ordinal,
        }
        assert body["config"]["replica_name"] == name


def test_the_replicas_are_distinct_gpu_nodes_their_names_predict(replicas: list[CliServer]) -> None:
    seen: set[str] = set()
    for server in replicas:
        settings = msgspec.convert(health(server)["config"], Settings)
        for instance in (1, 2):
            gpus = dcgm_gpus(server, instance)
            assert gpus == predicted_gpus(settings, instance)
            uuids = {uuid for _, uuid in gpus}
            assert seen.isdisjoint(uuids)
            seen |= uuids
    assert len(seen) == len(REPLICAS) * 2 * Settings().dcgm_num_gpus


def test_a_restarted_pod_is_the_same_node(replicas: list[CliServer]) -> None:
    again = start_replica(REPLICAS[1])
    try:
        again.wait_until_healthy()
        assert health(again)["replica"] == health(replicas[1])["replica"]
        for instance in (1, 2):
            assert dcgm_gpus(again, instance) == dcgm_gpus(replicas[1], instance)
    finally:
        again.close()


def test_round_robin_over_the_replicas_sees_the_documented_determinism(replicas: list[CliServer]) -> None:
    """Content follows the request alone; faults follow each replica's seed and own count."""
    settings = [msgspec.convert(health(server)["config"], Settings) for server in replicas]
    sent = [0] * len(replicas)
    contents: dict[int, set[str]] = {index: set() for index in range(len(REQUESTS))}
    statuses: list[list[int]] = [[] for _ in replicas]
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        for turn in range(ROUNDS * len(replicas)):
            replica = turn % len(replicas)  # what a Service's round robin does
            request_index = (turn // len(replicas)) % len(REQUESTS)
            sent[replica] += 1
            response = client.post(
                f"{replicas[replica].base_url}/v1/chat/completions", json=REQUESTS[request_index]
            )
            expected = predict(
                "chat", REQUESTS[request_index], settings[replica], sequence_number=sent[replica]
            )
            assert expected.fault_predictable
            assert response.status_code == expected.status_code, (replica, sent[replica], response.text)
            statuses[replica].append(response.status_code)
            if response.status_code == 200:
                assert expected.plan is not None
                content = response.json()["choices"][0]["message"]["content"]
                assert content == expected.plan.choices[0].content_text
                contents[request_index].add(content)
    # The same request got the same content from whichever replica answered it.
    assert all(len(answers) == 1 for answers in contents.values()), contents
    # Each replica failed on its own schedule: its seed is the base seed plus its ordinal.
    assert len({tuple(replica_statuses) for replica_statuses in statuses}) > 1, statuses
    assert all(500 in replica_statuses for replica_statuses in statuses), statuses
