"""Whole applications (issue #14): the fixture application of tests/integration/app (a backend
Deployment, its PostgreSQL StatefulSet, a pre-deploy migration Job, a report CronJob, the
generated ConfigMap and Secret they read, Service, Ingress, autoscaler, disruption budget and
ServiceAccount) goes through dev -> staging -> prod (invoke -> real kubectl -> the sandbox or a
real cluster): the migration runs and completes before the Deployment changes, a failing
migration stops its environment before the Deployment is touched, the plan names every object
before the prod question, and a dry run shows the plan without writing."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from clusters import DEFAULT_REGISTRY
from conftest import CLUSTERS, REGISTRY, on_terminal, output
from test_failures import error_line

BACKEND = f"{REGISTRY}/backend"
APP = Path(__file__).with_name("app")
JOB = ("batch/v1", "Job")
MIGRATION = "database-migration"
#: Simulated seconds the sandbox takes to run the migration Job (sandbox annotation, from the
#: second round of test_three_rounds_through_the_chain on): 1.2 s of real time on its 20x clock,
#: longer than a kubectl call, so that a tool which did not wait for the Job would change the
#: Deployment before the Job completed, and more than the one-second resolution of timestamps.
SLOW_MIGRATION = 24


# -- the fixture ------------------------------------------------------------------------------

def use_app(project, source: Path = APP) -> None:
    """Deploy a fixture application (default: ``app/``) instead of the project's k8s/
    overlays: copied to the project under its own name (images under REGISTRY, the test's
    namespaces), each environment's ``overlay`` setting pointing at it (relative: from the
    project root), and the smoke checks limited to the backend (no frontend)."""
    root = project.root / source.name
    shutil.copytree(source, root)
    for path in root.rglob("*.yaml"):
        text = path.read_text()
        if REGISTRY != DEFAULT_REGISTRY:
            text = text.replace(f"{DEFAULT_REGISTRY}/", f"{REGISTRY}/")
        for env in CLUSTERS:
            if project.namespace(env) != f"globepay-{env}":
                text = text.replace(f" globepay-{env}\n", f" {project.namespace(env)}\n")
        path.write_text(text)
    for env in CLUSTERS:
        project.env_settings(env)["overlay"] = f"{source.name}/overlays/{env}"
    project.settings["smoke_checks"] = [
        {"service": "backend", "port": "http", "path": "/health/ready"}]


def overlay(project, env: str) -> Path:
    return project.root / "app" / "overlays" / env


def add_patch(project, env: str, filename: str, document: dict) -> None:
    """Add a strategic-merge patch to the copied overlay of ``env``."""
    (overlay(project, env) / filename).write_text(yaml.safe_dump(document, sort_keys=False))
    path = overlay(project, env) / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("patches", []).append({"path": filename})
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def annotate_migration(project, annotations: dict[str, str]) -> None:
    """Add annotations to the migration Job of the copied base (every environment)."""
    path = project.root / "app" / "base" / "database-migration-job.yaml"
    data = yaml.safe_load(path.read_text())
    data["metadata"].setdefault("annotations", {}).update(annotations)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def rendered(project, env: str) -> list[dict]:
    """The objects of the copied overlay of ``env``, as ``kubectl kustomize`` renders them."""
    result = subprocess.run([project.kubectl_bin, "kustomize", str(overlay(project, env))],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return [obj for obj in yaml.safe_load_all(result.stdout) if obj]


def deploy_all(project, tag: str, *args: str) -> subprocess.CompletedProcess:
    """``invoke deploy-all --yes --image backend=REGISTRY/backend:TAG ARGS``."""
    return project.invoke("deploy-all", "--yes", "--image", f"backend={BACKEND}:{tag}", *args)


# -- reading an environment -------------------------------------------------------------------

def get(project, env: str, api_version: str, kind: str, name: str) -> dict:
    found = project.cluster.get(env, api_version, kind, project.namespace(env), name)
    assert found is not None, f"{kind.lower()}/{name} missing in {env}"
    return found


def migration(project, env: str) -> dict:
    return get(project, env, *JOB, MIGRATION)


def migration_image(project, env: str) -> str:
    return migration(project, env)["spec"]["template"]["spec"]["containers"][0]["image"]


def cron_image(project, env: str) -> str:
    obj = get(project, env, "batch/v1", "CronJob", "report")
    return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["image"]


def condition(obj: dict, kind: str) -> str | None:
    """The status (``"True"``...) of ``obj``'s condition ``kind``; None: it has none."""
    for found in (obj.get("status") or {}).get("conditions") or ():
        if found.get("type") == kind:
            return found.get("status")
    return None


