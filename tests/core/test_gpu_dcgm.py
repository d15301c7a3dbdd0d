"""The DCGM endpoints: dcgm-exporter 4.x text, with stable, distinct GPU identities."""

import re
import runpy
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mockcore.gpu import (
    DCGM_CONTENT_TYPE,
    DCGM_FIELDS,
    DRIVER_VERSION,
    DcgmRenderer,
    FleetState,
    advance,
    gpu_spec,
    initial_fleet,
    render_dcgm,
)
from mockcore.settings import GPU_MODEL_IDS

REQUIRED_FIELDS = {
    f"DCGM_FI_{name}"
    for name in (
        "DEV_SM_CLOCK", "DEV_MEM_CLOCK", "DEV_GPU_TEMP", "DEV_MEMORY_TEMP", "DEV_POWER_USAGE",
        "DEV_POWER_MGMT_LIMIT", "DEV_TOTAL_ENERGY_CONSUMPTION", "DEV_GPU_UTIL", "DEV_MEM_COPY_UTIL",
        "DEV_ENC_UTIL", "DEV_DEC_UTIL", "DEV_FB_USED", "DEV_FB_FREE", "DEV_FB_TOTAL", "DEV_FB_RESERVED",
        "DEV_XID_ERRORS", "DEV_POWER_VIOLATION", "DEV_THERMAL_VIOLATION", "DEV_PCIE_REPLAY_COUNTER",
        "PROF_SM_ACTIVE", "PROF_GR_ENGINE_ACTIVE", "PROF_PIPE_TENSOR_ACTIVE", "PROF_DRAM_ACTIVE",
    )
}  # fmt: skip
COUNTERS = {
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_PCIE_REPLAY_COUNTER",
    "DCGM_FI_DEV_POWER_VIOLATION",
    "DCGM_FI_DEV_THERMAL_VIOLATION",
}
FLOAT_FIELDS = {
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_POWER_MGMT_LIMIT",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE",
    "DCGM_FI_PROF_DRAM_ACTIVE",
}
SAMPLE_LINE = re.compile(
    r'(?P<name>DCGM_FI_\w+)\{gpu="(?P<gpu>\d)",UUID="(?P<uuid>GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-'
    r'[0-9a-f]{4}-[0-9a-f]{12})",pci_bus_id="(?P<bus>[0-9A-F]{8}:[0-9A-F]{2}:[0-9A-F]{2}\.[0-7])",'
    r'device="nvidia(?P<device>\d)",modelName="(?P<model>[^"]+)",Hostname="(?P<host>[^"]+)",'
    r'DCGM_FI_DRIVER_VERSION="(?P<driver>[0-9.]+)"(?P<xid>,err_code="0",err_msg="No Error")?\} '
    r"(?P<value>\S+)"
)


def make_fleet(model: str = "h200", *, num_gpus: int = 2, seed: int = 7, instance: int = 1) -> FleetState:
    fleet = initial_fleet(
        gpu_model=model, num_gpus=num_gpus, initial_load=0.7, hostname="node-a", seed=seed, instance=instance
    )
    return advance(fleet, 5.0, 0.9)


def sample_lines(text: str) -> list[re.Match[str]]:
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    matches = [SAMPLE_LINE.fullmatch(line) for line in lines]
    assert all(matches), [line for line, match in zip(lines, matches, strict=True) if not match]
    return [match for match in matches if match]


# --- the exposition format ----------------------------------------------------------------


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_every_model_renders_text_that_prometheus_parses(model: str) -> None:
    families = {
        family.name: family for family in text_string_to_metric_families(render_dcgm(make_fleet(model)))
    }
    assert set(families) >= REQUIRED_FIELDS
    assert all(len(family.samples) == 2 for family in families.values())


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_every_sample_carries_the_labels_in_dcgm_exporter_order(model: str) -> None:
    spec = gpu_spec(model)
    for match in sample_lines(render_dcgm(make_fleet(model))):
        assert match["gpu"] == match["device"]
        assert match["model"] == spec.nvml_name
        assert match["host"] == "node-a"
        assert match["driver"] == DRIVER_VERSION


