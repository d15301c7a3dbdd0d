"""The server's own families (`aiperf_mock_*`), served beside the vLLM ones at `/metrics`.

What the mock itself did, in its own words: requests by route and status (every status a
route answered, errors included), injected faults by kind, clients that left mid-response,
control-plane calls, and what is open right now.
"""

from mockcore.metrics.exposition import Family
from mockcore.metrics.families import counter, gauge
from mockcore.metrics.store import MetricsSnapshot


def server_families(snapshot: MetricsSnapshot, control_calls: dict[str, int]) -> list[Family]:
    """Every `aiperf_mock_*` family; `control_calls` counts the control-plane calls by kind."""
    requests = [
        (
            (
                ("route", item.route),
                ("status", str(item.status) if item.status else "other"),
                ("stream", str(item.stream).lower()),
            ),
            item.count,
        )
        for item in snapshot.requests
        if item.count
    ]
    return [
        counter(
            "aiperf_mock_requests_total",
            "Inference requests answered, by route, status and whether the answer streamed.",
            requests,
        ),
        counter(
            "aiperf_mock_faults_injected_total",
            "Requests answered with an injected fault, by fault kind.",
            [((("kind", kind),), count) for kind, count in snapshot.faults.items()],
        ),
        counter(
            "aiperf_mock_client_disconnects_total",
            "Responses cut short because the client went away.",
            [((), snapshot.counters["client_disconnects"])],
        ),
        counter(
            "aiperf_mock_control_calls_total",
            "Control-plane calls (prefix-cache resets, profiler start and stop), by kind.",
            [((("kind", kind),), count) for kind, count in control_calls.items()],
        ),
        gauge(
            "aiperf_mock_requests_in_flight",
            "Inference requests being answered now.",
            [((), snapshot.gauges["running"])],
        ),
        gauge("aiperf_mock_open_streams", "Streams being sent now.", [((), snapshot.gauges["open_streams"])]),
    ]
