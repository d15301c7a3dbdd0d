"""deploy/kubernetes/: every kustomization rendered, validated, and held to the image's contract.

Each kustomization is rendered by tests/deploy/kustomize_subset.py (here, always) and by
`kubectl kustomize` where kubectl is installed, and the two must give the same objects. Every
rendered object is validated with kubernetes-validate (strict: unknown fields fail) against
the newest Kubernetes schema it ships; the PodMonitor, a custom resource it does not know,
against tests/deploy/podmonitor_schema.py. Then the pods are checked against the Dockerfile
(port, user, entrypoint, variables, health check path) and against the server itself: the
variables must be settings, and the probe and scrape paths must answer on an app configured
with the very environment the manifests give a pod.
"""

import copy
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from litestar import Litestar
from litestar.testing import TestClient
from tests.deploy.dockerfile_instructions import Dockerfile, healthcheck, image_environment, parse_dockerfile
from tests.deploy.kustomize_subset import Manifest, UnsupportedKustomizationError, identity, render
from tests.deploy.podmonitor_schema import POD_MONITOR_SCHEMA

from mockcli.config import resolve_settings
from mockcore.settings import ENV_PREFIX, Settings, environment_variable
from mockhttp import create_app

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
KUSTOMIZATIONS = ["base", "overlays/gpu-nodes", "overlays/statefulset"]
# The newest Kubernetes release whose schemas kubernetes-validate ships.
KUBERNETES_VERSION = kubernetes_validate.utils.latest_version()
IMAGE = "aiperf-mock-server:latest"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
SCRAPED_PATHS = ["/metrics", "/dcgm1/metrics", "/dcgm2/metrics"]
# What the downward API would put in POD_NAME: a Deployment's pod, a StatefulSet's.
DEPLOYMENT_POD = "aiperf-mock-server-6f9c7d5b8-x2k8q"
# What the StatefulSet adds to the pods: replica N runs with random seed 1000 + N.
SEED_VARIABLES = {"MOCK_SERVER_SEED_FROM_ORDINAL": "true", "MOCK_SERVER_RANDOM_SEED": "1000"}


def statefulset_pod(ordinal: int) -> str:
    return f"aiperf-mock-server-{ordinal}"


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse_dockerfile(ROOT / "Dockerfile")


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    return {name: render(KUBERNETES / name) for name in KUSTOMIZATIONS}


def by_identity(manifests: list[Manifest]) -> dict[tuple[str, str, str], Manifest]:
    return {identity(manifest): manifest for manifest in manifests}


def only(manifests: list[Manifest], *kinds: str) -> Manifest:
    (found,) = [manifest for manifest in manifests if manifest["kind"] in kinds]
    return found


def the_container(workload: Manifest) -> dict[str, Any]:
    (container,) = workload["spec"]["template"]["spec"]["containers"]
    return dict(container)