def test_the_parsed_labels_are_the_gpu_identity() -> None:
    fleet = make_fleet(num_gpus=3)
    family = next(
        f for f in text_string_to_metric_families(render_dcgm(fleet)) if f.name == "DCGM_FI_DEV_GPU_TEMP"
    )
    assert [sample.labels for sample in family.samples] == [
        {
            "gpu": str(gpu.index),
            "UUID": gpu.uuid,
            "pci_bus_id": gpu.pci_bus_id,
            "device": f"nvidia{gpu.index}",
            "modelName": "NVIDIA H200",
            "Hostname": "node-a",
            "DCGM_FI_DRIVER_VERSION": DRIVER_VERSION,
        }
        for gpu in fleet.identity.gpus
    ]


def test_help_comes_before_type_and_type_before_the_samples_of_each_field() -> None:
    lines = render_dcgm(make_fleet()).splitlines()
    for field in DCGM_FIELDS:
        help_at = lines.index(f"# HELP {field.name} {field.help_text}")
        assert lines[help_at + 1] == f"# TYPE {field.name} {field.metric_type}"
        assert lines[help_at + 2].startswith(field.name + "{")
        assert lines[help_at + 3].startswith(field.name + "{")


def test_counters_are_typed_counter_and_everything_else_gauge() -> None:
    types = {family.name: family.type for family in text_string_to_metric_families(render_dcgm(make_fleet()))}
    assert {name for name, kind in types.items() if kind == "counter"} == COUNTERS
    assert {kind for name, kind in types.items() if name not in COUNTERS} == {"gauge"}


def test_float_fields_print_six_decimals_and_integer_fields_none() -> None:
    for match in sample_lines(render_dcgm(make_fleet())):
        if match["name"] in FLOAT_FIELDS:
            assert re.fullmatch(r"\d+\.\d{6}", match["value"]), match.group(0)
        else:
            assert re.fullmatch(r"\d+", match["value"]), match.group(0)


def test_xid_samples_alone_carry_the_error_labels() -> None:
    for match in sample_lines(render_dcgm(make_fleet())):
        assert bool(match["xid"]) == (match["name"] == "DCGM_FI_DEV_XID_ERRORS")


