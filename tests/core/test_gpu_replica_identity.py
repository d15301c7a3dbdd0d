"""A replica's GPUs: derived from its name as well as the seed, unchanged without a name."""

from hypothesis import given
from hypothesis import strategies as st

from mockcore.gpu import FleetState, initial_fleet, render_dcgm
from mockcore.gpu.identity import fleet_identity, replica_gpu_seed

# Taken before replica names existed: a fleet without a name must keep these, byte for byte.
SEED_7_INSTANCE_1 = (
    ("GPU-a123292c-eebd-16a1-d4e8-97f8a8c76e21", "00000000:34:00.0"),
    ("GPU-40d9306d-5e7e-4def-0a50-09c6a7939bd6", "00000000:57:00.0"),
)


def fleet(
    replica_name: str = "", *, seed: int = 7, instance: int = 1, hostname: str = "node-a"
) -> FleetState:
    return initial_fleet(
        gpu_model="h200",
        num_gpus=2,
        initial_load=0.7,
        hostname=hostname,
        seed=seed,
        instance=instance,
        replica_name=replica_name,
    )


def uuids(state: FleetState) -> tuple[str, ...]:
    return tuple(gpu.uuid for gpu in state.identity.gpus)


def test_without_a_replica_name_the_identity_is_the_one_the_seed_always_gave() -> None:
    identity = fleet().identity
    assert tuple((gpu.uuid, gpu.pci_bus_id) for gpu in identity.gpus) == SEED_7_INSTANCE_1
    assert identity.seed == 7


def test_an_empty_replica_name_renders_byte_for_byte_what_no_name_renders() -> None:
    without = initial_fleet(
        gpu_model="h200", num_gpus=2, initial_load=0.7, hostname="node-a", seed=7, instance=1
    )
    assert render_dcgm(fleet("")) == render_dcgm(without)
    assert replica_gpu_seed(7, "") == 7


def test_one_replica_name_always_gives_the_same_gpus() -> None:
    assert fleet("mock-server-0") == fleet("mock-server-0")
    assert render_dcgm(fleet("mock-server-0")) == render_dcgm(fleet("mock-server-0"))


def test_replicas_with_the_same_seed_are_different_nodes() -> None:
    fleets = [fleet(f"mock-server-{ordinal}") for ordinal in range(8)]
    all_uuids = [uuid for state in fleets for uuid in uuids(state)]
    assert len(set(all_uuids)) == len(all_uuids)
    assert uuids(fleet()) not in {uuids(state) for state in fleets}
    # Their boards differ too: the seeded offsets and noise follow the replica's seed.
    assert len({state.identity.gpus[0].power_scale for state in fleets}) == len(fleets)


def test_the_seed_still_counts_with_a_replica_name() -> None:
    assert uuids(fleet("mock-server-0", seed=1)) != uuids(fleet("mock-server-0", seed=2))


def test_the_hostname_is_a_label_not_part_of_the_identity() -> None:
    """--dcgm-hostname relabels a replica's GPUs; it does not make other GPUs."""
    assert uuids(fleet("mock-server-0", hostname="a")) == uuids(fleet("mock-server-0", hostname="b"))


def test_the_two_dcgm_instances_of_a_replica_stay_distinct() -> None:
    first, second = fleet("mock-server-0", instance=1), fleet("mock-server-0", instance=2)
    assert not set(uuids(first)) & set(uuids(second))
    bus_ids = [gpu.pci_bus_id for state in (first, second) for gpu in state.identity.gpus]
    assert len(set(bus_ids)) == len(bus_ids)


# Names as the environment gives them: any text but lone surrogates (undecodable bytes).
NAMES = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=64)


@given(NAMES, NAMES, st.integers(0, 2**63 - 1))
def test_different_names_give_different_gpu_seeds(first: str, second: str, seed: int) -> None:
    mixed = replica_gpu_seed(seed, first)
    assert 0 <= mixed < 2**63
    if first != second:
        assert mixed != replica_gpu_seed(seed, second)
        identity = fleet_identity(model_id="h200", num_gpus=1, hostname="h", seed=mixed, instance=1)
        other = fleet_identity(
            model_id="h200", num_gpus=1, hostname="h", seed=replica_gpu_seed(seed, second), instance=1
        )
        assert identity.gpus[0].uuid != other.gpus[0].uuid
