"""The video job's pure decisions: the request's checks, the timeline, the pages, the scene.

No server here (these are `mockcore` tests; they live beside the route tests of the same
feature): values in, values out, with hypothesis where a property holds for every input.
"""

import math

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.strategies import texts

from mockcore.errors import RequestError
from mockcore.media.video import (
    VIDEO_SECONDS,
    VIDEO_SIZES,
    VideoJob,
    VideoSpec,
    decode_video_job,
    encode_video_job,
    is_video_id,
    new_video_job,
    video_render_ms,
    video_spec_from_form,
    video_spec_from_json,
)
from mockcore.media.video_pages import VideoListQuery, video_list_query, video_page
from mockcore.media.video_scene import (
    FRAMES_PER_SECOND,
    bt709_ycbcr,
    frame_count,
    frame_layout,
    spritesheet_layout,
    video_scene,
)
from mockcore.media.video_timeline import (
    EXPIRES_AFTER_S,
    MAX_POLL_AFTER_MS,
    QUEUED_SHARE,
    completion_unix,
    poll_after_ms,
    video_state,
)
from mockcore.settings import Settings

STATUS_ORDER = {"queued": 0, "in_progress": 1, "completed": 2}
SIZES = st.sampled_from(sorted(VIDEO_SIZES))
SECONDS = st.sampled_from(VIDEO_SECONDS)
CREATED = st.floats(min_value=1.6e9, max_value=2.2e9, allow_nan=False)
# No render time (`--fast`), or one well above the resolution of a Unix time in a float (~0.2 us).
LATENCIES = st.one_of(st.just(0.0), st.floats(min_value=0.01, max_value=5000.0))


@st.composite
def jobs(draw: st.DrawFn) -> VideoJob:
    width, height = VIDEO_SIZES[draw(SIZES)]
    spec = VideoSpec(
        prompt=draw(texts(min_size=1)), model="sora-2", seconds=draw(SECONDS), width=width, height=height
    )
    settings = Settings(video_render_latency=draw(LATENCIES))
    return new_video_job(
        spec,
        job_id="video_" + draw(st.text("0123456789abcdef", min_size=1, max_size=8)),
        created_at_unix=draw(CREATED),
        settings=settings,
    )


# -- the request ---------------------------------------------------------------------------


@pytest.mark.parametrize("seconds", ["4", "8", "12", 4, 8, 12], ids=repr)
def test_seconds_are_openais_strings_or_the_same_integers(seconds: str | int) -> None:
    spec = video_spec_from_json(msgspec.json.encode({"prompt": "p", "seconds": seconds}))
    assert spec.seconds == int(seconds)


@pytest.mark.parametrize("seconds", ["5", "4.0", "", "four", 0, 16, -4, 4.0, True, None], ids=repr)
def test_other_seconds_are_a_400_naming_seconds(seconds: object) -> None:
    with pytest.raises(RequestError) as caught:
        video_spec_from_json(msgspec.json.encode({"prompt": "p", "seconds": seconds}))
    assert caught.value.param == "seconds"


@pytest.mark.parametrize("size", ["1920x1080", "720X1280", "1280x720 ", "", "1024x1024"])
def test_other_sizes_are_a_400_naming_size(size: str) -> None:
    with pytest.raises(RequestError) as caught:
        video_spec_from_form({"prompt": "p", "size": size})
    assert caught.value.param == "size"


@pytest.mark.parametrize("body", [{}, {"prompt": ""}, {"prompt": 3}, {"model": "sora-2"}])
def test_a_missing_or_empty_prompt_is_a_400_naming_prompt(body: dict[str, object]) -> None:
    with pytest.raises(RequestError) as caught:
        video_spec_from_json(msgspec.json.encode(body))
    assert caught.value.param == "prompt"


def test_defaults_are_openais_and_unknown_fields_are_ignored() -> None:
    body = {"prompt": "p", "seed": 3, "fps": 24, "input_reference": {"image_url": "data:,"}}
    assert video_spec_from_json(msgspec.json.encode(body)) == VideoSpec(
        prompt="p", model="sora-2", seconds=4, width=720, height=1280
    )


