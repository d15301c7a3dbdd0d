"""DCGM counters stay monotonic whichever of four workers serves a scrape, under traffic."""

import sys
import threading

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.server_process import ServerProcess, free_port

COUNTERS = (
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_POWER_VIOLATION",
    "DCGM_FI_DEV_THERMAL_VIOLATION",
)
CHAT = {
    "model": "gpt-4",
    "messages": [{"role": "user", "content": "What is a GPU? " * 10}],
    "max_tokens": 32,
    "ignore_eos": True,
}


def counter_values(text: str) -> dict[tuple[str, str], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name.removesuffix("_total") in COUNTERS:
                values[(sample.name, sample.labels["UUID"])] = sample.value
    return values


@pytest.mark.e2e
@pytest.mark.slow
def test_counters_are_monotonic_across_four_workers_under_traffic() -> None:
    port = free_port()
    options = ["--port", str(port), "--workers", "4", "--ttft", "1", "--itl", "1"]
    server = ServerProcess([sys.executable, "-m", "mockcli", *options], port=port)
    base_url = server.base_url
    stop_traffic = threading.Event()
    workers: list[threading.Thread] = []
    traffic_errors: list[Exception] = []
    try:
        server.wait_until_healthy()
        server.wait_for_workers(4)

        def traffic() -> None:
            # An error is recorded, not raised: an exception escaping a thread fails whichever
            # test runs when it is reported.
            with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as client:
                while not stop_traffic.is_set():
                    try:
                        assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
                    except (httpx.HTTPError, AssertionError) as error:
                        traffic_errors.append(error)
                        return

        workers.extend(threading.Thread(target=traffic) for _ in range(4))
        for worker in workers:
            worker.start()
        previous: dict[int, dict[tuple[str, str], float]] = {1: {}, 2: {}}
        uuids: dict[int, set[str]] = {1: set(), 2: set()}
        with httpx.Client(base_url=base_url, timeout=60, trust_env=False) as scraper:
            for scrape in range(200):
                instance = 1 + scrape % 2
                response = scraper.get(f"/dcgm{instance}/metrics")
                assert response.status_code == 200
                current = counter_values(response.text)
                for key, value in current.items():
                    assert value >= previous[instance].get(key, 0.0), (instance, key)
                    uuids[instance].add(key[1])
                previous[instance] = current
        assert len(uuids[1]) == len(uuids[2]) == 2
        assert not uuids[1] & uuids[2]
    finally:
        stop_traffic.set()
        for worker in workers:
            worker.join(timeout=60)
        server.close()
    assert not traffic_errors
