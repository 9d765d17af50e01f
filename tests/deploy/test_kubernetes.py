"""deploy/kubernetes/: every object valid for the Kubernetes API (offline, strict, at pinned
versions), and the files consistent with each other, with the image and with the loop's flags."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest

from reconciler import __version__
from reconciler.cli import Duration
from tests.deploy.recipes import (
    DOCKERFILE,
    KUBERNETES,
    WORKLOAD_KINDS,
    collected,
    container_environment,
    dockerfile_stages,
    expand_kubernetes,
    find_object,
    kubernetes_calls,
    kubernetes_objects,
    load_documents,
    object_name,
    option_value,
    pod_template,
)

# The oldest Kubernetes the recipes support (podFailurePolicy is on by default from 1.26, the
# restricted Pod Security fields are all there) and a recent one, to catch removals. The
# schemas ship inside kubernetes-validate: nothing is fetched.
KUBERNETES_VERSIONS = ("1.30.0", "1.35.0")
SERVICEMONITOR_SCHEMA = json.loads(
    (Path(__file__).parent / "servicemonitor.schema.json").read_text("utf-8")
)

OBJECTS, UNREADABLE = collected(kubernetes_objects)
OBJECT_IDS = [f"{path.name}:{object_name(obj)}" for path, obj in OBJECTS]
WORKLOADS = [(p, o) for p, o in OBJECTS if o["kind"] in WORKLOAD_KINDS]
WORKLOAD_IDS = [f"{path.name}:{object_name(obj)}" for path, obj in WORKLOADS]


def validate_object(obj: dict[str, Any], version: str) -> None:
    """Kubernetes' own schema for built-in kinds (strict: unknown fields are errors), the
    schema in this folder for the Prometheus Operator's ServiceMonitor."""
    if obj["apiVersion"] == "monitoring.coreos.com/v1" and obj["kind"] == "ServiceMonitor":
        jsonschema.Draft202012Validator(SERVICEMONITOR_SCHEMA).validate(obj)
    else:
        kubernetes_validate.validate(obj, version, strict=True)


def only_container(obj: dict[str, Any]) -> dict[str, Any]:
    containers = pod_template(obj)["spec"]["containers"]
    assert len(containers) == 1, f"{object_name(obj)}: one container expected"
    return dict(containers[0])


def dockerfile_final_stage() -> dict[str, str]:
    """USER, WORKDIR and EXPOSE of the image the recipes run."""
    final = dockerfile_stages(DOCKERFILE)[-1]
    return {i.keyword: i.text for i in final if i.keyword in ("USER", "WORKDIR", "EXPOSE")}


def test_the_recipes_cover_every_mode_of_running_the_loop() -> None:
    assert UNREADABLE is None, UNREADABLE
    kinds = sorted(object_name(obj) for _, obj in OBJECTS)
    assert kinds == [
        "ConfigMap/flyte-reconciler",
        "CronJob/flyte-reconciler",
        "Deployment/flyte-reconciler",
        "Secret/flyte-reconciler",
        "Service/flyte-reconciler",
        "Service/flyte-reconciler-shard",
        "ServiceMonitor/flyte-reconciler",
        "StatefulSet/flyte-reconciler-shard",
    ]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize(("path", "obj"), OBJECTS, ids=OBJECT_IDS)
def test_every_object_is_valid_for_the_kubernetes_api(
    path: Path, obj: dict[str, Any], version: str
) -> None:
    try:
        validate_object(obj, version)
    except jsonschema.ValidationError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        pytest.fail(f"{path.name}: {object_name(obj)}: {where}: {exc.message}")


def test_schema_validation_rejects_a_misspelled_field_and_a_wrong_type() -> None:
    deployment = find_object("Deployment", "flyte-reconciler")
    misspelled = copy.deepcopy(deployment)
    container = misspelled["spec"]["template"]["spec"]["containers"][0]
    container["imagePulPolicy"] = container.pop("imagePullPolicy")
    with pytest.raises(jsonschema.ValidationError, match="imagePulPolicy"):
        validate_object(misspelled, KUBERNETES_VERSIONS[0])
    wrong_type = copy.deepcopy(deployment)
    wrong_type["spec"]["replicas"] = "1"
    with pytest.raises(jsonschema.ValidationError, match="'1' is not of type 'integer'"):
        validate_object(wrong_type, KUBERNETES_VERSIONS[0])


