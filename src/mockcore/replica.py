"""One replica among many behind a load balancer: its name, its ordinal and what follows from them.

N servers behind a Kubernetes Service must look like N different GPU nodes, yet each must
stay reproducible: a replica's name (its pod name) fixes its DCGM hostname and its GPUs, and a
StatefulSet pod's ordinal (the number ending its name) can offset its fault seed, so every
replica fails on its own reproducible schedule. Without a replica name nothing changes.
"""

import re
from collections.abc import Collection

import msgspec

from mockcore.settings import Settings

# StatefulSet pods are named `<set>-<ordinal>`; a Deployment's end in a random suffix.
_ORDINAL_SUFFIX = re.compile(r"-(0|[1-9][0-9]*)$")
# With a replica name but no `--dcgm-seed`, the name alone fixes the GPUs: the seed is this.
REPLICA_DCGM_SEED = 0
# With `--seed-from-ordinal` but no `--random-seed`, the ordinal is added to this.
ORDINAL_BASE_SEED = 0


class ReplicaIdentity(msgspec.Struct, frozen=True, kw_only=True):
    """What `/health` says about the replica: which one it is and what it derived."""

    name: str
    ordinal: int | None
    hostname: str
    seed: int | None


class MissingOrdinalError(ValueError):
    """`--seed-from-ordinal` with a replica name that does not end in `-<ordinal>`."""


def replica_ordinal(name: str) -> int | None:
    """The ordinal a StatefulSet pod name ends in (`mock-server-3` -> 3), else None."""
    match = _ORDINAL_SUFFIX.search(name)
    return int(match[1]) if match else None


def replica_identity(settings: Settings) -> ReplicaIdentity:
    """The replica as the resolved settings describe it."""
    return ReplicaIdentity(
        name=settings.replica_name,
        ordinal=replica_ordinal(settings.replica_name) if settings.replica_name else None,
        hostname=settings.dcgm_hostname,
        seed=settings.random_seed,
    )


def with_replica_defaults(settings: Settings, *, given: Collection[str]) -> Settings:
    """The settings of this replica: what its name and ordinal imply, unless given explicitly.

    `given` names the options the user set (flag or environment). With a replica name, the
    DCGM hostname defaults to the name and the DCGM seed to `REPLICA_DCGM_SEED`, so a name
    always gives the same node. With `--seed-from-ordinal`, `random_seed` becomes the given
    seed (or `ORDINAL_BASE_SEED`) plus the ordinal. Apply once: the seed is an offset.

    Raises `MissingOrdinalError` when `--seed-from-ordinal` finds no ordinal in the name.
    """
    changes: dict[str, object] = {}
    if settings.replica_name:
        if "dcgm_hostname" not in given:
            changes["dcgm_hostname"] = settings.replica_name
        if settings.dcgm_seed is None:
            changes["dcgm_seed"] = REPLICA_DCGM_SEED
    if settings.seed_from_ordinal:
        ordinal = replica_ordinal(settings.replica_name)
        if ordinal is None:
            raise MissingOrdinalError(
                f"the replica name {settings.replica_name!r} does not end in -<ordinal>"
            )
        base_seed = settings.random_seed if settings.random_seed is not None else ORDINAL_BASE_SEED
        changes["random_seed"] = base_seed + ordinal
    return msgspec.structs.replace(settings, **changes) if changes else settings