def newest_replicaset(project, env: str, deployment: str = "backend") -> dict:
    """The ReplicaSet of ``deployment`` with the highest revision."""
    owned = [rs for rs in project.cluster.list(env, "apps/v1", "ReplicaSet",
                                               project.namespace(env))
             if any(ref.get("kind") == "Deployment" and ref.get("name") == deployment
                    for ref in rs["metadata"].get("ownerReferences") or ())]
    assert owned, f"no ReplicaSet of deployment/{deployment} in {env}"
    return max(owned, key=lambda rs: int(
        rs["metadata"].get("annotations", {}).get("deployment.kubernetes.io/revision", "0")))


def timestamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def healthy(project, env: str) -> str:
    """What the built-in health gate, ``globepay_tasks.checks:healthy``, says of ``env`` now
    (it raises `CheckFailed` when a workload is not available)."""
    from invoke import Context

    from globepay_tasks.checks import check_health
    from globepay_tasks.config import DEFAULTS, load_settings
    from globepay_tasks.hooks import HookContext
    from globepay_tasks.progress import Progress
    from globepay_tasks.runner import Runner

    settings = load_settings({**DEFAULTS["globepay"], **project.settings})
    context = HookContext(settings=settings, env=settings.environment(env), previous=None,
                          phase="post", runner=Runner(Context()),
                          progress=Progress(io.StringIO(), color=False))
    return check_health(context, settings.environment(env))


def plan_lines(text: str, env: str) -> list[str]:
    """What follows ``plan:`` on the plan lines of ``env`` (``deployment/backend: change,
    backend 1.5.1 -> 1.5.2 [deploy]``)."""
    mark = f" {env:<8} plan: "
    return [line.split(mark, 1)[1] for line in text.splitlines() if mark in line]


# -- what the sandbox saw (sandbox only) ------------------------------------------------------

def index_of(records: list, start: int, matches) -> int | None:
    """Index of the first record at or after ``start`` that ``matches``; None: there is none."""
    return next((i for i in range(start, len(records)) if matches(records[i])), None)


def jobs_path(record) -> bool:
    return "/jobs" in record.path


def is_migration(record) -> bool:
    return record.path.endswith(f"/jobs/{MIGRATION}")


def created_migration(record) -> bool:
    """Created by the apply: a server-side apply of the Job (a PATCH that creates it)."""
    return (record.method == "PATCH" and record.path.endswith(f"/jobs/{MIGRATION}")
            and record.query.get("fieldManager") == "globepay-tasks")


def patched_backend(record) -> bool:
    return record.method == "PATCH" and record.path.endswith("/deployments/backend")


def check_job_replaced_and_waited_for_first(project, env: str) -> None:
    """In ``env``'s requests of a round: the Job DELETEd, then POSTed, then read (a watch or
    GET of jobs: the tool waiting for it), and only then deployments/backend PATCHed."""
    records = [r for r in project.sandbox.requests
               if r.cluster == env and r.query.get("dryRun") != "All"]
    deleted = index_of(records, 0, lambda r: r.method == "DELETE" and is_migration(r))
    assert deleted is not None, f"{env}: job/{MIGRATION} not deleted"
    created = index_of(records, deleted, created_migration)
    assert created is not None, f"{env}: job/{MIGRATION} not created after its deletion"
    patched = index_of(records, 0, patched_backend)
    assert patched is not None, f"{env}: deployments/backend not patched"
    assert created < patched, (
        f"{env}: deployments/backend PATCHed (request {patched}) before job/{MIGRATION} was "
        f"created again (request {created})")
    waited = index_of(records, created + 1, lambda r: r.method == "GET" and jobs_path(r))
    assert waited is not None and waited < patched, (
        f"{env}: no watch or GET of jobs between job/{MIGRATION}'s POST and "
        "deployments/backend's PATCH")


def check_discovery_cached(project, env: str) -> None:
    """No kubectl of a round asked ``env`` for its API discovery again: the first round
    filled kubectl's cache, and no argument (``ingress.v1.networking.k8s.io``, not
    ``ingress.networking.k8s.io``) made kubectl miss and refetch it."""
    fetched = [r.path for r in project.sandbox.requests
               if r.cluster == env and r.method == "GET" and r.path in ("/api", "/apis")]
    assert not fetched, f"{env}: kubectl fetched the discovery again: {fetched}"