@given(prompt=texts(min_size=1), size=SIZES, seconds=SECONDS)
def test_a_form_and_json_say_the_same(prompt: str, size: str, seconds: int) -> None:
    fields = {"prompt": prompt, "size": size, "seconds": str(seconds), "model": "sora-2-pro"}
    assert video_spec_from_form(fields) == video_spec_from_json(msgspec.json.encode(fields))


def test_render_time_is_latency_times_seconds_times_megapixels() -> None:
    settings = Settings(video_render_latency=1000.0)
    assert video_render_ms(4, 1280, 720, settings) == pytest.approx(4 * 0.9216 * 1000)
    assert video_render_ms(12, 1792, 1024, settings) == pytest.approx(
        3 * video_render_ms(4, 1792, 1024, settings)
    )
    assert video_render_ms(12, 1792, 1024, Settings(fast=True)) == 0.0


@given(job=jobs())
def test_a_record_survives_the_store(job: VideoJob) -> None:
    assert decode_video_job(encode_video_job(job)) == job


def test_ids_are_video_and_store_safe_characters() -> None:
    assert is_video_id("video_0f3a")
    assert not is_video_id("video_")
    assert not is_video_id("videofile_0f3a")
    assert not is_video_id("video_../etc")
    assert not is_video_id("video_" + "a" * 123)


# -- the timeline --------------------------------------------------------------------------


@given(job=jobs(), offsets=st.lists(st.floats(min_value=-1.0, max_value=120.0), min_size=2, max_size=8))
def test_the_timeline_never_goes_back(job: VideoJob, offsets: list[float]) -> None:
    states = [video_state(job, job.created_at_unix + offset) for offset in sorted(offsets)]
    ranks = [(STATUS_ORDER[state.status], state.progress) for state in states]
    assert ranks == sorted(ranks)