def plain_env(container: dict[str, Any], pod_name: str) -> dict[str, str]:
    """The container's variables as the pod sees them (the downward API's pod name filled in)."""
    environment = {}
    for variable in container["env"]:
        if "value" in variable:
            environment[variable["name"]] = variable["value"]
        else:
            assert variable["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}, variable
            environment[variable["name"]] = pod_name
    return environment


def app_client(environment: dict[str, str]) -> TestClient[Litestar]:
    """The app as a pod with `environment` serves it (settings through the CLI's config layer)."""
    return TestClient(create_app(resolve_settings({}, environment)))


def workloads(rendered: dict[str, list[Manifest]]) -> Iterator[tuple[str, Manifest]]:
    for name, manifests in rendered.items():
        yield name, only(manifests, *WORKLOAD_KINDS)


# -- rendering and validation -----------------------------------------------------------------


def test_the_tests_cover_every_kustomization() -> None:
    found = sorted(
        path.parent.relative_to(KUBERNETES).as_posix() for path in KUBERNETES.rglob("kustomization.yaml")
    )
    assert found == KUSTOMIZATIONS


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_kubectl_kustomize_renders_the_same_objects_as_the_subset_renderer(kustomization: str) -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed here; tests/deploy/kustomize_subset.py renders in its place")
    result = subprocess.run(
        [kubectl, "kustomize", str(KUBERNETES / kustomization)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    from_kubectl = [document for document in yaml.safe_load_all(result.stdout) if document]
    assert by_identity(from_kubectl) == by_identity(render(KUBERNETES / kustomization))


@pytest.mark.parametrize("kustomization", KUSTOMIZATIONS)
def test_every_rendered_object_validates_against_the_kubernetes_schema(
    rendered: dict[str, list[Manifest]], kustomization: str
) -> None:
    for manifest in rendered[kustomization]:
        if manifest["kind"] == "PodMonitor":
            jsonschema.validate(manifest, POD_MONITOR_SCHEMA)
        else:
            assert kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_the_renderings_hold_the_objects_each_variant_promises(rendered: dict[str, list[Manifest]]) -> None:
    kinds = {name: sorted(manifest["kind"] for manifest in manifests) for name, manifests in rendered.items()}
    assert kinds == {
        "base": ["Deployment", "HorizontalPodAutoscaler", "PodMonitor", "Service"],
        "overlays/gpu-nodes": ["Deployment", "PodMonitor", "Service"],
        "overlays/statefulset": [
            "HorizontalPodAutoscaler",
            "PodMonitor",
            "Service",
            "Service",
            "StatefulSet",
        ],
    }
    assert KUBERNETES_VERSION.startswith("1.")
    assert tuple(int(part) for part in KUBERNETES_VERSION.split(".")[:2]) >= (1, 35)


def test_strict_validation_rejects_a_misspelt_field_and_a_wrong_type(
    rendered: dict[str, list[Manifest]],
) -> None:
    deployment = only(rendered["base"], "Deployment")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["replica"] = 2
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSION, strict=True)
    wrong_type = copy.deepcopy(deployment)
    the_port = wrong_type["spec"]["template"]["spec"]["containers"][0]["ports"][0]
    the_port["containerPort"] = "8000"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(wrong_type, KUBERNETES_VERSION, strict=True)


def test_the_podmonitor_schema_rejects_a_misspelt_field_and_a_bad_interval(
    rendered: dict[str, list[Manifest]],
) -> None:
    monitor = only(rendered["base"], "PodMonitor")
    misspelt = copy.deepcopy(monitor)
    misspelt["spec"]["podMetricsEndpoints"][0]["paht"] = "/metrics"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(misspelt, POD_MONITOR_SCHEMA)
    slow = copy.deepcopy(monitor)
    slow["spec"]["podMetricsEndpoints"][0]["interval"] = "15 seconds"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(slow, POD_MONITOR_SCHEMA)
    no_selector = copy.deepcopy(monitor)
    del no_selector["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(no_selector, POD_MONITOR_SCHEMA)


def test_the_subset_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n")
    with pytest.raises(UnsupportedKustomizationError, match="namePrefix"):
        render(tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{KUBERNETES / 'base' / 'deployment.yaml'}]\npatches: [{{path: ports.yaml}}]\n"
    )
    (tmp_path / "ports.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: aiperf-mock-server}\n"
        "spec: {template: {spec: {containers: [{name: mock-server, ports: [{containerPort: 9000}]}]}}}\n"
    )
    with pytest.raises(UnsupportedKustomizationError, match="ports"):
        render(tmp_path)


def test_a_patch_merges_named_items_patch_first_and_replaces_other_lists(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{KUBERNETES / 'base' / 'deployment.yaml'}]\npatches: [{{path: env.yaml}}]\n"
    )
    (tmp_path / "env.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: aiperf-mock-server}\n"
        "spec: {template: {spec: {containers: [{name: mock-server, args: [--fast], env: "
        "[{name: NEW, value: a}, {name: MOCK_SERVER_PORT, value: '9000'}]}]}}}\n"
    )
    container = the_container(only(render(tmp_path), "Deployment"))
    names = [variable["name"] for variable in container["env"]]
    assert names == ["NEW", "MOCK_SERVER_PORT", "POD_NAME", "MOCK_SERVER_HOST", "MOCK_SERVER_WORKERS"]
    assert container["env"][1] == {"name": "MOCK_SERVER_PORT", "value": "9000"}
    assert container["args"] == ["--fast"]


# -- one source of truth: the image's contract ----------------------------------------------------


def test_the_pods_run_the_image_as_the_dockerfile_defines_it(
    rendered: dict[str, list[Manifest]], dockerfile: Dockerfile
) -> None:
    image_env = image_environment(dockerfile.final, base={})
    exposed = int(dockerfile.final.only("EXPOSE").value)
    user, _, group = dockerfile.final.only("USER").value.partition(":")
    _, check = healthcheck(dockerfile.final.only("HEALTHCHECK").value)
    (health_path,) = re.findall(r"'(/[^']*)'", check[2])
    for name, workload in workloads(rendered):
        pod = workload["spec"]["template"]["spec"]
        container = the_container(workload)
        assert container["image"] == IMAGE, name
        assert "command" not in container, name  # the image's ENTRYPOINT, the console script
        assert "args" not in container, name  # configuration only through variables
        assert container["ports"] == [{"name": "http", "containerPort": exposed, "protocol": "TCP"}], name
        environment = plain_env(container, DEPLOYMENT_POD)
        for variable, value in image_env.items():
            if variable.startswith(ENV_PREFIX):
                assert environment[variable] == value, (name, variable)
        assert int(environment["MOCK_SERVER_PORT"]) == exposed
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert (pod["securityContext"]["runAsUser"], pod["securityContext"]["runAsGroup"]) == (
            int(user),
            int(group),
        )
        assert container["livenessProbe"]["httpGet"] == {"path": health_path, "port": "http"}, name
        assert container["startupProbe"]["httpGet"] == {"path": health_path, "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "http"}, name


def test_the_readme_builds_the_image_the_manifests_run_and_names_the_tested_kustomizations() -> None:
    readme = (KUBERNETES / "README.md").read_text(encoding="utf-8")
    assert f"docker build -t {IMAGE} ." in readme
    named = re.findall(r"^kubectl (?:kustomize|apply -k) deploy/kubernetes/(\S+)", readme, flags=re.MULTILINE)
    assert sorted(set(named)) == KUSTOMIZATIONS


def test_every_mock_server_variable_of_the_manifests_is_a_setting_the_server_accepts(
    rendered: dict[str, list[Manifest]],
) -> None:
    known = {environment_variable(field) for field in Settings.__struct_fields__}
    for name, workload in workloads(rendered):
        pod_name = statefulset_pod(1) if workload["kind"] == "StatefulSet" else DEPLOYMENT_POD
        environment = plain_env(the_container(workload), pod_name)
        unknown = {variable for variable in environment if variable.startswith(ENV_PREFIX)} - known
        assert not unknown, (name, unknown)
        assert set(environment) - known == {"POD_NAME"}, name
        settings = resolve_settings({}, environment)
        assert settings.replica_name == pod_name, name


def test_the_service_podmonitor_and_autoscaler_point_at_the_pods(rendered: dict[str, list[Manifest]]) -> None:
    for name, manifests in rendered.items():
        workload = only(manifests, *WORKLOAD_KINDS)
        labels = workload["spec"]["template"]["metadata"]["labels"]
        assert workload["spec"]["selector"]["matchLabels"].items() <= labels.items()
        port_names = {port["name"] for port in the_container(workload)["ports"]}
        for service in (manifest for manifest in manifests if manifest["kind"] == "Service"):
            assert service["spec"]["selector"].items() <= labels.items(), name
            assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names, name
        monitor = only(manifests, "PodMonitor")
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
        endpoints = monitor["spec"]["podMetricsEndpoints"]
        assert [endpoint["path"] for endpoint in endpoints] == SCRAPED_PATHS
        assert {endpoint["port"] for endpoint in endpoints} <= port_names
        for autoscaler in (
            manifest for manifest in manifests if manifest["kind"] == "HorizontalPodAutoscaler"
        ):
            target = autoscaler["spec"]["scaleTargetRef"]
            assert (target["kind"], target["name"]) == (workload["kind"], workload["metadata"]["name"]), name


def test_the_probe_and_scrape_paths_answer_on_the_app_each_pod_runs(
    rendered: dict[str, list[Manifest]],
) -> None:
    for name, workload in workloads(rendered):
        container = the_container(workload)
        pod_name = statefulset_pod(0) if workload["kind"] == "StatefulSet" else DEPLOYMENT_POD
        paths = [
            container[probe]["httpGet"]["path"]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe")
        ]
        with app_client(plain_env(container, pod_name)) as client:
            for path in [*paths, *SCRAPED_PATHS]:
                assert client.get(path).status_code == 200, (name, path)


def test_the_statefulsets_pods_are_the_deployments_plus_the_seed_variables(
    rendered: dict[str, list[Manifest]],
) -> None:
    deployment = only(rendered["base"], "Deployment")
    statefulset = only(rendered["overlays/statefulset"], "StatefulSet")
    template = copy.deepcopy(statefulset["spec"]["template"])
    (container,) = template["spec"]["containers"]
    seeds = [variable for variable in container["env"] if variable["name"] in SEED_VARIABLES]
    container["env"] = [variable for variable in container["env"] if variable["name"] not in SEED_VARIABLES]
    assert template == deployment["spec"]["template"]
    assert {variable["name"]: variable["value"] for variable in seeds} == SEED_VARIABLES
    assert statefulset["spec"]["serviceName"] == "aiperf-mock-server-headless"


# -- what the variants promise, on the server they configure -------------------------------------


def test_each_statefulset_replica_reports_its_ordinal_and_seed(rendered: dict[str, list[Manifest]]) -> None:
    container = the_container(only(rendered["overlays/statefulset"], "StatefulSet"))
    for ordinal in (0, 2):
        pod_name = statefulset_pod(ordinal)
        with app_client(plain_env(container, pod_name)) as client:
            replica = client.get("/health").json()["replica"]
        assert replica == {"name": pod_name, "ordinal": ordinal, "hostname": pod_name, "seed": 1000 + ordinal}


_LABEL = re.compile(r'(?P<name>UUID|Hostname)="(?P<value>[^"]*)"')


def dcgm_identity(client: TestClient[Litestar]) -> tuple[set[str], set[str]]:
    """The Hostname labels and GPU UUIDs both DCGM endpoints of one pod report."""
    hostnames: set[str] = set()
    uuids: set[str] = set()
    for path in ("/dcgm1/metrics", "/dcgm2/metrics"):
        for match in _LABEL.finditer(client.get(path).text):
            (hostnames if match["name"] == "Hostname" else uuids).add(match["value"])
    return hostnames, uuids


def test_gpu_node_replicas_are_different_nodes_and_each_is_the_same_node_every_time(
    rendered: dict[str, list[Manifest]],
) -> None:
    deployment = only(rendered["overlays/gpu-nodes"], "Deployment")
    assert deployment["spec"]["replicas"] >= 2
    container = the_container(deployment)
    pods = ["aiperf-mock-server-6f9c7d5b8-x2k8q", "aiperf-mock-server-6f9c7d5b8-p7m4z"]
    seen = []
    for pod_name in [*pods, pods[0]]:
        with app_client(plain_env(container, pod_name)) as client:
            seen.append(dcgm_identity(client))
    (first_hosts, first_uuids), (second_hosts, second_uuids), again = seen
    assert first_hosts == {pods[0]}
    assert second_hosts == {pods[1]}
    assert len(first_uuids) == len(second_uuids) == 2 * 8  # two exporters of 8 GPUs each
    assert not first_uuids & second_uuids
    assert again == seen[0]
