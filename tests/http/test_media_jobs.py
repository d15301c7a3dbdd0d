"""Media work keeps off the event loop's core and out of its way on the GIL.

How many media threads a worker gets by default (one per worker, two when it has three or
more cores to itself), and the two Pillow substitutes that let go of the GIL: encoding into
a file descriptor gives the bytes a BytesIO gets, and a paste through a constant mask mixes
two images as `Image.blend` does.
"""

import asyncio
import io
import os
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore import Settings
from mockcore.media.threads import media_threads_for
from mockhttp.media_jobs import MediaJobs
from mockhttp.services import local_services

Image = pytest.importorskip("PIL.Image")
imaging = pytest.importorskip("mockhttp.media.imaging")


@pytest.mark.parametrize(
    ("cores", "workers", "threads"),
    [(1, 1, 1), (2, 1, 1), (3, 1, 2), (16, 1, 2), (8, 4, 1), (12, 4, 2), (4, 8, 1)],
)
def test_default_threads_leave_the_event_loop_a_core(cores: int, workers: int, threads: int) -> None:
    assert media_threads_for(Settings(workers=workers), cores) == threads


@pytest.mark.parametrize("chosen", [1, 3, 16])
def test_media_threads_option_wins_over_the_default(chosen: int) -> None:
    assert media_threads_for(Settings(media_threads=chosen), 2) == chosen


def test_a_servers_media_jobs_run_on_that_many_threads() -> None:
    """Two jobs on a one-thread pool run one after the other, on one media thread."""
    jobs = local_services(Settings(fast=True, media_threads=1)).media_jobs
    assert jobs == MediaJobs(1)
    seen: list[str] = []
    started, gate = threading.Event(), threading.Event()

    def job(wait: bool) -> int:
        seen.append(threading.current_thread().name)
        if wait:
            started.set()
            gate.wait(10)
        return len(seen)

    async def both() -> list[int]:
        first = asyncio.ensure_future(jobs.run(job, True))
        second = asyncio.ensure_future(jobs.run(job, False))
        for _ in range(1000):  # until the first job holds the thread (at most 10 s)
            if started.is_set():
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
        assert len(seen) == 1  # the second waits for the only thread
        gate.set()
        return list(await asyncio.gather(first, second))

    assert asyncio.run(both()) == [1, 2]
    assert seen[0] == seen[1]
    assert seen[0].startswith("media")


def _picture(width: int, height: int, seed: int) -> "Image.Image":
    return Image.effect_mandelbrot((width, height), (-2 + seed / 100, -1.5, 1, 1.5), 40).convert("RGB")


@pytest.mark.parametrize(
    ("image_format", "params"),
    [("PNG", {"compress_level": 1}), ("JPEG", {"quality": 75}), ("WEBP", {"quality": 60, "method": 2})],
)
def test_saved_file_gives_the_bytes_a_bytesio_gets(image_format: str, params: dict[str, int]) -> None:
    image = _picture(300, 200, 1)
    expected = io.BytesIO()
    image.save(expected, image_format, **params)
    open_before = len(os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    saved = imaging.saved_file(image, image_format, **params)
    assert saved == expected.getvalue()
    if open_before is not None:
        assert len(os.listdir("/proc/self/fd")) == open_before  # the scratch file is closed
    with Image.open(io.BytesIO(saved)) as reopened:
        assert reopened.format == image_format
        assert reopened.size == (300, 200)


@settings(max_examples=25, deadline=None)
@given(weight=st.floats(min_value=0.0, max_value=1.0), mode=st.sampled_from(["RGB", "RGBA"]))
def test_mixed_is_blend_to_within_its_eight_bit_weight(weight: float, mode: str) -> None:
    base, other = _picture(64, 48, 1).convert(mode), _picture(64, 48, 7).convert(mode)
    ours = imaging.mixed(base, other, weight)
    quantised = round(weight * 255) / 255
    theirs = Image.blend(base, other, quantised)
    assert ours.mode == mode
    assert ours.size == base.size
    worst = max(abs(a - b) for a, b in zip(ours.tobytes(), theirs.tobytes(), strict=True))
    assert worst <= 1  # the two round differently, never by more than one level


def test_saved_file_falls_back_to_a_temporary_file_if_memfd_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    image = _picture(120, 80, 3)
    expected = imaging.saved_file(image, "JPEG", quality=80)

    def refused(name: str, flags: int = 0) -> int:
        raise PermissionError(1, "memfd_create refused", name)

    monkeypatch.setattr(os, "memfd_create", refused, raising=False)
    assert imaging.saved_file(image, "JPEG", quality=80) == expected