class Changes:
    """Every change committed in the sandbox's clusters (their stores' events, in
    resourceVersion order per cluster) since `clear`: (rv, type, kind, name, object, old)."""

    def __init__(self, project) -> None:
        self.events: dict[str, list[tuple]] = {env: [] for env in CLUSTERS}
        for env in CLUSTERS:
            project.sandbox.store(env).subscribe(
                lambda event, seen=self.events[env]: seen.append(
                    (event.rv, event.type, event.rt.kind, event.name, event.obj, event.old)))

    def clear(self) -> None:
        for seen in self.events.values():
            seen.clear()

    def migration_completed(self, env: str) -> int:
        """resourceVersion at which the migration Job got its Complete condition."""
        for rv, _, kind, name, obj, old in self.events[env]:
            if (kind == "Job" and name == MIGRATION and condition(obj, "Complete") == "True"
                    and (old is None or condition(old, "Complete") != "True")):
                return rv
        raise AssertionError(f"{env}: job/{MIGRATION} did not complete in this round")

    def backend_changed(self, env: str) -> int:
        """resourceVersion of the first write of deployment/backend's spec (its creation or
        a new generation)."""
        for rv, kind_of_event, kind, name, obj, old in self.events[env]:
            if kind != "Deployment" or name != "backend":
                continue
            if kind_of_event == "ADDED" or (
                    old is not None and obj["metadata"].get("generation")
                    != old["metadata"].get("generation")):
                return rv
        raise AssertionError(f"{env}: deployment/backend did not change in this round")


@contextmanager
def no_changes(project, *envs: str) -> Iterator[None]:
    """Nothing but the promotion lock written in ``envs`` (each checked on its own, so that
    the locks a chain takes do not count)."""
    if not envs:
        yield
        return
    with project.untouched(envs[0], locks=False), no_changes(project, *envs[1:]):
        yield


# -- the tests --------------------------------------------------------------------------------

def test_three_rounds_through_the_chain(project):
    """Three releases through dev -> staging -> prod: in each environment the CronJob and the
    migration Job run the Deployment's image (staging and prod: dev's, pinned by digest), the
    migration completed, everything is healthy; and the Job was replaced, run and waited for
    before the Deployment changed (the request log, the order of the clusters' changes, the
    Job's completionTime against the new ReplicaSet's creationTimestamp)."""
    use_app(project)
    changes = Changes(project) if project.sandbox else None
    for round_number, tag in enumerate(("1.5.1", "1.5.2", "1.5.3"), start=1):
        if round_number == 2 and project.sandbox:
            annotate_migration(project, {
                "sandbox.globepay.dev/rollout-seconds": str(SLOW_MIGRATION)})
        if project.sandbox:
            project.sandbox.clear_requests()
            changes.clear()

        result = deploy_all(project, tag)

        assert result.returncode == 0, output(result)
        assert project.image("dev", "backend") == f"{BACKEND}:{tag}"
        pinned = project.image("staging", "backend")
        assert pinned.startswith(f"{BACKEND}:{tag}@sha256:"), pinned
        assert project.image("prod", "backend") == pinned
        for env in CLUSTERS:
            image = project.image(env, "backend")
            assert cron_image(project, env) == image, env
            assert migration_image(project, env) == image, env
            job = migration(project, env)
            assert condition(job, "Complete") == "True", (env, job.get("status"))
            assert "3 workloads available" in healthy(project, env)
            assert f"globepay_tasks.checks:healthy: {env}: 3 workloads available" \
                in result.stdout
            if project.sandbox and round_number > 1:
                check_job_replaced_and_waited_for_first(project, env)
                check_discovery_cached(project, env)
            if changes is not None:
                completed, changed = (changes.migration_completed(env),
                                      changes.backend_changed(env))
                assert completed < changed, (
                    f"round {round_number}, {env}: deployment/backend changed (rv {changed}) "
                    f"before job/{MIGRATION} completed (rv {completed})")
            # the migration completed before the Deployment's new ReplicaSet was created
            replicaset = newest_replicaset(project, env)
            assert timestamp(job["status"]["completionTime"]) <= timestamp(
                replicaset["metadata"]["creationTimestamp"]), (env, round_number)


def test_failing_migration_stops_the_environment(project):
    """The Job fails by its image on the sandbox and by its command on a real cluster (where
    migrate:1.0-broken exists: see images.txt); the Deployment is never touched."""
    use_app(project)
    first = deploy_all(project, "1.5.1")
    assert first.returncode == 0, output(first)
    add_patch(project, "dev", "broken-migration-patch.yaml", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": MIGRATION},
        "spec": {"template": {"spec": {"containers": [
            {"name": "migrate", "image": f"{REGISTRY}/migrate:1.0-broken",
             "command": ["false"]}]}}}})
    generation = project.deployment("dev", "backend")["metadata"]["generation"]

    with no_changes(project, "staging", "prod"):
        result = deploy_all(project, "1.5.2")

    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert f"job/{MIGRATION}" in line, line
    assert "BackoffLimitExceeded" in line or "ImagePullBackOff" in line \
        or "ErrImagePull" in line, line
    backend = project.deployment("dev", "backend")
    assert backend["metadata"]["generation"] == generation
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.1"
    assert migration_image(project, "dev") == f"{REGISTRY}/migrate:1.0-broken"
    if project.sandbox:
        assert not any(patched_backend(r) for r in project.writes("dev")), [
            (r.method, r.path) for r in project.changes("dev")]


