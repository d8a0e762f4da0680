"""Releases (issue #15): an environment is what its last promotion applied. Release 2 of the
fixture (tests/integration/release) changes a plain and a generated ConfigMap, a Secret and an
Ingress, adds a Deployment and drops a Service. With the real kubectl against the sandbox:
a failed or interrupted promotion puts every object back, a successful one prunes what it no
longer renders (as ``kubectl apply --prune --applyset`` sees the set), a rollback goes back
to a recorded release and forward again, and what the tool never applied is never deleted."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import REGISTRY, output
from test_application import use_app
from test_failures import error_line, start, wait_for

from globepay_tasks import applyset, audit, release
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION

RELEASE = Path(__file__).with_name("release")
BACKEND = f"{REGISTRY}/backend"
#: The kinds compared, and the tool's own objects left out of the comparison.
KINDS = (("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"),
         ("networking.k8s.io/v1", "Ingress"), ("apps/v1", "Deployment"))
VOLATILE = ("resourceVersion", "generation", "managedFields")


def use_release(project) -> None:
    """The fixture, each environment deploying its own overlay (no images carried: the
    v1 overlay's ``kubectl diff`` is then exactly what each environment should run)."""
    use_app(project, RELEASE)
    project.settings["promote_images"] = False


def set_release(project, env: str, version: str, *, broken: bool = False) -> None:
    """Point ``env``'s overlay at release ``version`` (``broken``: a backend image that
    cannot be pulled, and a rollout that waits long enough to be interrupted)."""
    text = (f"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
            f"namespace: {project.namespace(env)}\nresources:\n  - namespace.yaml\n"
            f"  - ../../{version}\n")
    if broken:
        text += (f"images:\n  - name: {BACKEND}\n    newTag: 9.9.9-broken\n"
                 "patches:\n  - patch: |-\n      apiVersion: apps/v1\n      kind: Deployment\n"
                 "      metadata:\n        name: backend\n      spec:\n"
                 "        progressDeadlineSeconds: 6000\n")
    (project.root / "release" / "overlays" / env / "kustomization.yaml").write_text(text)


def state(project, env: str) -> dict[str, dict]:
    """Every object of the compared kinds in ``env``'s namespace but the tool's own (history,
    lock, ApplySet parent), without status and what each write changes; a Deployment by its
    spec, labels and last-applied configuration (a rollback moves its revision on)."""
    found = {}
    for api_version, kind in KINDS:
        for obj in project.cluster.list(env, api_version, kind, project.namespace(env)):
            meta = obj["metadata"]
            if meta["name"].startswith("globepay-"):
                continue
            if kind == "Deployment":
                found[f"deployment/{meta['name']}"] = {
                    "spec": obj["spec"], "labels": meta.get("labels"),
                    "applied": (meta.get("annotations") or {}).get(LAST_APPLIED_ANNOTATION)}
                continue
            found[f"{kind.lower()}/{meta['name']}"] = {
                **{k: v for k, v in obj.items() if k != "status"},
                "metadata": {k: v for k, v in meta.items() if k not in VOLATILE}}
    return found


def names(project, env: str) -> set[str]:
    return set(state(project, env))


def generated(project, env: str) -> str:
    """The name of the generated ConfigMap ``env``'s backend reads now."""
    return next(name for name in names(project, env)
                if name.startswith("configmap/backend-config-"))


def record_ids(project, env: str) -> list[str]:
    """The history record ids of ``env``, newest first."""
    result = project.invoke("history", "--env", env, "--json")
    assert result.returncode == 0, output(result)
    return [record["id"] for record in json.loads(result.stdout)["records"]]


def deployed_v1(project) -> None:
    use_release(project)
    result = project.invoke("deploy-all", "--yes")
    assert result.returncode == 0, output(result)


def no_difference_from_v1(project, env: str) -> None:
    """``invoke diff`` of the v1 overlay (``kubectl diff`` of what a deploy would apply,
    without its noise) shows nothing."""
    set_release(project, env, "v1")
    result = project.invoke("diff", "--env", env)
    assert result.returncode == 0, output(result)
    assert "diff: no differences" in result.stdout, output(result)


def test_a_failed_promotion_puts_every_object_back(project):
    deployed_v1(project)
    for env in ("dev", "prod"):
        set_release(project, env, "v2")
    set_release(project, "staging", "v2", broken=True)
    before = state(project, "staging")
    old_config = generated(project, "staging")

    result = project.invoke("deploy-all", "--yes")

    assert result.returncode == 2, output(result)
    assert state(project, "staging") == before
    assert "deployment/worker" not in names(project, "staging")
    assert generated(project, "staging") == old_config  # the new one is gone
    text = result.stdout
    for line in ("restore: configmap/app-config", "restore: secret/api-credentials",
                 "restore: ingress/backend", "delete: deployment/worker (created by this run)",
                 "deployment/backend rolled back"):
        assert line in text, line
    assert "staging delete: deployment/worker (created by this run)" in text  # the summary
    line = error_line(result)
    assert "configmap/app-config" in line and "deployment/worker" in line
    assert "release-two-token" not in text  # a Secret's keys are named, never its values
    # dev was promoted: it keeps release 2
    dev = state(project, "dev")
    assert "deployment/worker" in dev and "service/legacy" not in dev
    assert dev["configmap/app-config"]["data"]["LOG_LEVEL"] == "trace"
    no_difference_from_v1(project, "staging")


def test_an_interrupted_promotion_puts_every_object_back(project):
    deployed_v1(project)
    set_release(project, "staging", "v2", broken=True)
    before = state(project, "staging")
    watching = project.watch_started("staging")
    process = start(project, "deploy", "--env", "staging")
    wait_for(watching)
    process.send_signal(signal.SIGINT)
    text, _ = process.communicate(timeout=60)

    assert process.returncode == 130, text
    assert "restore: configmap/app-config" in text
    assert "delete: deployment/worker (created by this run)" in text
    assert state(project, "staging") == before
    no_difference_from_v1(project, "staging")


def test_a_promotion_prunes_what_it_no_longer_renders_after_its_rollout(project):
    deployed_v1(project)
    namespace = project.namespace("dev")
    old_config = generated(project, "dev")
    handmade = project.kubectl("dev", "create", "configmap", "handmade", "-n", namespace,
                               "--from-literal=a=b")
    assert handmade.returncode == 0, handmade.stderr
    set_release(project, "dev", "v2")

    kept = project.invoke("deploy-dev", "--no-prune")

    assert kept.returncode == 0, output(kept)
    assert "plan: service/legacy: kept, no longer rendered" in kept.stdout
    assert f"dev kept: {old_config}, service/legacy" in kept.stdout
    assert {"service/legacy", old_config} <= names(project, "dev")
    diff = project.invoke("diff", "--env", "dev")
    assert diff.returncode == 0, output(diff)
    assert "prune service/legacy: delete, no longer rendered" in diff.stdout
    assert "last-applied-configuration" not in diff.stdout
    # every member carries the set's label; kubectl's own ApplySet pruning sees the same set
    set_id = applyset.set_id(namespace)
    legacy = project.cluster.get("dev", "v1", "Service", namespace, "legacy")
    assert legacy["metadata"]["labels"][applyset.PART_OF] == set_id
    parent = project.cluster.get("dev", "v1", "ConfigMap", namespace, applyset.PARENT)
    assert parent["metadata"]["labels"][applyset.ID_LABEL] == set_id
    rendered = project.root / "v2-dev.yaml"
    render = project.kubectl("dev", "kustomize", str(project.root / "release/overlays/dev"))
    rendered.write_text(render.stdout)
    environ = {**project.environ(), "KUBECTL_APPLYSET": "true"}
    dry = subprocess.run(
        [project.kubectl_bin, "--kubeconfig", str(project.kubeconfig), "--context",
         project.context("dev"), "apply", "-n", namespace, "--prune",
         f"--applyset=configmaps/{applyset.PARENT}", "-f", str(rendered), "--dry-run=server"],
        env=environ, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    pruned_by_kubectl = sorted(line.split()[0] for line in dry.stdout.splitlines()
                               if line.endswith("pruned (server dry run)"))
    assert pruned_by_kubectl == sorted([old_config, "service/legacy"]), dry.stdout

    result = project.invoke("deploy-dev")

    assert result.returncode == 0, output(result)
    assert "plan: service/legacy: delete, no longer rendered [prune]" in result.stdout
    text = result.stdout
    assert text.index("prune: deleted") > text.index("verified:")
    assert "service/legacy" not in names(project, "dev")
    assert old_config not in names(project, "dev")
    assert "configmap/handmade" in names(project, "dev")  # never applied by the tool


def test_a_pruned_object_held_by_a_finalizer_is_waited_for(project):
    deployed_v1(project)
    namespace = project.namespace("dev")
    held = project.kubectl("dev", "patch", "service", "legacy", "-n", namespace, "--type=merge",
                           "-p", '{"metadata": {"finalizers": ["example.com/hold"]}}')
    assert held.returncode == 0, held.stderr
    set_release(project, "dev", "v2")
    seen: list = []  # its deletionTimestamp, then when its finalizer was removed

    def release_it_once_deleting() -> None:  # a controller finishing its clean-up
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            legacy = project.cluster.get("dev", "v1", "Service", namespace, "legacy")
            if legacy is not None and legacy["metadata"].get("deletionTimestamp"):
                seen.append(legacy["metadata"]["deletionTimestamp"])
                time.sleep(1)
                project.kubectl("dev", "patch", "service", "legacy", "-n", namespace,
                                "--type=merge", "-p", '{"metadata": {"finalizers": null}}')
                seen.append(time.monotonic())
                return
            time.sleep(0.05)

    releaser = threading.Thread(target=release_it_once_deleting)
    releaser.start()
    try:
        result = project.invoke("deploy-dev")
        finished = time.monotonic()
    finally:
        releaser.join()

    assert result.returncode == 0, output(result)
    assert len(seen) == 2, "the Service was never seen held by its finalizer"
    assert finished > seen[1], "the run ended before the finalizer let the Service go"
    pruned = next(line for line in result.stdout.splitlines() if "prune: deleted" in line)
    assert "service/legacy" in pruned, output(result)
    assert "service/legacy" not in names(project, "dev")


def test_rollback_goes_back_to_the_earlier_release_and_forward_again(project):
    deployed_v1(project)
    v1 = state(project, "staging")
    service = project.root / "handmade.yaml"
    service.write_text("apiVersion: v1\nkind: Service\nmetadata:\n  name: handmade\nspec:\n"
                       "  ports:\n  - port: 80\n")
    handmade = project.kubectl("staging", "create", "-f", str(service), "-n",
                               project.namespace("staging"))
    assert handmade.returncode == 0, handmade.stderr
    set_release(project, "staging", "v2")
    assert project.invoke("deploy-staging").returncode == 0
    v2 = state(project, "staging")
    v2_record = record_ids(project, "staging")[0]
    assert "service/legacy" not in v2 and "deployment/worker" in v2

    with project.untouched("staging"):
        dry = project.invoke("rollback", "--env", "staging", "--dry-run")
    assert dry.returncode == 0, output(dry)
    assert "plan: service/legacy: create" in dry.stdout and "(dry run)" in dry.stdout

    back = project.invoke("rollback", "--env", "staging")

    assert back.returncode == 0, output(back)
    assert "rollback to release" in back.stdout
    assert "plan: deployment/worker: delete, no longer rendered" in back.stdout
    now = state(project, "staging")
    assert "deployment/worker" not in now and "service/legacy" in now
    for name in ("configmap/app-config", "secret/api-credentials", "ingress/backend"):
        assert {k: v for k, v in now[name].items() if k != "metadata"} == (
            {k: v for k, v in v1[name].items() if k != "metadata"}), name
    assert now["deployment/backend"]["spec"]["template"] == (
        v1["deployment/backend"]["spec"]["template"])
    assert "service/handmade" in now
    set_release(project, "staging", "v1")  # the plan reads what the rollback left
    plan_after = project.invoke("deploy", "--env", "staging", "--dry-run")
    assert plan_after.returncode == 0, output(plan_after)
    assert "0 to change, 0 to create, 8 unchanged" in plan_after.stdout, output(plan_after)

    forward = project.invoke("rollback", "--env", "staging", "--to-release", v2_record)

    assert forward.returncode == 0, output(forward)
    again = state(project, "staging")
    assert "deployment/worker" in again and "service/legacy" not in again
    assert again["configmap/app-config"]["data"] == v2["configmap/app-config"]["data"]
    assert again["secret/api-credentials"]["data"] == v2["secret/api-credentials"]["data"]
    assert "service/handmade" in again
    assert "release-two-token" not in forward.stdout


@pytest.mark.parametrize("flag", ["--to-revision=1", "--only=backend"])
def test_to_release_goes_alone(project, flag):
    use_release(project)
    result = project.invoke("rollback", "--env", "dev", "--to-release", "x", flag)
    assert result.returncode == 1
    assert "--to-release rolls back every object" in result.stderr


def test_history_records_keep_no_secret_value(project):
    deployed_v1(project)
    configmaps = project.cluster.list("dev", "v1", "ConfigMap", project.namespace("dev"))
    records = audit.records_in(configmaps)
    assert records and all(release.has_release(record) for record in records)
    text = json.dumps(records)
    assert "release-one-token" not in text
    assert base64.b64encode(b"release-one-token").decode() not in text
    assert "API_TOKEN" in text  # the key is named, with a hash of its value


def test_secret_values_read_to_restore_are_never_shown_or_recorded(project, tmp_path):
    """A failed promotion reads the Secret whole and puts it back; its values (given and
    base64) reach no output, report, history, ConfigMap or Lease: only the Secret beside the
    record holds them."""
    use_release(project)
    deployed = project.invoke("deploy-dev", "--report", str(tmp_path / "deployed.json"))
    assert deployed.returncode == 0, output(deployed)
    set_release(project, "dev", "v2", broken=True)
    failed = project.invoke("deploy-dev", "--report", str(tmp_path / "failed.json"))
    assert failed.returncode == 2, output(failed)
    assert "restore: secret/api-credentials" in failed.stdout
    namespace = project.namespace("dev")
    live = project.cluster.get("dev", "v1", "Secret", namespace, "api-credentials")
    assert base64.b64decode(live["data"]["API_TOKEN"]) == b"release-one-token"
    history = project.invoke("history", "--env", "dev", "--json")
    configmaps = project.cluster.list("dev", "v1", "ConfigMap", namespace)
    records = audit.records_in(configmaps)  # gzip-compressed in the ConfigMaps
    assert len(records) == 2 and "API_TOKEN" in json.dumps(records)  # named, with a hash
    texts = [output(deployed), output(failed), output(history),
             *((tmp_path / name).read_text() for name in ("deployed.json", "failed.json")),
             json.dumps([records, configmaps, project.cluster.list(
                 "dev", "coordination.k8s.io/v1", "Lease", namespace)])]
    for value in ("release-one-token", "release-two-token"):
        for form in (value, base64.b64encode(value.encode()).decode()):
            assert not [text for text in texts if form in text], form
    beside = [obj for obj in project.cluster.list("dev", "v1", "Secret", namespace)
              if obj["metadata"]["name"].startswith("globepay-history-")]
    assert [release.secret_values(obj)["api-credentials"] for obj in beside] == [
        {"stringData": {"API_TOKEN": "release-one-token"}}]


@pytest.mark.sandbox_only("the sandbox's request log")
def test_no_secret_is_read_when_the_overlay_renders_none(project):
    result = project.invoke("deploy-dev")
    assert result.returncode == 0, output(result)
    paths = [r.path for r in project.sandbox.requests if r.method == "GET"]
    assert any(path.endswith("/deployments") for path in paths)
    assert not [path for path in paths if "/secrets" in path]


@pytest.mark.sandbox_only("refuses one create of the apply, not of its dry run (sandbox faults)")
def test_a_first_apply_refused_part_way_leaves_nothing_it_created(project):
    use_release(project)
    project.sandbox.add_fault(method="PATCH", path=r"/namespaces/[^/]+/ingresses/backend$",
                              cluster="dev", status=422, dry_run=False)

    result = project.invoke("deploy-dev")

    assert result.returncode == 2, output(result)
    assert "apply failed" in error_line(result)
    assert names(project, "dev") == set()  # every object it had created is deleted
    assert "delete: deployment/backend (created by this run)" in result.stdout
    namespace = project.cluster.get("dev", "v1", "Namespace", None, project.namespace("dev"))
    assert namespace is not None  # the namespace stays, with the history of the attempt
