"""The media store: what one worker puts, every worker reads, lists and deletes; keys stay inside."""

from pathlib import Path

import pytest

from mockhttp.media_store import (
    LocalMediaStore,
    SharedMediaStore,
    media_directory,
    remove_media_directory,
)
from mockhttp.ports import MediaStore


def stores(tmp_path: Path) -> list[MediaStore]:
    return [LocalMediaStore(entries=8), SharedMediaStore(tmp_path / "media", entries=8)]


@pytest.mark.parametrize("kind", ["local", "shared"])
def test_put_get_keys_delete(tmp_path: Path, kind: str) -> None:
    store = stores(tmp_path)[kind == "shared"]
    store.put("video_a", b"1")
    store.put("image_b", b"22")
    store.put("video_c", b"333")
    assert store.get("image_b") == b"22"
    assert store.get("video_missing") is None
    assert store.keys("video") == ["video_a", "video_c"]
    store.put("video_a", b"4444")  # replaced: now the newest
    assert store.get("video_a") == b"4444"
    assert store.keys("video") == ["video_c", "video_a"]
    assert store.delete("video_c") is True
    assert store.delete("video_c") is False
    assert store.keys("video") == ["video_a"]
    assert store.keys("videofile") == []


@pytest.mark.parametrize("kind", ["local", "shared"])
@pytest.mark.parametrize("key", ["", "../state", "a/b", "x" * 129, "v.mp4", "naïve"])
def test_a_key_never_names_a_path_outside_the_store(tmp_path: Path, kind: str, key: str) -> None:
    store = stores(tmp_path)[kind == "shared"]
    for call in (lambda: store.put(key, b""), lambda: store.get(key), lambda: store.delete(key)):
        with pytest.raises(ValueError, match="not a media store key"):
            call()


def test_the_local_store_keeps_the_newest_entries() -> None:
    store = LocalMediaStore(entries=3)
    for index in range(5):
        store.put(f"image_{index}", bytes([index]))
    assert store.keys("image") == ["image_2", "image_3", "image_4"]


def test_the_shared_store_is_one_view_for_every_worker(tmp_path: Path) -> None:
    directory = tmp_path / "media"
    first, second = SharedMediaStore(directory), SharedMediaStore(directory)
    first.put("video_1", b"job")
    assert second.get("video_1") == b"job"
    assert second.keys("video") == ["video_1"]
    assert second.delete("video_1")
    assert first.get("video_1") is None


def test_the_shared_store_evicts_the_oldest_beyond_its_size(tmp_path: Path) -> None:
    store = SharedMediaStore(tmp_path / "media", entries=10)
    for index in range(128):  # eviction runs every 64 puts
        store.put(f"image_{index:03d}", b"x")
    keys = store.keys("image")
    assert len(keys) <= 10 + 63
    assert keys[-1] == "image_127"
    assert "image_000" not in keys


def test_the_media_directory_sits_beside_the_state_file_and_goes_with_it(tmp_path: Path) -> None:
    state_file = tmp_path / "aiperf-mock-server-x.state"
    directory = media_directory(state_file)
    assert directory.parent == tmp_path
    SharedMediaStore(directory).put("image_1", b"x")
    remove_media_directory(state_file)
    assert not directory.exists()
    remove_media_directory(state_file)  # already gone: nothing to do
