"""The GPU catalog: every selectable model, with the facts of gpu-catalog.md."""

import pytest

import mockcore.gpu
from mockcore.gpu import GPU_SPECS, gpu_spec
from mockcore.settings import GPU_MODEL_IDS


def test_every_selectable_model_has_a_spec() -> None:
    assert set(GPU_SPECS) == set(GPU_MODEL_IDS)


def test_a_spec_is_found_under_its_own_model_id() -> None:
    for model_id in GPU_MODEL_IDS:
        assert gpu_spec(model_id).model_id == model_id


def test_h100_sxm_carries_the_catalog_facts() -> None:
    spec = gpu_spec("h100-sxm")
    assert spec.nvml_name == "NVIDIA H100 80GB HBM3"
    assert spec.memory_total_mib == 81559
    assert spec.power_limit_w == 700
    assert spec.bare_idle_w == 70
    assert (spec.max_sm_clock_mhz, spec.max_mem_clock_mhz, spec.idle_sm_clock_mhz) == (1980, 2619, 345)
    assert (spec.idle_temp_c, spec.load_temp_c) == (30, 71)
    assert (spec.bf16_dense_tflops, spec.memory_bandwidth_gb_s) == (989, 3350)


def test_nvml_names_match_the_catalog() -> None:
    assert {spec.model_id: spec.nvml_name for spec in GPU_SPECS.values()} == {
        "rtx6000": "NVIDIA RTX 6000 Ada Generation",
        "a100": "NVIDIA A100-SXM4-80GB",
        "h100": "NVIDIA H100 PCIe",
        "h100-sxm": "NVIDIA H100 80GB HBM3",
        "h200": "NVIDIA H200",
        "b200": "NVIDIA B200",
        "gb200": "NVIDIA GB200",
    }


def test_reserved_memory_is_the_measured_value_on_h100_and_h200() -> None:
    assert gpu_spec("h100").memory_reserved_mib == 550
    assert gpu_spec("h100-sxm").memory_reserved_mib == 550
    assert gpu_spec("h200").memory_reserved_mib == 700


@pytest.mark.parametrize("model_id", GPU_MODEL_IDS)
def test_reserved_memory_is_a_small_share_of_the_total(model_id: str) -> None:
    spec = gpu_spec(model_id)
    assert 0 < spec.memory_reserved_mib < 0.01 * spec.memory_total_mib


@pytest.mark.parametrize("model_id", GPU_MODEL_IDS)
def test_a_serving_gpu_idles_above_bare_idle_and_well_below_its_limit(model_id: str) -> None:
    spec = gpu_spec(model_id)
    assert spec.bare_idle_w < spec.serving_idle_w < 0.3 * spec.power_limit_w


def test_h100_sxm_serving_idle_matches_the_measured_vllm_idle() -> None:
    assert 105 <= gpu_spec("h100-sxm").serving_idle_w <= 120


@pytest.mark.parametrize("model_id", GPU_MODEL_IDS)
def test_clocks_rise_from_idle_to_max(model_id: str) -> None:
    spec = gpu_spec(model_id)
    assert 0 < spec.idle_sm_clock_mhz < spec.max_sm_clock_mhz


@pytest.mark.parametrize("model_id", GPU_MODEL_IDS)
def test_thermal_target_lies_between_idle_and_heavy_load_temperature(model_id: str) -> None:
    spec = gpu_spec(model_id)
    assert spec.idle_temp_c < spec.thermal_target_c < spec.load_temp_c


def test_an_unknown_model_is_refused_with_the_valid_ids() -> None:
    with pytest.raises(ValueError, match=r"unknown GPU model 'v100'.*h200"):
        gpu_spec("v100")


def test_the_package_exports_exactly_its_public_names() -> None:
    exported = set(mockcore.gpu.__all__)
    public = {name for name in vars(mockcore.gpu) if not name.startswith("_")}
    submodules = {"catalog", "dcgm", "identity", "load", "noise", "physics"}
    assert exported == public - submodules
    assert all(hasattr(mockcore.gpu, name) for name in exported)