def test_help_texts_are_dcgm_exporters() -> None:
    help_texts = {field.name: field.help_text for field in DCGM_FIELDS}
    assert help_texts["DCGM_FI_DEV_SM_CLOCK"] == "SM clock frequency (in MHz)."
    assert help_texts["DCGM_FI_DEV_POWER_USAGE"] == "Power draw (in W)."
    assert (
        help_texts["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == "Total energy consumption since boot (in mJ)."
    )
    assert help_texts["DCGM_FI_DEV_XID_ERRORS"] == "Value of the last XID error encountered."
    assert (
        help_texts["DCGM_FI_PROF_PIPE_TENSOR_ACTIVE"] == "Ratio of cycles the tensor (HMMA) pipe is active."
    )


def test_the_text_ends_with_exactly_one_newline() -> None:
    text = render_dcgm(make_fleet())
    assert text.endswith("\n")
    assert SAMPLE_LINE.fullmatch(text[:-1].rsplit("\n", 1)[-1])


def test_the_content_type_is_prometheus_text_0_0_4() -> None:
    assert DCGM_CONTENT_TYPE == "text/plain; version=0.0.4"


def test_a_hostname_with_quotes_is_escaped() -> None:
    fleet = initial_fleet(
        gpu_model="a100", num_gpus=1, initial_load=0.0, hostname='rack "7"\\b', seed=1, instance=1
    )
    family = next(iter(text_string_to_metric_families(render_dcgm(fleet))))
    assert family.samples[0].labels["Hostname"] == 'rack "7"\\b'


# --- values on the wire -------------------------------------------------------------------


def values_of(text: str, name: str) -> list[float]:
    return [float(match["value"]) for match in sample_lines(text) if match["name"] == name]


@pytest.mark.parametrize("model", GPU_MODEL_IDS)
def test_framebuffer_free_used_and_reserved_add_up_to_the_total(model: str) -> None:
    text = render_dcgm(make_fleet(model))
    for free, used, reserved, total in zip(
        *(values_of(text, f"DCGM_FI_DEV_FB_{part}") for part in ("FREE", "USED", "RESERVED", "TOTAL")),
        strict=True,
    ):
        assert abs(free + used + reserved - total) <= 2
        assert total == gpu_spec(model).memory_total_mib


def test_video_engines_and_xid_read_zero() -> None:
    text = render_dcgm(make_fleet())
    for name in ("DCGM_FI_DEV_ENC_UTIL", "DCGM_FI_DEV_DEC_UTIL", "DCGM_FI_DEV_XID_ERRORS"):
        assert values_of(text, name) == [0, 0]


def test_power_limit_and_memory_clock_are_the_catalog_values() -> None:
    text = render_dcgm(make_fleet("b200"))
    assert values_of(text, "DCGM_FI_DEV_POWER_MGMT_LIMIT") == [1000, 1000]
    assert values_of(text, "DCGM_FI_DEV_MEM_CLOCK") == [3996, 3996]


def test_printed_counters_never_decrease_across_scrapes() -> None:
    fleet = make_fleet()
    previous = render_dcgm(fleet)
    for elapsed_s, load in [(0.4, 1.0), (0.0, 1.0), (0.6, 1.0), (300.0, 1.0), (0.001, 0.0), (60.0, 0.0)]:
        fleet = advance(fleet, elapsed_s, load)
        current = render_dcgm(fleet)
        for name in COUNTERS:
            assert all(
                new >= old
                for old, new in zip(values_of(previous, name), values_of(current, name), strict=True)
            )
        previous = current


def test_a_renderer_reused_across_scrapes_matches_a_fresh_render() -> None:
    fleet = make_fleet()
    renderer = DcgmRenderer(fleet.identity)
    for _ in range(3):
        fleet = advance(fleet, 1.0, 0.5)
        assert renderer.render(fleet) == render_dcgm(fleet)


def test_a_renderer_refuses_the_state_of_another_fleet() -> None:
    renderer = DcgmRenderer(make_fleet(instance=1).identity)
    with pytest.raises(ValueError, match="another fleet"):
        renderer.render(make_fleet(instance=2))


# --- identities of the two instances ------------------------------------------------------


def identities(seed: int, instance: int, num_gpus: int = 8) -> list[tuple[str, str]]:
    fleet = initial_fleet(
        gpu_model="h200", num_gpus=num_gpus, initial_load=0.0, hostname="h", seed=seed, instance=instance
    )
    return [(gpu.uuid, gpu.pci_bus_id) for gpu in fleet.identity.gpus]


def test_the_two_instances_have_distinct_uuids_and_bus_ids() -> None:
    first, second = identities(seed=3, instance=1), identities(seed=3, instance=2)
    uuids = [uuid for uuid, _ in first + second]
    bus_ids = [bus for _, bus in first + second]
    assert len(set(uuids)) == len(uuids) == 16
    assert len(set(bus_ids)) == len(bus_ids) == 16


def test_identities_are_stable_for_a_seed() -> None:
    assert identities(seed=3, instance=1) == identities(seed=3, instance=1)
    assert identities(seed=3, instance=2) == identities(seed=3, instance=2)


def test_a_different_seed_gives_different_identities() -> None:
    assert identities(seed=3, instance=1) != identities(seed=4, instance=1)


def test_bus_ids_ascend_with_the_gpu_index_as_nvml_enumerates() -> None:
    bus_ids = [bus for _, bus in identities(seed=11, instance=2)]
    assert bus_ids == sorted(bus_ids)


def test_fewer_gpus_keep_the_identities_of_the_first_ones() -> None:
    assert identities(seed=5, instance=2, num_gpus=3) == identities(seed=5, instance=2)[:3]


def test_the_uuid_has_the_nvml_shape() -> None:
    for uuid, bus in identities(seed=0, instance=1):
        assert re.fullmatch(r"GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", uuid)
        assert re.fullmatch(r"00000000:[0-9A-F]{2}:00\.0", bus)


# --- the documentation ----------------------------------------------------------------------


def test_the_example_in_the_gpu_telemetry_docs_runs(tmp_path: Path) -> None:
    page = Path(__file__).parents[2] / "docs" / "gpu-telemetry.md"
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)
    assert len(blocks) == 1
    script = tmp_path / "example.py"
    script.write_text(blocks[0], encoding="utf-8")
    namespace = runpy.run_path(str(script))
    assert "DCGM_FI_DEV_GPU_TEMP" in namespace["text"]
