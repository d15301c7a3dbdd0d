"""The live driver hands arrivals to the engine in arrival order, each at the first step after it.

Workers stamp their requests and the stamps reach the engine process in whatever order the
sockets deliver them; the driver keeps its pending arrivals sorted by stamp, so a step takes
exactly those stamped by its start, oldest first, whatever order they came in.
"""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from mockcore.engine import Engine, Sequence, StepResult, builtin_profile
from mockcore.engine.from_settings import engine_config
from mockcore.settings import Settings
from mockhttp.engine.driver import EngineDriver

CONFIG = engine_config(Settings(dcgm_gpu_name="b200"), builtin_profile("qwen3-0.6b"))


def _ignore(_: StepResult) -> None:
    return None


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=30),
    start=st.integers(min_value=-1, max_value=21),
)
def test_a_step_takes_the_arrivals_stamped_by_its_start_oldest_first(stamps: list[int], start: int) -> None:
    engine = Engine(CONFIG)

    async def submit_all() -> EngineDriver:
        driver = EngineDriver(engine, lambda: 100.0, _ignore)
        for number, stamp in enumerate(stamps):
            assert driver.submit(Sequence(number, 0.0, 8, 4, keep_token_times=False), float(stamp)) is None
        driver._hand_over(float(start))
        task = driver._task
        assert task is not None
        task.cancel()
        return driver

    driver = asyncio.run(submit_all())
    handed = [(sequence.arrival_s, sequence.request_id) for sequence in engine.waiting]
    expected = sorted((float(stamp), number) for number, stamp in enumerate(stamps) if stamp <= start)
    assert handed == expected  # by stamp; equal stamps in the order they were submitted
    assert driver.stats().waiting == len(stamps)  # the rest still count as waiting


@settings(max_examples=40, deadline=None)
@given(
    stamps=st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=20),
    cancelled=st.data(),
)
def test_a_cancelled_arrival_leaves_the_rest_in_order(stamps: list[int], cancelled: st.DataObject) -> None:
    engine = Engine(CONFIG)
    gone = cancelled.draw(st.sets(st.integers(min_value=0, max_value=len(stamps) - 1)))

    async def submit_cancel_hand_over() -> None:
        driver = EngineDriver(engine, lambda: 100.0, _ignore)
        for number, stamp in enumerate(stamps):
            assert driver.submit(Sequence(number, 0.0, 8, 4, keep_token_times=False), float(stamp)) is None
        for number in gone:
            driver.cancel(number)
        driver._hand_over(10.0)
        driver._hand_over(30.0)  # the rest, still in stamp order after the cancellations
        task = driver._task
        assert task is not None
        task.cancel()

    asyncio.run(submit_cancel_hand_over())
    handed = [(sequence.arrival_s, sequence.request_id) for sequence in engine.waiting]
    kept = [(float(stamp), number) for number, stamp in enumerate(stamps) if number not in gone]
    assert handed == sorted(kept)
