"""Who each simulated GPU is: labels, bus position and small board-to-board differences.

Everything here is fixed for the life of a fleet and derived from the seed, the DCGM instance
(1 or 2: the two endpoints are independent exporters) and the GPU index, so a seed reproduces
the same UUIDs, bus ids and offsets in every run. A replica name (`--replica-name`, a pod name)
is folded into the seed, so N replicas are N different nodes and one name is always the same.
"""

import msgspec

from mockcore.gpu.noise import seeded_fraction, seeded_hex, seeded_signed_unit

DRIVER_VERSION = "580.105.08"

# An instance takes its bus ids from its own block of the seeded ranking of all bus numbers, so
# the two instances never share one. Eight is the largest `--dcgm-num-gpus`.
_BUS_IDS_PER_INSTANCE = 8
_PCI_BUS_NUMBERS = range(0x01, 0xFF)
_MAX_INSTANCE = len(_PCI_BUS_NUMBERS) // _BUS_IDS_PER_INSTANCE

# Board-to-board spread, seeded per GPU: a few percent of power at the same work, a degree or
# two of cooling, a slightly uneven share of the load and a little extra framebuffer.
_POWER_SCALE_SPREAD = 0.03
_TEMP_OFFSET_SPREAD_C = 1.5
_LOAD_SKEW_SPREAD = 0.03
_FB_EXTRA_MAX_MIB = 256


class GpuIdentity(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """One GPU's labels and fixed character (offsets the physics applies every step)."""

    index: int
    uuid: str
    pci_bus_id: str
    power_scale: float
    temp_offset_c: float
    load_skew: float
    fb_extra_mib: int

    @property
    def device(self) -> str:
        """The `device` label, as the kernel names the GPU's character device."""
        return f"nvidia{self.index}"


class FleetIdentity(msgspec.Struct, frozen=True, kw_only=True, array_like=True):
    """The fixed part of one DCGM instance: model, host, driver and its GPUs."""

    model_id: str
    instance: int
    seed: int
    hostname: str
    driver_version: str
    gpus: tuple[GpuIdentity, ...]


def replica_gpu_seed(seed: int, replica_name: str) -> int:
    """The seed of a replica's GPUs: `seed` itself without a name, so outputs stay unchanged.

    With a name, a 63-bit mix of the seed and the name: every replica is its own node.
    """
    if not replica_name:
        return seed
    return int(seeded_hex(seed, "replica", replica_name, digest_size=8), 16) >> 1


def gpu_uuid(seed: int, instance: int, index: int) -> str:
    """An NVML-style UUID (`GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`) fixed by its coordinates."""
    digits = seeded_hex(seed, "uuid", instance, index, digest_size=16)
    return f"GPU-{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def pci_bus_ids(seed: int, instance: int, num_gpus: int) -> tuple[str, ...]:
    """Distinct bus ids in ascending order, as NVML enumerates GPUs, for one instance.

    Fewer GPUs keep the bus ids of the first ones, so `--dcgm-num-gpus` changes no identity.
    """
    if not 1 <= num_gpus <= _BUS_IDS_PER_INSTANCE:
        raise ValueError(f"num_gpus must be within 1..{_BUS_IDS_PER_INSTANCE}, got {num_gpus}")
    if not 1 <= instance <= _MAX_INSTANCE:
        raise ValueError(f"instance must be within 1..{_MAX_INSTANCE}, got {instance}")
    ranked = sorted(_PCI_BUS_NUMBERS, key=lambda bus: seeded_fraction(seed, "pci-bus", bus))
    first = (instance - 1) * _BUS_IDS_PER_INSTANCE
    block = sorted(ranked[first : first + _BUS_IDS_PER_INSTANCE])
    return tuple(f"00000000:{bus:02X}:00.0" for bus in block[:num_gpus])


def fleet_identity(*, model_id: str, num_gpus: int, hostname: str, seed: int, instance: int) -> FleetIdentity:
    """The identities of the GPUs behind one DCGM instance."""
    bus_ids = pci_bus_ids(seed, instance, num_gpus)
    gpus = tuple(
        GpuIdentity(
            index=index,
            uuid=gpu_uuid(seed, instance, index),
            pci_bus_id=bus_ids[index],
            power_scale=1.0 + _POWER_SCALE_SPREAD * seeded_signed_unit(seed, "power", instance, index),
            temp_offset_c=_TEMP_OFFSET_SPREAD_C * seeded_signed_unit(seed, "temp", instance, index),
            load_skew=_LOAD_SKEW_SPREAD * seeded_signed_unit(seed, "load", instance, index),
            fb_extra_mib=int(_FB_EXTRA_MAX_MIB * seeded_fraction(seed, "fb", instance, index)),
        )
        for index in range(num_gpus)
    )
    return FleetIdentity(
        model_id=model_id,
        instance=instance,
        seed=seed,
        hostname=hostname,
        driver_version=DRIVER_VERSION,
        gpus=gpus,
    )
