"""A replica's identity (mockcore.replica): its ordinal, and what its name and ordinal imply."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore.replica import (
    ORDINAL_BASE_SEED,
    REPLICA_DCGM_SEED,
    MissingOrdinalError,
    ReplicaIdentity,
    replica_identity,
    replica_ordinal,
    with_replica_defaults,
)
from mockcore.settings import Settings


@pytest.mark.parametrize(
    ("name", "ordinal"),
    [
        ("mock-server-0", 0),
        ("mock-server-3", 3),
        ("mock-server-12", 12),
        ("web-7-2", 2),
        ("mock-server", None),
        ("mock-server-7d9f8b5c4-x2k9z", None),  # a Deployment's pod: a random suffix
        ("mock-server-03", None),  # a StatefulSet never pads its ordinals
        ("mock3", None),
        ("", None),
        ("-", None),
    ],
)
def test_the_ordinal_is_the_number_ending_a_statefulset_pod_name(name: str, ordinal: int | None) -> None:
    assert replica_ordinal(name) == ordinal


@given(st.from_regex(r"[a-z][a-z0-9-]{0,20}", fullmatch=True), st.integers(min_value=0, max_value=10**6))
def test_any_statefulset_pod_name_gives_back_its_ordinal(set_name: str, ordinal: int) -> None:
    assert replica_ordinal(f"{set_name}-{ordinal}") == ordinal


def test_without_a_replica_name_nothing_changes() -> None:
    settings = Settings(random_seed=5)
    assert with_replica_defaults(settings, given=()) is settings


def test_a_replica_name_becomes_the_dcgm_hostname_and_fixes_the_dcgm_seed() -> None:
    settings = with_replica_defaults(Settings(replica_name="mock-server-abc12"), given=("replica_name",))
    assert settings.dcgm_hostname == "mock-server-abc12"
    assert settings.dcgm_seed == REPLICA_DCGM_SEED
    assert settings.random_seed is None  # the fault seed stays fresh without --seed-from-ordinal


def test_an_explicit_dcgm_hostname_and_seed_win_over_the_replica_name() -> None:
    settings = Settings(replica_name="mock-1", dcgm_hostname="gpu-node-a", dcgm_seed=9)
    resolved = with_replica_defaults(settings, given=("replica_name", "dcgm_hostname", "dcgm_seed"))
    assert (resolved.dcgm_hostname, resolved.dcgm_seed) == ("gpu-node-a", 9)


def test_an_explicit_localhost_is_kept_too() -> None:
    """Explicit means given, not different from the default."""
    settings = Settings(replica_name="mock-1", dcgm_hostname="localhost")
    assert with_replica_defaults(settings, given=("dcgm_hostname",)).dcgm_hostname == "localhost"


@pytest.mark.parametrize(("random_seed", "expected"), [(None, ORDINAL_BASE_SEED + 4), (100, 104), (-10, -6)])
def test_seed_from_ordinal_offsets_the_fault_seed_by_the_ordinal(
    random_seed: int | None, expected: int
) -> None:
    settings = Settings(replica_name="mock-server-4", seed_from_ordinal=True, random_seed=random_seed)
    assert with_replica_defaults(settings, given=()).random_seed == expected


def test_seed_from_ordinal_gives_every_replica_its_own_seed() -> None:
    seeds = {
        with_replica_defaults(
            Settings(replica_name=f"mock-server-{ordinal}", seed_from_ordinal=True, random_seed=42), given=()
        ).random_seed
        for ordinal in range(16)
    }
    assert seeds == set(range(42, 58))


@pytest.mark.parametrize("name", ["", "mock-server", "mock-server-7d9f8b5c4-x2k9z"])
def test_seed_from_ordinal_without_an_ordinal_is_an_error(name: str) -> None:
    with pytest.raises(MissingOrdinalError, match="-<ordinal>"):
        with_replica_defaults(Settings(replica_name=name, seed_from_ordinal=True), given=())


def test_the_identity_reports_name_ordinal_hostname_and_seed() -> None:
    settings = with_replica_defaults(
        Settings(replica_name="mock-server-2", seed_from_ordinal=True, random_seed=10), given=()
    )
    assert replica_identity(settings) == ReplicaIdentity(
        name="mock-server-2", ordinal=2, hostname="mock-server-2", seed=12
    )


def test_a_server_that_is_no_replica_says_so() -> None:
    assert replica_identity(Settings()) == ReplicaIdentity(
        name="", ordinal=None, hostname="localhost", seed=None
    )
