"""The DCGM endpoints in-process: format, identity, monotonic counters, response to traffic.

A fake clock drives the app, so simulated minutes pass in microseconds and the physics is
exercised through the real routes and the real load tracker.
"""

import re

import pytest
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from mockcore import Settings
from mockhttp import Services, create_app
from mockhttp.local_state import LocalLoadTracker

LABEL_ORDER = re.compile(
    r'^DCGM_F\w+\{gpu="\d+",UUID="GPU-[0-9a-f-]{36}",pci_bus_id="[0-9A-F]{8}:[0-9A-F]{2}:00\.0",'
    r'device="nvidia\d+",modelName="[^"]+",Hostname="[^"]+",DCGM_FI_DRIVER_VERSION="[^"]+"'
    r'(,err_code="0",err_msg="No Error")?\} \S+$'
)
CHAT = {
    "model": "gpt-4",
    "messages": [{"role": "user", "content": "Tell me about GPUs " * 20}],
    "max_tokens": 400,
    "ignore_eos": True,
}


class FakeClock:
    def __init__(self) -> None:
        self.now_s = 1000.0

    def __call__(self) -> float:
        return self.now_s


def samples(text: str) -> dict[tuple[str, str], float]:
    """(metric name, UUID) -> value."""
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, sample.labels["UUID"])] = sample.value
    return values


def scrape(client: TestClient, instance: int) -> str:  # type: ignore[type-arg]
    response = client.get(f"/dcgm{instance}/metrics")
    assert response.status_code == 200
    return response.text


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def tracker() -> LocalLoadTracker:
    return LocalLoadTracker()


@pytest.fixture
def client(clock: FakeClock, tracker: LocalLoadTracker):  # type: ignore[no-untyped-def]
    settings = Settings(ttft=0, itl=0, dcgm_seed=5, dcgm_num_gpus=4, dcgm_initial_load=0.0)
    services = Services(settings=settings, load=tracker, clock=clock, gpu_seed=5)
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


def test_content_type_is_prometheus_text_version_0_0_4(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get("/dcgm1/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_every_sample_has_labels_in_dcgm_exporter_order(client) -> None:  # type: ignore[no-untyped-def]
    lines = [line for line in scrape(client, 1).splitlines() if not line.startswith("#")]
    assert lines
    for line in lines:
        assert LABEL_ORDER.match(line), line


def test_the_two_endpoints_are_distinct_gpus_of_the_same_model(client) -> None:  # type: ignore[no-untyped-def]
    first = {uuid for _, uuid in samples(scrape(client, 1))}
    second = {uuid for _, uuid in samples(scrape(client, 2))}
    assert len(first) == len(second) == 4
    assert not first & second
    assert 'modelName="NVIDIA H200"' in scrape(client, 2)


def test_counters_never_decrease_between_scrapes(client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    counters = (
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
        "DCGM_FI_DEV_POWER_VIOLATION",
        "DCGM_FI_DEV_THERMAL_VIOLATION",
    )
    previous = samples(scrape(client, 1))
    for step in range(30):
        if step % 3 == 0:
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        clock.now_s += 7.0
        current = samples(scrape(client, 1))
        for key, value in current.items():
            if key[0] in counters:
                assert value >= previous[key], key
        previous = current


def gpu_util(text: str) -> list[float]:
    return [value for (name, _), value in samples(text).items() if name == "DCGM_FI_DEV_GPU_UTIL"]


def power(text: str) -> list[float]:
    return [value for (name, _), value in samples(text).items() if name == "DCGM_FI_DEV_POWER_USAGE"]


def test_traffic_raises_utilisation_and_power_then_they_fall_back(client, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    idle = scrape(client, 1)
    assert max(gpu_util(idle)) < 5
    # A steady stream of requests: 8 requests of 400 tokens per simulated second.
    for _ in range(20):
        for _ in range(8):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        clock.now_s += 1.0
        busy = scrape(client, 1)
    assert min(gpu_util(busy)) > 50
    assert min(power(busy)) > max(power(idle)) + 100
    clock.now_s += 600.0
    scrape(client, 1)
    clock.now_s += 1.0
    rested = scrape(client, 1)
    assert max(gpu_util(rested)) < 5
    assert max(power(rested)) < min(power(busy))


def test_initial_load_shows_before_any_traffic(clock: FakeClock) -> None:
    settings = Settings(dcgm_seed=1, dcgm_initial_load=1.0)
    services = Services(settings=settings, clock=clock, gpu_seed=1)
    with TestClient(create_app(services=services)) as busy_client:
        assert min(gpu_util(scrape(busy_client, 2))) > 90


def test_seeded_identities_are_stable_across_apps(clock: FakeClock) -> None:
    def uuids() -> set[str]:
        settings = Settings(dcgm_seed=11)
        with TestClient(create_app(settings)) as fresh:
            return {uuid for _, uuid in samples(scrape(fresh, 1))}

    assert uuids() == uuids()


def _app(clock: FakeClock, **options: object) -> TestClient:  # type: ignore[type-arg]
    settings = Settings(ttft=0, itl=0, dcgm_seed=5, dcgm_num_gpus=1, **options)  # type: ignore[arg-type]
    services = Services(settings=settings, load=LocalLoadTracker(), clock=clock, gpu_seed=5)
    return TestClient(create_app(services=services))


def _utilisation_under(client: TestClient, clock: FakeClock, requests_per_s: int) -> float:  # type: ignore[type-arg]
    """GPU_UTIL after ten simulated seconds of `requests_per_s` requests of 400 tokens."""
    for _ in range(10):
        for _ in range(requests_per_s):
            assert client.post("/v1/chat/completions", json=CHAT).status_code == 200
        clock.now_s += 1.0
        text = scrape(client, 1)
    return gpu_util(text)[0]


def test_without_auto_load_the_initial_load_holds_under_traffic(clock: FakeClock) -> None:
    with _app(clock, dcgm_auto_load=False, dcgm_initial_load=0.3) as client:
        assert _utilisation_under(client, clock, 8) == pytest.approx(30, abs=3)


def test_the_peak_throughput_is_full_load_and_less_is_a_fraction_of_it(clock: FakeClock) -> None:
    with _app(clock, dcgm_initial_load=0.0) as client:
        assert _utilisation_under(client, clock, 8) == pytest.approx(100, abs=3)  # 3,200 tokens/s: the peak
        assert _utilisation_under(client, clock, 2) == pytest.approx(25, abs=3)  # a quarter of the peak


def test_below_the_minimum_throughput_the_minimum_is_full_load(clock: FakeClock) -> None:
    with _app(clock, dcgm_initial_load=0.0, dcgm_min_throughput=1600) as client:
        assert _utilisation_under(client, clock, 2) == pytest.approx(
            50, abs=3
        )  # 800 of at least 1,600 tokens/s
