"""The image plan of `mockcore.media.images`, pure: determinism, sizes, latency, tokens, validation."""

import typing

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockcore import RequestError, Settings
from mockcore.media.image_requests import (
    ImageEditRequest,
    ImageGenerationRequest,
    ImageSizeName,
    RequestedQuality,
    decode_generation_request,
    edit_request_from_fields,
)
from mockcore.media.image_usage import image_output_tokens, input_image_tokens
from mockcore.media.images import (
    ImagePlan,
    input_image,
    plan_image_edit,
    plan_image_generation,
    size_of,
)
from mockcore.tokenizer import count_tokens

SETTINGS = Settings(image_base_latency=200.0, image_latency_per_megapixel=800.0)
SIZES: tuple[ImageSizeName, ...] = typing.get_args(ImageSizeName)
QUALITIES: tuple[RequestedQuality, ...] = typing.get_args(RequestedQuality)
prompts = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=200)


def generation(**fields: object) -> ImagePlan:
    return plan_image_generation(
        msgspec.convert({"prompt": "a red fox", **fields}, ImageGenerationRequest), SETTINGS
    )


@given(prompt=prompts, size=st.sampled_from(SIZES), quality=st.sampled_from(QUALITIES), n=st.integers(1, 4))
def test_the_same_request_gets_the_same_plan(prompt: str, size: str, quality: str, n: int) -> None:
    body = msgspec.json.encode({"prompt": prompt, "size": size, "quality": quality, "n": n})
    first = plan_image_generation(decode_generation_request(body), SETTINGS)
    again = plan_image_generation(decode_generation_request(body), SETTINGS)
    assert msgspec.json.encode(first) == msgspec.json.encode(again)
    assert len(first.images) == n


@given(size=st.sampled_from(SIZES))
def test_an_image_has_the_size_asked_for_and_auto_is_square(size: str) -> None:
    plan = generation(size=size)
    expected = "1024x1024" if size == "auto" else size
    assert plan.size.name == expected


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [(300, 300, "1024x1024"), (1600, 900, "1536x1024"), (600, 1000, "1024x1536")],
)
def test_an_edit_of_size_auto_takes_the_standard_size_nearest_the_input(
    width: int, height: int, expected: str
) -> None:
    inputs = [input_image(width, height, b"pixels")]
    plan = plan_image_edit(ImageEditRequest(prompt="p", size="auto"), inputs, SETTINGS)
    assert plan.size.name == expected


@given(prompt=prompts, quality=st.sampled_from(QUALITIES), n=st.integers(1, 3))
def test_latency_is_the_base_plus_each_image_by_megapixels_and_quality(
    prompt: str, quality: str, n: int
) -> None:
    plan = plan_image_generation(
        ImageGenerationRequest(prompt=prompt, size="1536x1024", quality=quality, n=n),
        SETTINGS,
    )
    factor = {"low": 0.5, "medium": 1.0, "high": 2.0}[plan.quality]
    expected_ms = 200.0 + n * 800.0 * 1536 * 1024 / 1e6 * factor
    assert plan.latency_s == pytest.approx(expected_ms / 1000)
    assert plan.images[-1].ready_offset_s == pytest.approx(plan.latency_s)


@given(first=st.sampled_from(SIZES), second=st.sampled_from(SIZES), quality=st.sampled_from(QUALITIES))
def test_latency_and_output_tokens_grow_with_the_size(first: str, second: str, quality: str) -> None:
    small, large = sorted([first, second], key=lambda name: generation(size=name).size.megapixels)
    small_plan, large_plan = generation(size=small, quality=quality), generation(size=large, quality=quality)
    assert small_plan.latency_s <= large_plan.latency_s
    if small_plan.size.megapixels < large_plan.size.megapixels:  # OpenAI bills 1024x1536 above 1536x1024
        assert small_plan.usage.output_tokens < large_plan.usage.output_tokens


@given(size=st.sampled_from(SIZES))
def test_latency_and_output_tokens_grow_with_the_quality(size: str) -> None:
    plans = [generation(size=size, quality=quality) for quality in ("low", "medium", "high")]
    assert plans[0].latency_s < plans[1].latency_s < plans[2].latency_s
    assert plans[0].usage.output_tokens < plans[1].usage.output_tokens < plans[2].usage.output_tokens


def test_the_quality_names_of_dall_e_and_auto_map_to_gpt_image_qualities() -> None:
    assert [generation(quality=name).quality for name in ("auto", "standard", "hd")] == [
        "medium",
        "medium",
        "high",
    ]


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        ("low", "1024x1024", 272),
        ("medium", "1024x1536", 1584),
        ("high", "1536x1024", 6208),
        ("medium", "512x512", 264),
    ],
)
def test_output_tokens_follow_openais_table_and_scale_by_area_off_it(
    quality: str, size: str, tokens: int
) -> None:
    width, height = size_of(size).width, size_of(size).height
    assert image_output_tokens(width, height, quality) == tokens