def test_plan_lists_every_object_before_the_prompt_and_n_writes_nothing(project):
    use_app(project)
    objects = rendered(project, "prod")

    with project.untouched():
        code, text = on_terminal(project, "deploy-prod", "--overlay-images",
                                 env={**project.environ(), "TERM": "dumb"}, answer="n")

    assert code == 1, text
    question = text.index("Change prod")
    before = text[:question]
    missing = [f"{obj['kind'].lower()}/{obj['metadata']['name']}: create" for obj in objects
               if f"{obj['kind'].lower()}/{obj['metadata']['name']}: create" not in before]
    assert missing == [], before
    planned = plan_lines(before, "prod")
    for generated in ("ConfigMap", "Secret"):
        name = next(obj["metadata"]["name"] for obj in objects if obj["kind"] == generated)
        assert name.startswith(("backend-config-", "backend-secrets-")), name
        assert any(line.startswith(f"{generated.lower()}/{name}: create")
                   and line.endswith("[pre-deploy]") for line in planned), planned
    for used_first in (f"job/{MIGRATION}", "serviceaccount/backend"):  # the Job's own account
        assert any(line.startswith(f"{used_first}: create") and line.endswith("[pre-deploy]")
                   for line in planned), planned
    assert any(line.startswith("deployment/backend: create") and line.endswith("[deploy]")
               for line in planned), planned
    headers = [line for line in before.splitlines() if line.startswith("== prod")]
    assert headers, before
    assert "1 Deployment" in headers[-1] and "1 StatefulSet" in headers[-1], headers


def test_dry_run_shows_the_plan_and_writes_nothing(project):
    use_app(project)
    first = deploy_all(project, "1.5.1")
    assert first.returncode == 0, output(first)

    with project.untouched():
        result = project.invoke("deploy-all", "--dry-run", "--image",
                                f"backend={BACKEND}:1.5.2")

    assert result.returncode == 0, output(result)
    planned = plan_lines(result.stdout, "dev")
    for expected in (f"job/{MIGRATION}: replace", "deployment/backend: change",
                     "service/backend: unchanged"):
        assert any(line.startswith(expected) for line in planned), (expected, planned)
    assert any(line.startswith(f"job/{MIGRATION}: replace") and line.endswith("[pre-deploy]")
               for line in planned), planned


def test_a_refused_object_is_named(project):
    """A PodDisruptionBudget with both minAvailable and maxUnavailable: the API server refuses
    it (``The PodDisruptionBudget "backend" is invalid: spec: Invalid value: ...``)."""
    use_app(project)
    namespace = project.kubectl("dev", "apply", "-f",
                                str(overlay(project, "dev") / "namespace.yaml"))
    assert namespace.returncode == 0, namespace.stderr  # the server checks objects in it
    add_patch(project, "dev", "pdb-patch.yaml", {
        "apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
        "metadata": {"name": "backend"}, "spec": {"maxUnavailable": 1}})

    with project.untouched():
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1")

    assert result.returncode == 1, output(result)
    line = error_line(result)
    assert "preflight failed, nothing was changed" in line, line
    assert "poddisruptionbudget/backend" in line, line
    assert "minAvailable and maxUnavailable cannot be both set" in line, line


@pytest.mark.parametrize("env", CLUSTERS)
def test_the_fixture_renders_every_kind(project, env):
    """The fixture itself: every kind issue #14 names, in each overlay's namespace, the
    generated ConfigMap and Secret read by both the Deployment and the migration Job."""
    use_app(project)
    objects = rendered(project, env)
    kinds = sorted(obj["kind"] for obj in objects)
    assert kinds == sorted([
        "Namespace", "ServiceAccount", "ConfigMap", "Secret", "Service", "Service",
        "Deployment", "StatefulSet", "Job", "CronJob", "Ingress", "HorizontalPodAutoscaler",
        "PodDisruptionBudget"]), kinds
    by_kind = {obj["kind"]: obj for obj in objects}
    assert by_kind["Namespace"]["metadata"]["name"] == project.namespace(env)
    generated = {by_kind["ConfigMap"]["metadata"]["name"], by_kind["Secret"]["metadata"]["name"]}
    for kind in ("Deployment", "Job"):
        pod = by_kind[kind]["spec"]["template"]["spec"]
        refs = {ref.get("configMapRef", ref.get("secretRef", {})).get("name")
                for ref in pod["containers"][0]["envFrom"]}
        assert refs == generated, (kind, refs)
    assert by_kind["Job"]["metadata"]["annotations"]["globepay.dev/phase"] == "pre-deploy"
    assert by_kind["Deployment"]["spec"]["template"]["spec"]["serviceAccountName"] == "backend"
    assert by_kind["Ingress"]["spec"]["ingressClassName"] == "nginx"