def test_servicemonitor_schema_rejects_what_the_crd_would() -> None:
    monitor = find_object("ServiceMonitor", "flyte-reconciler")
    typo = copy.deepcopy(monitor)
    typo["spec"]["endpoints"][0]["intervall"] = "30s"
    with pytest.raises(jsonschema.ValidationError, match="intervall"):
        validate_object(typo, KUBERNETES_VERSIONS[0])
    bad_interval = copy.deepcopy(monitor)
    bad_interval["spec"]["endpoints"][0]["interval"] = "30 seconds"
    with pytest.raises(jsonschema.ValidationError, match="does not match"):
        validate_object(bad_interval, KUBERNETES_VERSIONS[0])
    no_selector = copy.deepcopy(monitor)
    del no_selector["spec"]["selector"]
    with pytest.raises(jsonschema.ValidationError, match="'selector' is a required property"):
        validate_object(no_selector, KUBERNETES_VERSIONS[0])


def test_validation_needs_no_network() -> None:
    """kubernetes-validate reads the schemas it ships; run it where no network exists."""
    script = (
        "import socket, yaml, kubernetes_validate\n"
        "def refuse(*a, **k): raise OSError('network used')\n"
        "socket.socket.connect = refuse\n"
        "socket.getaddrinfo = refuse\n"
        f"doc = yaml.safe_load(open({str(KUBERNETES / 'service.yaml')!r}))\n"
        f"print(kubernetes_validate.validate(doc, {KUBERNETES_VERSIONS[0]!r}, strict=True))\n"
    )
    import sys

    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == KUBERNETES_VERSIONS[0].rsplit(".", 1)[0]


def test_objects_are_namespace_agnostic() -> None:
    for path, obj in OBJECTS:
        assert "namespace" not in obj["metadata"], f"{path.name}: {object_name(obj)}"
    kustomization = load_documents(KUBERNETES / "kustomization.yaml")[0]
    assert "namespace" not in kustomization


def test_kustomization_lists_existing_files_and_leaves_the_secret_out() -> None:
    kustomization = load_documents(KUBERNETES / "kustomization.yaml")[0]
    assert kustomization["apiVersion"] == "kustomize.config.k8s.io/v1beta1"
    assert kustomization["kind"] == "Kustomization"
    for resource in kustomization["resources"]:
        assert (KUBERNETES / resource).is_file(), resource
    # Applying the kustomization must never put placeholders over real credentials.
    assert "secret.yaml" not in kustomization["resources"]
    images = {only_container(obj)["image"].rsplit(":", 1)[0] for _, obj in WORKLOADS}
    assert {image["name"] for image in kustomization["images"]} == images


def test_secret_holds_only_marked_placeholders() -> None:
    secret = find_object("Secret", "flyte-reconciler")
    assert "data" not in secret, "base64 data would hide whether a value is a placeholder"
    assert {"FLYTE_CREDENTIALS_CLIENT_ID", "FLYTE_CREDENTIALS_CLIENT_SECRET"} <= set(
        secret["stringData"]
    )
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, f"{key} is not marked as a placeholder"


@pytest.mark.parametrize(("path", "obj"), WORKLOADS, ids=WORKLOAD_IDS)
def test_pods_run_the_released_image_as_its_non_root_user_on_a_read_only_root(
    path: Path, obj: dict[str, Any]
) -> None:
    image = dockerfile_final_stage()
    uid = int(image["USER"].split(":")[0])
    pod = pod_template(obj)["spec"]
    container = only_container(obj)

    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == uid
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}, bound

    # Everything the process writes lands on emptyDirs: HOME (the image's working directory:
    # the clone, caches, state) and /tmp.
    empty_dirs = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
    mounted = {m["mountPath"] for m in container["volumeMounts"] if m["name"] in empty_dirs}
    assert {image["WORKDIR"], "/tmp"} <= mounted

    name, _, tag = container["image"].rpartition(":")
    assert name
    assert tag == __version__, f"{container['image']}: tag it with the release"


@pytest.mark.parametrize(("path", "obj"), WORKLOADS, ids=WORKLOAD_IDS)
def test_args_use_only_variables_the_container_defines(path: Path, obj: dict[str, Any]) -> None:
    container = only_container(obj)
    environment = container_environment(container)
    for arg in container["args"]:
        expand_kubernetes(arg, environment)  # raises for an undefined $(VAR)
    secret_variable = option_value(container["args"], "--webhook-secret-env")
    if secret_variable is not None:
        assert secret_variable in environment
    assert "FLYTE_CREDENTIALS_CLIENT_SECRET" in environment