@pytest.mark.parametrize(
    ("width", "height", "tokens"), [(1024, 1024, 765), (2048, 4096, 1105), (256, 256, 255)]
)
def test_input_images_cost_openais_vision_tokens(width: int, height: int, tokens: int) -> None:
    assert input_image_tokens(width, height) == tokens


@given(prompt=prompts, n=st.integers(1, 3))
def test_usage_counts_the_prompt_and_every_image(prompt: str, n: int) -> None:
    usage = plan_image_generation(ImageGenerationRequest(prompt=prompt, n=n), SETTINGS).usage
    assert usage.input_tokens == usage.input_tokens_details.text_tokens == count_tokens(prompt)
    assert usage.input_tokens_details.image_tokens == 0
    assert usage.output_tokens == n * 1056
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens


def test_an_edit_counts_its_input_images() -> None:
    inputs = [input_image(1024, 1024, b"one"), input_image(256, 256, b"two")]
    usage = plan_image_edit(ImageEditRequest(prompt="abcdefgh"), inputs, SETTINGS).usage
    assert usage.input_tokens_details.image_tokens == 765 + 255
    assert usage.input_tokens == 2 + 765 + 255


def test_each_image_of_a_request_and_each_prompt_gets_its_own_picture() -> None:
    plan = generation(n=3)
    pictures = {msgspec.json.encode(image.picture) for image in plan.images}
    assert len(pictures) == 3
    assert generation().images[0].picture != generation(prompt="a blue fox").images[0].picture


def test_an_edit_depends_on_the_input_bytes() -> None:
    request = ImageEditRequest(prompt="p")
    first = plan_image_edit(request, [input_image(64, 64, b"first")], SETTINGS).images[0].picture
    second = plan_image_edit(request, [input_image(64, 64, b"second")], SETTINGS).images[0].picture
    assert first != second
    assert 0.0 < first.pattern_weight < 1.0


@given(partials=st.integers(0, 3), quality=st.sampled_from(QUALITIES))
def test_partial_images_come_before_their_image_and_build_up_to_it(partials: int, quality: str) -> None:
    plan = generation(stream=True, partial_images=partials, quality=quality, n=2)
    previous_ready = SETTINGS.image_base_latency / 1000
    for image in plan.images:
        assert len(image.partials) == len(image.partial_offsets_s) == partials
        offsets = [previous_ready, *image.partial_offsets_s, image.ready_offset_s]
        assert offsets == sorted(offsets)
        shown = [len(partial.shapes) for partial in image.partials] + [len(image.picture.shapes)]
        assert shown == sorted(shown)
        previous_ready = image.ready_offset_s


def test_partial_images_need_a_stream() -> None:
    assert generation(partial_images=2).images[0].partials == ()


def test_the_defaults_are_openais() -> None:
    plan = generation()
    assert (plan.output_format, plan.response_format, plan.background) == ("png", "b64_json", "opaque")
    assert (plan.output_compression, len(plan.images), plan.stream) == (100, 1, False)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": "p", "size": "300x300"}, "size"),
        ({"prompt": "p", "n": 0}, "n"),
        ({"prompt": "p", "n": 11}, "n"),
        ({"prompt": "p", "quality": "ultra"}, "quality"),
        ({"prompt": "p", "output_format": "gif"}, "output_format"),
        ({"prompt": "p", "partial_images": 4}, "partial_images"),
        ({"prompt": "p", "output_compression": 101}, "output_compression"),
        ({"prompt": ""}, "prompt"),
        ({"size": "auto"}, "prompt"),
    ],
)
def test_a_bad_field_is_a_400_that_names_it(body: dict[str, object], param: str) -> None:
    with pytest.raises(RequestError) as caught:
        decode_generation_request(msgspec.json.encode(body))
    assert caught.value.param == param


def test_a_bad_size_lists_the_accepted_sizes() -> None:
    with pytest.raises(RequestError, match="1792x1024"):
        decode_generation_request(b'{"prompt": "p", "size": "300x300"}')


def test_a_transparent_background_needs_a_format_with_alpha() -> None:
    with pytest.raises(RequestError) as caught:
        generation(background="transparent", output_format="jpeg")
    assert caught.value.param == "background"
    assert generation(background="transparent", output_format="webp").background == "transparent"


def test_an_edit_form_converts_its_strings() -> None:
    request = edit_request_from_fields({"prompt": "p", "n": "2", "stream": "true", "partial_images": "1"})
    assert (request.n, request.stream, request.partial_images) == (2, True, 1)
    with pytest.raises(RequestError) as caught:
        edit_request_from_fields({"prompt": "p", "n": "two"})
    assert caught.value.param == "n"


def test_an_edit_needs_an_image() -> None:
    with pytest.raises(RequestError) as caught:
        plan_image_edit(ImageEditRequest(prompt="p"), [], SETTINGS)
    assert caught.value.param == "image"
