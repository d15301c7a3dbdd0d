"""A renderer of the part of kustomize that deploy/kubernetes/ uses, for machines without kubectl.

The subset, and nothing more: a `kustomization.yaml` with `resources` (YAML files, or folders
holding a kustomization) and `patches` given by `path` or inline `patch`, each a strategic
merge patch that names its target by apiVersion, kind and metadata.name. A patch either
deletes its target (`$patch: delete`) or merges into it: maps merge key by key (a null value
removes the key), the lists Kubernetes merges by name (`containers`, `initContainers`, `env`,
`volumes`) merge item by item as kustomize does (the patch's items first, in its order, then
the target's others), and every other list is replaced. A field this subset does not know
raises instead of rendering something kubectl would not: where kubectl exists,
tests/deploy/test_kubernetes.py checks that both render the same objects.
"""

from pathlib import Path
from typing import Any

import yaml

Manifest = dict[str, Any]

_KNOWN_FIELDS = frozenset({"apiVersion", "kind", "resources", "patches"})
_MERGED_BY_NAME = frozenset({"containers", "initContainers", "env", "volumes"})
# Lists Kubernetes merges by another key: a patch touching them is outside the subset.
_MERGED_BY_OTHER_KEYS = frozenset({"ports", "volumeMounts", "imagePullSecrets", "tolerations"})


class UnsupportedKustomizationError(ValueError):
    """A kustomization or patch outside this renderer's subset."""


def render(directory: Path) -> list[Manifest]:
    """The objects `kubectl kustomize directory` would print (in no particular order)."""
    kustomization = _load_one(directory / "kustomization.yaml")
    unknown = set(kustomization) - _KNOWN_FIELDS
    if unknown:
        raise UnsupportedKustomizationError(f"{directory}: fields outside the subset: {sorted(unknown)}")
    manifests: list[Manifest] = []
    for entry in kustomization.get("resources", []):
        path = directory / entry
        manifests.extend(render(path) if path.is_dir() else _load_all(path))
    _reject_duplicates(manifests, directory)
    for patch_entry in kustomization.get("patches", []):
        _apply(manifests, _patch_of(directory, patch_entry))
    return manifests


def identity(manifest: Manifest) -> tuple[str, str, str]:
    """What kustomize tells objects apart by: group (without version), kind and name."""
    group = manifest["apiVersion"].rpartition("/")[0]
    return group, manifest["kind"], manifest["metadata"]["name"]


def _load_one(path: Path) -> Manifest:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def _load_all(path: Path) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(path.read_text(encoding="utf-8")) if document]


def _reject_duplicates(manifests: list[Manifest], directory: Path) -> None:
    seen = [identity(manifest) for manifest in manifests]
    duplicated = {key for key in seen if seen.count(key) > 1}
    if duplicated:
        raise UnsupportedKustomizationError(f"{directory}: the same object twice: {sorted(duplicated)}")


def _patch_of(directory: Path, entry: dict[str, Any]) -> Manifest:
    if set(entry) == {"path"}:
        return _load_one(directory / entry["path"])
    if set(entry) == {"patch"}:
        loaded = yaml.safe_load(entry["patch"])
        assert isinstance(loaded, dict), entry
        return loaded
    raise UnsupportedKustomizationError(f"a patch entry outside the subset (targets, options): {entry}")


def _apply(manifests: list[Manifest], patch: Manifest) -> None:
    key = identity(patch)
    matches = [index for index, manifest in enumerate(manifests) if identity(manifest) == key]
    if len(matches) != 1:
        raise UnsupportedKustomizationError(f"the patch's target {key} is not one object of the resources")
    (index,) = matches
    if patch.get("$patch") == "delete":
        del manifests[index]
        return
    manifests[index] = _merge(manifests[index], patch, field="")


def _merge(target: Any, patch: Any, field: str) -> Any:
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = dict(target)
        for name, value in patch.items():
            if name.startswith("$"):
                raise UnsupportedKustomizationError(f"a directive outside the subset: {name}")
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = _merge(merged[name], value, field=name)
            else:
                merged[name] = value
        return merged
    if isinstance(target, list) and isinstance(patch, list):
        if field in _MERGED_BY_OTHER_KEYS:
            raise UnsupportedKustomizationError(f"`{field}` merges by a key this subset does not handle")
        if field in _MERGED_BY_NAME:
            return _merge_by_name(target, patch, field)
    return patch


def _merge_by_name(target: list[Any], patch: list[Any], field: str) -> list[Any]:
    by_name = {item["name"]: item for item in target}
    patched_names = [item["name"] for item in patch]
    merged = [
        _merge(by_name[item["name"]], item, field) if item["name"] in by_name else item for item in patch
    ]
    return merged + [item for item in target if item["name"] not in patched_names]