@given(job=jobs(), share=st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
def test_queued_then_in_progress_below_100_until_the_render_time(job: VideoJob, share: float) -> None:
    render_s = job.render_ms / 1000.0
    now = job.created_at_unix + share * render_s
    if render_s:  # the moment as the clock can hold it: near 1.7e9 s, a sum rounds
        share = (now - job.created_at_unix) / render_s
    state = video_state(job, now)
    if job.render_ms == 0 or now >= completion_unix(job):  # the end, as the clock holds it
        assert state.status == "completed"
    elif share < QUEUED_SHARE * 0.999:
        assert (state.status, state.progress) == ("queued", 0)
    elif share > QUEUED_SHARE * 1.001:
        assert state.status == "in_progress"
        assert 0 <= state.progress <= 99
    if state.status != "completed":
        assert state.completed_at is None
        assert state.expires_at is None


@given(job=jobs(), after_s=st.floats(min_value=0.0, max_value=1e6))
def test_completed_at_the_render_time_with_completed_at_and_expires_at(job: VideoJob, after_s: float) -> None:
    done_at = job.created_at_unix + job.render_ms / 1000.0
    state = video_state(job, done_at + after_s)
    assert (state.status, state.progress) == ("completed", 100)
    assert state.created_at == math.floor(job.created_at_unix)
    assert state.completed_at == math.floor(done_at)
    assert state.expires_at == state.completed_at + EXPIRES_AFTER_S
    assert poll_after_ms(job, done_at + after_s) is None


@given(job=jobs(), share=st.floats(min_value=0.0, max_value=0.99))
def test_poll_after_is_the_time_left_within_1_ms_to_1_s(job: VideoJob, share: float) -> None:
    now = job.created_at_unix + share * job.render_ms / 1000.0
    wait_ms = poll_after_ms(job, now)
    if video_state(job, now).status == "completed":
        assert wait_ms is None
    else:
        assert wait_ms is not None
        assert 1 <= wait_ms <= MAX_POLL_AFTER_MS
        assert wait_ms >= min(math.floor((1 - share) * job.render_ms), MAX_POLL_AFTER_MS)


# -- the list ------------------------------------------------------------------------------


@given(
    created=st.lists(st.integers(min_value=0, max_value=5), min_size=0, max_size=12),
    limit=st.integers(min_value=1, max_value=5),
    order=st.sampled_from(["asc", "desc"]),
)
def test_paging_with_after_visits_every_job_once_in_order(created: list[int], limit: int, order: str) -> None:
    all_jobs = [
        VideoJob(
            id=f"video_{index:02x}",
            prompt="p",
            model="m",
            seconds=4,
            width=720,
            height=1280,
            created_at_unix=float(at),
            render_ms=0.0,
        )
        for index, at in enumerate(created)
    ]
    seen: list[VideoJob] = []
    after = None
    while True:
        page = video_page(
            all_jobs,
            video_list_query({"limit": str(limit), "order": order, **({"after": after} if after else {})}),
        )
        seen.extend(page.jobs)
        if not page.has_more:
            break
        after = page.jobs[-1].id
    keys = [(job.created_at_unix, job.id) for job in seen]
    assert keys == sorted(keys, reverse=order == "desc")
    assert sorted(job.id for job in seen) == sorted(job.id for job in all_jobs)


def test_list_defaults_are_20_newest_first() -> None:
    assert video_list_query({}) == VideoListQuery(limit=20, order="desc", after=None)


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "x"}, "limit"),
        ({"order": "up"}, "order"),
    ],
)
def test_bad_list_queries_are_a_400_naming_the_parameter(params: dict[str, str], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        video_list_query(params)
    assert caught.value.param == param


def test_after_an_unknown_id_is_a_400_naming_after() -> None:
    with pytest.raises(RequestError) as caught:
        video_page([], video_list_query({"after": "video_gone"}))
    assert caught.value.param == "after"


# -- the scene -----------------------------------------------------------------------------


@given(prompt=texts(min_size=1))
def test_the_scene_is_a_function_of_the_prompt(prompt: str) -> None:
    assert video_scene(prompt) == video_scene(prompt)


def test_different_prompts_give_different_scenes() -> None:
    scenes = {msgspec.json.encode(video_scene(f"prompt {index}")) for index in range(20)}
    assert len(scenes) == 20


@given(prompt=texts(min_size=1), size=SIZES, seconds=SECONDS, data=st.data())
def test_every_frame_lies_inside_the_picture(
    prompt: str, size: str, seconds: int, data: st.DataObject
) -> None:
    width, height = VIDEO_SIZES[size]
    frames = frame_count(seconds)
    index = data.draw(st.integers(min_value=0, max_value=frames - 1))
    layout = frame_layout(video_scene(prompt), width, height, index, frames)
    for shape in layout.shapes:
        assert 0 <= shape.left < shape.right <= width
        assert 0 <= shape.top < shape.bottom <= height
    assert 0 < layout.bar_width <= width
    assert 0 < layout.bar_height < height


def test_the_time_bar_grows_to_the_full_width_on_the_last_frame() -> None:
    scene = video_scene("bar")
    frames = frame_count(8)
    widths = [frame_layout(scene, 1280, 720, index, frames).bar_width for index in range(frames)]
    assert widths == sorted(widths)
    assert widths[-1] == 1280


def test_a_video_has_seconds_times_the_frame_rate_frames() -> None:
    assert [frame_count(seconds) for seconds in VIDEO_SECONDS] == [
        4 * FRAMES_PER_SECOND,
        8 * FRAMES_PER_SECOND,
        12 * FRAMES_PER_SECOND,
    ]


def test_bt709_limited_range_maps_black_and_white_to_16_and_235() -> None:
    assert bt709_ycbcr((0, 0, 0)) == (16, 128, 128)
    assert bt709_ycbcr((255, 255, 255)) == (235, 128, 128)


@given(seconds=SECONDS, size=SIZES)
def test_the_spritesheet_has_one_tile_per_second(seconds: int, size: str) -> None:
    width, height = VIDEO_SIZES[size]
    grid = spritesheet_layout(seconds, width, height)
    assert len(grid.frame_indices) == seconds
    assert grid.columns * grid.rows >= seconds > grid.columns * (grid.rows - 1)
    assert max(grid.frame_indices) < frame_count(seconds)
