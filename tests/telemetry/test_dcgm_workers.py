"""DCGM counters stay monotonic whichever of four workers serves a scrape, under traffic."""

import os
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


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
    base_url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "mockcli",
        "--port",
        str(port),
        "--workers",
        "4",
        "--ttft",
        "1",
        "--itl",
        "1",
    ]
    server = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env=os.environ.copy(),
    )
    stop_traffic = threading.Event()
    workers: list[threading.Thread] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)

        def traffic() -> None:
            with httpx.Client(base_url=base_url, timeout=10) as client:
                while not stop_traffic.is_set():
                    client.post("/v1/chat/completions", json=CHAT)

        workers.extend(threading.Thread(target=traffic) for _ in range(4))
        for worker in workers:
            worker.start()
        previous: dict[int, dict[tuple[str, str], float]] = {1: {}, 2: {}}
        uuids: dict[int, set[str]] = {1: set(), 2: set()}
        with httpx.Client(base_url=base_url, timeout=10) as scraper:
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
            worker.join(timeout=30)
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            raise