def test_undefined_variables_in_args_are_caught() -> None:
    with pytest.raises(KeyError, match=r"\$\(MANIFESTS_REPO\)"):
        expand_kubernetes("$(MANIFESTS_REPO)", {"MANIFESTS_REPO_URL": "x"})
    assert expand_kubernetes("$$(KEPT) $(A)", {"A": "b"}) == "$(KEPT) b"


def test_every_workload_reads_its_manifests_from_a_clone_of_main() -> None:
    calls = kubernetes_calls()
    assert len(calls) == len(WORKLOADS)
    for call in calls:
        assert call.command == "reconcile", call.where
        assert option_value(call.argv, "--repo"), call.where
        assert option_value(call.argv, "--branch") == "main", call.where
        assert option_value(call.argv, "--path"), call.where


def test_cronjob_runs_one_pass_and_fails_its_job_on_drift_without_retrying() -> None:
    cronjob = find_object("CronJob", "flyte-reconciler")
    args = only_container(cronjob)["args"]
    assert "--once" in args
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    job = cronjob["spec"]["jobTemplate"]["spec"]
    assert job["template"]["spec"]["restartPolicy"] == "Never"
    (rule,) = job["podFailurePolicy"]["rules"]
    assert rule["action"] == "FailJob"
    assert rule["onExitCodes"] == {
        "containerName": only_container(cronjob)["name"],
        "operator": "In",
        "values": [2],  # reconcile --once: 2 = drift left
    }


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet"])
def test_loops_listen_where_probes_and_prometheus_reach_them(kind: str) -> None:
    (obj,) = [o for _, o in WORKLOADS if o["kind"] == kind]
    container = only_container(obj)
    listen = option_value(container["args"], "--listen")
    assert listen is not None, "the default 127.0.0.1 is unreachable from the kubelet"
    host, _, port = listen.rpartition(":")
    assert host == "0.0.0.0"
    (declared,) = container["ports"]
    assert declared["containerPort"] == int(port)
    assert dockerfile_final_stage()["EXPOSE"] == port
    probes = {
        name: (container[name]["httpGet"]["path"], container[name]["httpGet"]["port"])
        for name in ("livenessProbe", "readinessProbe")
    }
    assert probes == {
        "livenessProbe": ("/healthz", declared["name"]),
        "readinessProbe": ("/readyz", declared["name"]),
    }
    shutdown = Duration().convert(option_value(container["args"], "--shutdown-timeout"), None, None)
    assert pod_template(obj)["spec"]["terminationGracePeriodSeconds"] > shutdown


def test_statefulset_shards_agree_with_its_replicas_and_headless_service() -> None:
    statefulset = find_object("StatefulSet", "flyte-reconciler-shard")
    args = only_container(statefulset)["args"]
    assert "--shard-from-hostname" in args
    shard = option_value(args, "--shard")
    assert shard is not None
    assert int(shard.split("/")[1]) == statefulset["spec"]["replicas"]
    service = find_object("Service", statefulset["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    assert (
        service["spec"]["selector"].items()
        <= pod_template(statefulset)["metadata"]["labels"].items()
    )


def test_services_select_one_workload_each_and_the_servicemonitor_both() -> None:
    services = [obj for _, obj in OBJECTS if obj["kind"] == "Service"]
    for service in services:
        selected = [
            obj
            for _, obj in WORKLOADS
            if service["spec"]["selector"].items()
            <= pod_template(obj)["metadata"]["labels"].items()
        ]
        assert len(selected) == 1, object_name(service)
        port_names = {p["name"] for p in only_container(selected[0]).get("ports", [])}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in port_names, object_name(service)

    monitor = find_object("ServiceMonitor", "flyte-reconciler")
    wanted = monitor["spec"]["selector"]["matchLabels"].items()
    scraped = [s for s in services if wanted <= s["metadata"]["labels"].items()]
    assert scraped == services
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["path"] == "/metrics"
        for service in scraped:
            assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}


def test_git_credential_helper_of_the_config_map_answers_with_the_token(tmp_path: Path) -> None:
    """Run git itself with the ConfigMap's GIT_CONFIG_* and a token from the Secret."""
    config = find_object("ConfigMap", "flyte-reconciler")["data"]
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_TOKEN": "s3cret-token",
        **{k: v for k, v in config.items() if k.startswith("GIT_CONFIG_")},
    }
    done = subprocess.run(
        ["git", "credential", "fill"],
        input="protocol=https\nhost=github.com\npath=your-org/flyte-manifests.git\n\n",
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "username=x-access-token\n" in done.stdout
    assert "password=s3cret-token\n" in done.stdout
