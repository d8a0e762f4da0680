"""The bad-input and fault catalogue (docs/failure-modes.md), one test per entry, end to end:
invoke -> the real kubectl -> the sandbox (or a real cluster). Each asserts one clear line
naming what to fix, the documented exit code, and that nothing changed or everything was rolled
back."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import yaml
from conftest import INVOKE, REGISTRY, on_terminal, output, report

from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION as LAST_APPLIED

BACKEND = f"{REGISTRY}/backend"
BROKEN = f"{BACKEND}:9.9.9-broken"
LEASE = ("coordination.k8s.io/v1", "Lease")
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


# -- helpers ---------------------------------------------------------------------------------

def deployed(project, env: str = "dev", *args: str) -> None:
    """``invoke deploy-ENV ARGS``, which must succeed."""
    result = project.invoke(f"deploy-{env}", *args)
    assert result.returncode == 0, output(result)


def seeded(project, env: str = "dev") -> None:
    """The env's overlay applied with plain kubectl and rolled out: the state a first deploy
    leaves (revision 1 everywhere), in a fraction of its time."""
    result = project.kubectl(env, "apply", "-k", str(project.root / "k8s" / "overlays" / env))
    assert result.returncode == 0, result.stderr

    def ready() -> bool:
        objects = [obj for kind in ("Deployment", "StatefulSet")
                   for obj in project.cluster.list(env, "apps/v1", kind, project.namespace(env))]
        return all(obj.get("status", {}).get("observedGeneration") == obj["metadata"]["generation"]
                   and obj["status"].get("readyReplicas", 0) == obj["spec"]["replicas"]
                   and obj["status"].get("updatedReplicas", 0) == obj["spec"]["replicas"]
                   and (obj["kind"] != "Deployment"
                        or obj["status"].get("availableReplicas", 0) == obj["spec"]["replicas"])
                   for obj in objects)

    wait_for(ready)


def error_line(result: subprocess.CompletedProcess) -> str:
    """The task's one error line (stderr must hold nothing else)."""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines[0]
    return lines[0]


def refused(project, code: int, *args: str, reads: bool = False) -> str:
    """``invoke ARGS`` must exit ``code`` without writing to any cluster (``reads``: without
    a request to any sandbox cluster); its error line."""
    with project.untouched(reads=reads):
        result = project.invoke(*args)
    assert result.returncode == code, output(result)
    return error_line(result)


def lease(project, env: str = "dev") -> dict | None:
    """The env's promotion Lease while a run holds it (None: no Lease, or a released one)."""
    found = project.cluster.get(env, *LEASE, project.namespace(env), "globepay-promotion")
    return found if found and found["spec"].get("holderIdentity") else None


def history(project, env: str = "dev") -> list[dict]:
    """The env's history records, newest first (``invoke history --json``)."""
    result = project.invoke("history", "--env", env, "--json")
    assert result.returncode == 0, output(result)
    return json.loads(result.stdout)["records"]


def versions(project, env: str = "dev") -> dict[str, str]:
    """resourceVersion of each Deployment: unchanged means not written."""
    return {obj["metadata"]["name"]: obj["metadata"]["resourceVersion"]
            for obj in project.cluster.list(env, "apps/v1", "Deployment",
                                            project.namespace(env))}


def cluster_writes(project, env: str | None = None) -> list:
    """Writes other than the promotion lock's own Lease."""
    return [r for r in project.writes(env) if "/leases" not in r.path]


def add_resource(project, env: str, filename: str, document: dict) -> None:
    """Add a manifest to a copied overlay's resources."""
    overlay = project.root / "k8s" / "overlays" / env
    (overlay / filename).write_text(yaml.safe_dump(document, sort_keys=False))
    path = overlay / "kustomization.yaml"
    data = yaml.safe_load(path.read_text())
    data["resources"].append(filename)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def set_progress_deadline(project, seconds: int) -> None:
    manifest = project.root / "k8s" / "base" / "backend-deployment.yaml"
    manifest.write_text(manifest.read_text().replace("progressDeadlineSeconds: 30",
                                                     f"progressDeadlineSeconds: {seconds}"))


def slow_rollout(project, sim_seconds: int) -> None:  # sandbox only: its annotation
    """Make the backend's rollouts take ``sim_seconds`` on the sandbox clock (20x real)."""
    set_progress_deadline(project, 6000)
    path = project.root / "k8s" / "base" / "backend-deployment.yaml"
    data = yaml.safe_load(path.read_text())
    data["metadata"].setdefault("annotations", {})[
        "sandbox.globepay.dev/rollout-seconds"] = str(sim_seconds)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def pod_template(name: str, image: str) -> dict:
    return {"metadata": {"labels": {"app.kubernetes.io/name": name}},
            "spec": {"containers": [{"name": name, "image": image}]}}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def micro_time(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def put_lease(project, holder: str, age: float, ttl: int, env: str = "dev",
              **annotations: str) -> dict:
    """A Lease held by ``holder`` (pid 4242, CI run 77; ``annotations``: more, by their name
    after ``globepay.dev/``)."""
    acquired = micro_time(datetime.now(timezone.utc) - timedelta(seconds=age))
    return project.cluster.put(env, {
        "apiVersion": LEASE[0], "kind": LEASE[1],
        "metadata": {"name": "globepay-promotion", "namespace": project.namespace(env),
                     "annotations": {"globepay.dev/pid": "4242", "globepay.dev/ci-run": "77",
                                     **{f"globepay.dev/{key.replace('_', '-')}": value
                                        for key, value in annotations.items()}}},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": ttl,
                 "acquireTime": acquired, "renewTime": acquired},
    })


def when_request(project, matches: Callable[[list], bool], action: Callable[[], None]
                 ) -> threading.Thread:
    """Run ``action`` once the sandbox's request log satisfies ``matches`` (polled; sandbox
    only)."""

    def watch() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if matches(project.sandbox.requests):
                action()
                return
            time.sleep(0.005)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


def start(project, *args: str) -> subprocess.Popen:
    """``invoke ARGS`` in the background (for signals and concurrent runs)."""
    project.write_config()
    return subprocess.Popen(
        [INVOKE, "-f", str(project.config_file), *args], cwd=project.root,
        env=project.environ(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        stdin=subprocess.DEVNULL)


def gate(started: Path, release: Path) -> str:
    """A hook command that says it started, then holds until ``release`` exists (60 s max)."""
    return (f"touch {started}; for i in $(seq 600); do [ -e {release} ] && exit 0; sleep 0.1; "
            "done")


def wait_for(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


def pointed_at(url: str, port: int) -> str:
    """``url`` pointed at 127.0.0.1:``port`` (scheme, credentials and path kept)."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


class _Ok(BaseHTTPRequestHandler):
    """Answers every GET with 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_ok() -> Iterator[str]:
    """URL of a local HTTP server that answers every GET with 200."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/health"
    finally:
        server.shutdown()
        server.server_close()


class Relay:
    """A TCP relay in front of the sandbox that can stop answering as a stopped (SIGSTOP) API
    server does: connections are still accepted and held open, nothing passes either way.
    What it held is dropped when it closes, never delivered late."""

    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.stopped, self.closed = threading.Event(), threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pass, args=(source, sink), daemon=True).start()

    def _pass(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                while self.stopped.is_set() and not self.closed.is_set():
                    time.sleep(0.05)
                if self.closed.is_set():
                    break
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            sock.close()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()


@pytest.fixture
def relay(project) -> Iterator[Relay]:
    """The sandbox reached through a `Relay` (the kubeconfig's server URLs point at it)."""
    relay = Relay(project.sandbox.port)
    address = "127.0.0.1:{}"
    text = project.kubeconfig.read_text()
    project.kubeconfig.write_text(text.replace(address.format(project.sandbox.port),
                                               address.format(relay.port)))
    try:
        yield relay
    finally:
        relay.close()


# -- usage and configuration: exit 1, nothing touched ------------------------------------------

def test_unknown_env(project):
    line = refused(project, 1, "deploy", "--env", "qa")
    assert "unknown environment 'qa' (configured: dev, prod, staging)" in line


def test_env_missing_from_order(project):
    project.settings["order"] = ["dev", "prod"]
    line = refused(project, 1, "deploy-staging")
    assert "staging is not in globepay.order" in line and "previous_healthy" in line


def test_overlay_path_missing(project):
    project.env_settings("dev")["overlay"] = "k8s/overlays/development"
    line = refused(project, 1, "deploy-dev")
    assert "k8s/overlays/development does not exist (set the environment's overlay)" in line


def test_overlay_that_does_not_build(project):
    path = project.root / "k8s/overlays/dev/kustomization.yaml"
    path.write_text(path.read_text().replace("- namespace.yaml", "- namespace.yml"))
    line = refused(project, 1, "deploy-dev")
    assert "does not build" in line and "namespace.yml" in line  # kustomize's own message


def test_invalid_yaml_in_invoke_yaml(project):
    (project.root / "invoke.yaml").write_text("globepay:\n  order: [dev, staging\n  x: 1\n")
    line = refused(project, 1, "deploy-dev")  # one line: no traceback
    assert "invalid YAML in" in line and "invoke.yaml line 3" in line


def test_unknown_config_key(project):
    project.env_settings("dev")["timout"] = 60
    line = refused(project, 1, "deploy-dev")
    assert "unknown configuration key globepay.environments.dev.timout" in line


def test_hook_of_unknown_type(project):
    project.env_settings("dev")["pre_promotion"] = [{"shell": "true"}]
    line = refused(project, 1, "deploy-dev")
    assert "pre_promotion[0] has unknown hook type" in line


def test_kubectl_not_found(project):
    project.settings["kubectl"] = str(project.root / "bin" / "kubectl")
    line = refused(project, 1, "deploy-dev")
    assert "kubectl not found" in line and "globepay.kubectl" in line


def test_kube_context_missing(project):
    project.env_settings("dev")["context"] = "globepay-qa"
    line = refused(project, 1, "deploy-dev")
    assert "kube context 'globepay-qa' is not in the kubeconfig" in line
    assert f"it has: {', '.join(project.kubeconfig_contexts())})" in line


def test_api_server_unreachable(project):
    kubeconfig = project.root / "unreachable-kubeconfig"
    document = project.kubeconfig_document()
    port = closed_port()
    for entry in document["clusters"]:
        entry["cluster"]["server"] = pointed_at(entry["cluster"]["server"], port)
    kubeconfig.write_text(yaml.safe_dump(document))
    project.settings["kubeconfig"] = str(kubeconfig)
    project.settings["retries"] = {"attempts": 2, "backoff": 0.1}
    with project.untouched(reads=True):
        result = project.invoke("deploy-dev")
    assert result.returncode == 1
    line = error_line(result)
    assert f"in {project.namespace('dev')} failed" in line and "was refused" in line
    assert "kubectl get retried in 0.1s (attempt 2 of 2)" in result.stdout
    for secret in project.credentials():
        assert secret not in output(result)


def test_namespace_mismatch_in_a_rendered_object(project):
    dev, staging = project.namespace("dev"), project.namespace("staging")
    path = project.root / "k8s/overlays/dev/kustomization.yaml"
    path.write_text(path.read_text().replace(f"namespace: {dev}\n", f"namespace: {staging}\n"))
    line = refused(project, 1, "deploy-dev", reads=True)
    assert f"Namespace '{staging}', but the environment's namespace is '{dev}'" in line


def test_previous_environment_runs_nothing_to_receive(project):
    line = refused(project, 1, "deploy-staging")
    assert (f"staging receives the images dev runs (promote_images), but dev runs no workloads "
            f"(namespace {project.namespace('dev')}); nothing was changed: deploy dev first, or "
            "pass --overlay-images to apply staging's overlay as it is") in line


def test_previous_environment_not_healthy(project):
    seeded(project, "dev")
    seeded(project, "staging")
    left = project.invoke("deploy-dev", "--no-rollback", "--image", f"backend={BROKEN}")
    assert left.returncode == 2, output(left)
    line = refused(project, 1, "deploy-staging")
    assert "staging receives the images dev runs (promote_images), but dev is not healthy " \
           '(deployment/backend: error: deployment "backend" exceeded its progress deadline)' \
           in line and "--overlay-images" in line
    assert "1.4.1" in project.image("staging", "backend")


# -- failed rollouts: exit 2, rolled back ------------------------------------------------------

def test_object_rejected_by_the_server_is_refused_in_preflight(project):
    seeded(project)
    add_resource(project, "dev", "bad.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "bad"},
        "data": {"a": "b"}, "spec": {"replicas": 1}})
    with project.untouched():
        result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 1, output(result)
    line = error_line(result)
    assert "preflight failed, nothing was changed: dev: configmap/bad would be rejected" in line
    assert 'unknown field "spec"' in line


@pytest.mark.sandbox_only("refuses the apply's create but not its dry run (sandbox faults)")
def test_object_rejected_by_the_server_on_apply(project):
    """Accepted by the preflight's dry run, refused by the real write (an admission webhook
    or a quota can decide differently between the two)."""
    seeded(project)
    good = project.image("dev", "backend")
    frontend = project.cluster.get("dev", "apps/v1", "Deployment", project.namespace("dev"),
                                   "frontend")
    add_resource(project, "dev", "extra.yaml", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra"},
        "data": {"a": "b"}})
    project.sandbox.add_fault(method="PATCH", path="/namespaces/globepay-dev/configmaps/extra$",
                              cluster="dev", status=422, dry_run=False)
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert "apply failed" in line
    assert "rolled back deployment/backend" in line
    assert project.image("dev", "backend") == good
    # the apply labelled it as a member of the ApplySet; it is put back as it was
    assert "restore: deployment/frontend" in result.stdout
    now = project.cluster.get("dev", "apps/v1", "Deployment", project.namespace("dev"),
                              "frontend")
    assert now["spec"] == frontend["spec"]
    assert now["metadata"]["labels"] == frontend["metadata"]["labels"]
    assert (now["metadata"]["annotations"][LAST_APPLIED]
            == frontend["metadata"]["annotations"][LAST_APPLIED])
    assert lease(project) is None


def test_rollout_timeout(project):
    set_progress_deadline(project, 6000)
    seeded(project)
    good = project.image("dev", "backend")
    project.env_settings("dev")["timeout"] = 2
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert "deployment/backend did not roll out: error: timed out waiting for the condition" \
        in line and "rolled back deployment/backend" in line
    assert project.image("dev", "backend") == good
    assert lease(project) is None


def test_progress_deadline_exceeded(project):
    seeded(project)
    good = project.image("dev", "backend")
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert 'deployment "backend" exceeded its progress deadline' in line
    assert "rolled back deployment/backend" in line
    assert project.image("dev", "backend") == good
    assert lease(project) is None


def test_statefulset_never_ready(project):
    image = f"{REGISTRY}/cache:7.2.0"
    add_resource(project, "dev", "cache.yaml", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cache"},
        "spec": {"serviceName": "cache", "replicas": 1,
                 "selector": {"matchLabels": {"app.kubernetes.io/name": "cache"}},
                 "template": pod_template("cache", image)}})
    seeded(project)
    project.env_settings("dev")["timeout"] = 3
    result = project.invoke("deploy-dev", "--image", f"cache={REGISTRY}/cache:7.3.0-broken")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert "statefulset/cache did not roll out" in line and "timed out" in line
    assert "rolled back statefulset/cache" in line
    sts = project.cluster.get("dev", "apps/v1", "StatefulSet", project.namespace("dev"), "cache")
    assert sts["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_job_failed(project):
    """The Job fails by its image on the sandbox and by its command on a real cluster (where
    this "broken" image exists: see images.txt)."""
    seeded(project)
    good = project.image("dev", "backend")
    image = f"{REGISTRY}/migrate:1.0-broken"
    add_resource(project, "dev", "migrate.yaml", {
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "migrate"},
        "spec": {"backoffLimit": 1, "template": {
            **pod_template("migrate", image),
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "migrate", "image": image, "command": ["false"]}
            ]}}}})
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert 'job/migrate did not roll out: job "migrate" failed' in line
    assert ('; job/migrate: BackoffLimitExceeded: Job has reached the specified backoff limit'
            in line)
    assert "rolled back deployment/backend" in line
    assert "delete: job/migrate (created by this run)" in result.stdout
    assert ("job/migrate: created by this run and deleted; what it ran stays done"
            in result.stdout)
    assert project.cluster.get("dev", "batch/v1", "Job", project.namespace("dev"),
                               "migrate") is None
    assert project.image("dev", "backend") == good


# -- hooks: exit 3 ----------------------------------------------------------------------------

def test_pre_hook_exits_non_zero(project):
    project.env_settings("dev")["pre_promotion"] = [["sh", "-c", "exit 3"]]
    line = refused(project, 3, "deploy-dev")
    assert "pre-promotion hook 'sh -c exit 3' failed: exited 3; nothing was changed" in line


def test_post_hook_exits_non_zero(project):
    seeded(project)
    good = project.image("dev", "backend")
    project.env_settings("dev")["post_promotion"] = ["exit 4"]
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 3
    line = error_line(result)
    assert "post-promotion hook 'exit 4' failed: exited 4" in line
    assert "rolled back deployment/backend" in line
    assert result.stdout.splitlines()[-1] == (
        "next: fix what the failed hook reports (above), check with invoke status --env dev, "
        "then run it again")
    assert project.image("dev", "backend") == good
    assert lease(project) is None


def test_hook_command_not_found(project):
    project.env_settings("dev")["pre_promotion"] = [["globepay-no-such-command", "--check"]]
    line = refused(project, 3, "deploy-dev")
    assert "command not found" in line and "nothing was changed" in line


def test_http_hook_unreachable_or_wrong_status(project, http_ok):
    dev = project.env_settings("dev")
    dev["pre_promotion"] = [{"http": f"http://127.0.0.1:{closed_port()}/health", "timeout": 1}]
    line = refused(project, 3, "deploy-dev")
    assert "unreachable" in line and "refused" in line
    dev["pre_promotion"] = [{"http": http_ok, "expect": 204}]
    line = refused(project, 3, "deploy-dev")
    assert "HTTP 200, expected 204; nothing was changed" in line


def test_hook_timeout(project):
    project.env_settings("dev")["pre_promotion"] = [{"run": "sleep 30", "timeout": 1}]
    started = time.monotonic()
    line = refused(project, 3, "deploy-dev")
    assert "'sleep 30' failed: timed out after 1s; nothing was changed" in line
    assert time.monotonic() - started < 15


# -- the lock: exit 5 --------------------------------------------------------------------------

def test_lock_held(project):
    seeded(project)
    before = versions(project)
    held = put_lease(project, "alice@ci-runner-7", age=75, ttl=600)
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 5, output(result)
    line = error_line(result)
    assert re.search(r"dev is locked by alice@ci-runner-7 \(pid 4242, CI run 77\) for 1m\d\ds "
                     r"\(TTL 10m00s\)", line), line
    assert "invoke unlock --env dev" in line
    assert versions(project) == before
    assert lease(project)["metadata"]["resourceVersion"] == held["metadata"]["resourceVersion"]

    # renewed within its TTL: its run may be alive
    line = refused(project, 5, "unlock", "--env", "dev")
    assert re.search(r"dev is locked by alice@ci-runner-7 \(pid 4242, CI run 77\) for 1m\d\ds "
                     r"\(TTL 10m00s\), since \S+Z, renewed 1m\d\ds ago: its promotion may "
                     r"still be running .*`invoke unlock --env dev --force`", line), line
    line = refused(project, 1, "unlock", "--env", "dev", "--force")
    assert "needs confirmation: pass --yes (no terminal to ask on)" in line
    code, text = on_terminal(project, "unlock", "--env", "dev", "--force",
                             env={**project.environ(), "TERM": "dumb"}, answer="n")
    assert code == 1, text
    assert "Remove the lock of dev held by alice@ci-runner-7 (pid 4242, CI run 77)" in text
    assert "dev: not confirmed, nothing was removed" in text
    assert lease(project)["metadata"]["resourceVersion"] == held["metadata"]["resourceVersion"]
    result = project.invoke("unlock", "--env", "dev", "--force", "--yes")
    assert result.returncode == 0, output(result)
    assert "removed the lock held by alice@ci-runner-7" in result.stdout
    assert lease(project) is None
    deployed(project, "dev", "--image", f"backend={BACKEND}:1.7.0")


@pytest.mark.sandbox_only("counts the sandbox's requests")
def test_the_lock_is_written_without_fetching_openapi_documents(project):
    """The Lease is the tool's own body: kubectl writes it without first fetching the
    server's OpenAPI index and the group's document for field validation (only the record's
    client-side apply, which releases the lock, needs the document for its patch)."""
    seeded(project)
    project.sandbox.clear_requests()
    deployed(project, "dev", "--image", f"backend={BACKEND}:1.7.0")
    dev = [r for r in project.sandbox.requests if r.cluster == "dev"]
    written = [r for r in dev if r.method in ("POST", "PUT") and "/leases" in r.path]
    fetched = [r for r in dev if r.path == "/openapi/v3/apis/coordination.k8s.io/v1"]
    assert len(written) >= 2 and len(fetched) <= 1, (len(written), len(fetched))


def test_unlock_of_a_dead_lock_needs_no_force(project):
    seeded(project)
    put_lease(project, "bob@laptop", age=3600, ttl=300)
    result = project.invoke("unlock", "--env", "dev")
    assert result.returncode == 0, output(result)
    assert "removed the lock held by bob@laptop (pid 4242, CI run 77) for 1h00m" in result.stdout
    assert lease(project) is None


def test_a_run_whose_lock_was_forced_away_stops_before_its_next_write(project, tmp_path):
    """unlock --force --yes of a running deploy, then a second deploy succeeds; the first,
    its post hook failing after that, stops before rolling back (exit 5): the second's image
    and history record stay."""
    seeded(project)
    started, release = tmp_path / "started", tmp_path / "release"
    project.env_settings("dev")["post_promotion"] = [  # as gate(), then fails
        f"touch {started}; for i in $(seq 600); do [ -e {release} ] && break; sleep 0.1; "
        "done; exit 1"]
    first = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    try:
        wait_for(started.exists)
        project.env_settings("dev")["post_promotion"] = []
        assert project.invoke("unlock", "--env", "dev").returncode == 5
        forced = project.invoke("unlock", "--env", "dev", "--force", "--yes")
        assert forced.returncode == 0, output(forced)
        assert "removed the lock held by " in forced.stdout
        assert f"(pid {first.pid})" in forced.stdout
        second = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.8.0")
        assert second.returncode == 0, output(second)
        records = history(project)
        assert records[0]["outcome"] == "succeeded"
    finally:
        release.touch()  # the first run's hook ends, whatever happened above
    text, _ = first.communicate(timeout=60)
    assert first.returncode == 5, text
    assert "dev: this run's lock (lease globepay-dev/globepay-promotion) was removed while it " \
        "ran: stopped before rolling back; nothing of this run was rolled back" in text
    assert "history: not recorded: this run's lock was removed" in text
    assert project.image("dev", "backend") == f"{BACKEND}:1.8.0"
    assert history(project) == records
    assert lease(project) is None


def test_a_chain_holds_the_locks_of_all_its_environments(project, tmp_path):
    assert project.invoke("deploy-all", "--yes").returncode == 0
    started, release = tmp_path / "started", tmp_path / "release"
    project.env_settings("dev")["post_promotion"] = [gate(started, release)]
    chain = start(project, "deploy-all", "--yes", "--image", f"backend={BACKEND}:1.7.0")
    try:
        wait_for(started.exists)
        project.env_settings("dev")["post_promotion"] = []
        before = versions(project, "prod")
        other = project.invoke("deploy-prod", "--yes", "--image", f"backend={BACKEND}:1.8.0")
        assert other.returncode == 5, output(other)
        assert "prod is locked by" in error_line(other)
        assert versions(project, "prod") == before
    finally:
        release.touch()
    text, _ = chain.communicate(timeout=120)
    assert chain.returncode == 0, text
    assert project.image("prod", "backend") == project.image("staging", "backend")
    assert "1.8.0" not in project.image("prod", "backend")
    assert all(lease(project, env) is None for env in ("dev", "staging", "prod"))


def test_a_chain_stops_before_dev_when_prod_is_locked(project):
    assert project.invoke("deploy-all", "--yes").returncode == 0
    before = {env: versions(project, env) for env in ("dev", "staging")}
    put_lease(project, "alice@ci-runner-7", age=10, ttl=600, env="prod")
    result = project.invoke("deploy-all", "--yes", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 5, output(result)
    assert "prod is locked by alice@ci-runner-7" in error_line(result)
    assert {env: versions(project, env) for env in ("dev", "staging")} == before
    assert lease(project, "dev") is None and lease(project, "staging") is None
    assert lease(project, "prod")["spec"]["holderIdentity"] == "alice@ci-runner-7"


@pytest.mark.sandbox_only("fires on a request in the sandbox's request log, counts requests")
def test_lock_changed_since_the_environment_was_read(project):
    """Another run takes and releases the lock between this run's read and its take: the
    take is refused (Conflict), the environment is read again and the run goes on."""
    seeded(project)
    sandbox = project.sandbox
    sandbox.clear_requests()

    def read_dev(requests: list) -> bool:
        return any(r.method == "GET" and r.path.endswith("/leases") and r.cluster == "dev"
                   for r in requests)

    def other_run() -> None:
        put_lease(project, "bob@laptop", age=0, ttl=60)
        put_lease(project, "", age=0, ttl=60)  # ...and released it again

    project.env_settings("dev")["pre_promotion"] = ["sleep 1"]
    when_request(project, read_dev, other_run)
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    takes = [(r.method, r.status) for r in sandbox.writes("dev") if "/leases" in r.path
             and r.method in ("POST", "PUT")]
    reads = [r for r in sandbox.requests if r.cluster == "dev" and r.method == "GET"
             and r.path.endswith("/leases")]
    # no Lease when read: created, refused (bob's is there now), read again, taken from it;
    # then renewed before the apply and before the record
    assert takes == [("POST", 409), *[("PUT", 200)] * 3] and len(reads) == 2
    # seeded by plain kubectl: each object gains the label of the environment's ApplySet
    assert "plan: read again: 5 to change, 0 to create, 1 unchanged" in result.stdout
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"
    assert lease(project) is None


def test_stale_lock_taken_over(project):
    seeded(project)
    put_lease(project, "bob@laptop", age=3600, ttl=300)
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    assert "took over a stale lock: it was held by bob@laptop (pid 4242, CI run 77) for " \
        "1h00m (TTL 5m00s)" in result.stdout
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"
    assert lease(project) is None


def test_lock_of_a_killed_run_taken_over_at_once(project, tmp_path):
    """kill -9 leaves the run's Lease held for its TTL; the next run on this host finds the
    holder's process gone and takes the lock over at once, with a warning."""
    seeded(project)
    started, release = tmp_path / "started", tmp_path / "release"
    project.env_settings("dev")["post_promotion"] = [gate(started, release)]
    first = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    wait_for(started.exists)
    first.kill()
    first.communicate(timeout=30)
    release.touch()  # the hook it left behind ends
    annotations = lease(project)["metadata"]["annotations"]
    assert annotations["globepay.dev/pid"] == str(first.pid)
    assert annotations["globepay.dev/host"] == socket.gethostname()
    assert annotations["globepay.dev/boot-id"] == BOOT_ID.read_text().strip()
    project.env_settings("dev")["post_promotion"] = []
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.8.0")
    assert result.returncode == 0, output(result)
    assert re.search(rf"took over a stale lock: it was held by \S+ \(pid {first.pid}\) for "
                     rf"\d+s \(TTL \S+\), its process \(pid {first.pid}\) no longer runs on "
                     "this host", result.stdout), result.stdout
    assert project.image("dev", "backend") == f"{BACKEND}:1.8.0"
    assert lease(project) is None


def test_lock_from_before_this_hosts_boot_taken_over_at_once(project):
    seeded(project)
    put_lease(project, "bob@here", age=10, ttl=600, host=socket.gethostname(),
              boot_id="00000000-0000-0000-0000-000000000000")
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    assert re.search(r"took over a stale lock: it was held by bob@here \(pid 4242, CI run 77\) "
                     r"for \d+s \(TTL 10m00s\), its host has restarted since", result.stdout)
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"


def test_a_long_promotion_renews_its_lock(project, tmp_path):
    seeded(project)
    started, release = tmp_path / "started", tmp_path / "release"
    project.settings["lock"] = {"ttl_margin": 0}
    dev = project.env_settings("dev")
    dev["timeout"] = 2  # a TTL of 2 s, renewed every second
    dev["post_promotion"] = [gate(started, release)]
    first = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    wait_for(started.exists)
    time.sleep(3)
    dev["post_promotion"] = []
    second = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.8.0")
    release.touch()
    text, _ = first.communicate(timeout=60)
    assert first.returncode == 0, text
    assert second.returncode == 5, output(second)
    assert "(TTL 2s)" in error_line(second)
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"
    assert lease(project) is None


# -- rollback input: exit 1 --------------------------------------------------------------------

def test_rollback_with_no_history(project):
    seeded(project)
    before = versions(project)
    result = project.invoke("rollback", "--env", "dev")
    assert result.returncode == 1
    line = error_line(result)
    assert "nothing could be rolled back" in line and "no rollout history found" in line
    assert versions(project) == before
    assert lease(project) is None


def test_to_revision_not_in_history(project):
    seeded(project)
    deployed(project, "dev", "--image", f"backend={BACKEND}:1.7.0")
    before = versions(project)
    result = project.invoke("rollback", "--env", "dev", "--only", "backend",
                            "--to-revision", "99")
    assert result.returncode == 1
    assert "unable to find specified revision 99 in history" in error_line(result)
    result = project.invoke("rollback", "--env", "dev", "--to-revision", "1;2")
    assert result.returncode == 1
    assert error_line(result) == "error: --to-revision '1;2' must be a whole number"
    assert versions(project) == before


def test_only_naming_a_workload_the_env_does_not_have(project):
    seeded(project)
    line = refused(project, 1, "rollback", "--env", "dev", "--only", "payments")
    assert "--only payments: dev has no workload 'payments'" in line


# -- transient faults: survived -----------------------------------------------------------------

@pytest.mark.sandbox_only("injects 5xx answers (sandbox faults)")
def test_5xx_bursts_during_apply_and_during_wait_survived(project):
    seeded(project)
    project.settings["retries"] = {"attempts": 3, "backoff": 0.1}
    sandbox = project.sandbox
    sandbox.clear_requests()
    sandbox.add_fault(method="PATCH", path=r"/deployments/backend$", cluster="dev", status=503,
                      count=2, dry_run=False)

    def captured_after_apply(requests: list) -> bool:
        """The apply has patched the backend: the next request for the Deployment list is
        the wait's watch (the apply's answer is the state after it)."""
        return any(r.method == "PATCH" and r.path.endswith("/deployments/backend")
                   and r.query.get("dryRun") != "All" for r in requests)

    when_request(project, captured_after_apply, lambda: sandbox.add_fault(
        method="GET", path=r"/deployments$", cluster="dev", status=500, count=1))
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    text = result.stdout
    assert "injected fault (503)" in text and "kubectl apply retried in" in text, text
    assert "(attempt 3 of 3)" in text
    assert "(InternalError)" in text and "kubectl get resumed in" in text
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"


@pytest.mark.sandbox_only("cuts watches (sandbox faults) and slows its simulated rollouts")
def test_watch_dropped_mid_wait_survived(project):
    seeded(project)
    slow_rollout(project, 40)
    sandbox = project.sandbox
    sandbox.clear_requests()

    def captured_after_apply(requests: list) -> bool:
        """The apply has patched the backend: the next request for the Deployment list is
        the wait's watch (the apply's answer is the state after it)."""
        return any(r.method == "PATCH" and r.path.endswith("/deployments/backend")
                   and r.query.get("dryRun") != "All" for r in requests)

    when_request(project, captured_after_apply, lambda: sandbox.add_fault(
        method="GET", path=r"/deployments$", cluster="dev", status=None, close=True, count=2))
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    assert result.returncode == 0, output(result)
    reads = [r for r in sandbox.requests if r.method == "GET" and r.path.endswith("/deployments")]
    assert len(reads) >= 3  # two cut short, then the one that saw the rollouts through
    assert "kubectl get resumed in" in result.stdout
    assert "ready: deployment/backend" in result.stdout
    assert project.image("dev", "backend") == f"{BACKEND}:1.7.0"


@pytest.mark.sandbox_only("stops answering through a relay in front of the sandbox")
def test_api_server_hung_during_the_wait(project, relay):
    """The API server stops answering while dev's rollout is watched: every kubectl call ends
    within the request timeout, the line says the server is not answering, the rollback that
    cannot reach it exits 4, and no image is marked bad."""
    seeded(project)
    slow_rollout(project, 400)  # 20 s: still rolling out when the server stops
    project.settings["request_timeout"] = 3
    project.env_settings("dev")["timeout"] = 8
    watching = project.watch_started("dev")
    started = time.monotonic()
    process = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    wait_for(watching)
    time.sleep(0.5)
    relay.stopped.set()
    text, _ = process.communicate(timeout=150)
    took = time.monotonic() - started
    relay.close()  # what the run sent meanwhile never arrives
    assert process.returncode == 4, text
    assert "rollout outcome unknown" in text and "API server not answering" in text, text
    assert "ROLLBACK FAILED in dev" in text and "NotFound" not in text
    assert took < 50, text  # 8 s of wait, then a few calls of at most 3 + 2 s each
    assert "marked bad" not in text
    assert "could not release the lock" in text and "invoke unlock --env dev" in text
    namespace = project.namespace("dev")
    assert project.cluster.get("dev", "v1", "ConfigMap", namespace, "globepay-bad-images") is None
    assert list(project.kubectl_processes().values()) == []


# -- interruption: exit 130, rolled back, lock released -----------------------------------------

def test_sigint_mid_wait(project):
    set_progress_deadline(project, 6000)
    seeded(project)
    good = project.image("dev", "backend")
    watching = project.watch_started("dev")
    process = start(project, "deploy-dev", "--image", f"backend={BROKEN}")
    wait_for(watching)
    time.sleep(0.3)
    process.send_signal(signal.SIGINT)
    text, _ = process.communicate(timeout=60)
    assert process.returncode == 130, text
    assert "interrupted" in text and "rolled back deployment/backend" in text
    assert f"state: deployment/backend: revision 3, 1/1 updated, 1 available, {good}" in text
    assert "lock: released" in text
    assert project.image("dev", "backend") == good
    assert lease(project) is None
    assert list(project.kubectl_processes().values()) == []


@pytest.mark.sandbox_only("holds the rollback's undo (sandbox faults)")
def test_a_second_interrupt_during_the_rollback(project):
    """The first SIGINT starts the rollback; a second one, while the rollback's undo is held
    by the server, stops it: exit 4, the environment named as needing attention."""
    set_progress_deadline(project, 6000)
    seeded(project)
    watching = project.watch_started("dev")
    process = start(project, "deploy-dev", "--image", f"backend={BROKEN}")
    wait_for(watching)
    project.sandbox.add_fault(method="PATCH", path=r"/deployments/backend$", cluster="dev",
                              status=None, latency=3, dry_run=False)
    process.send_signal(signal.SIGINT)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    text, _ = process.communicate(timeout=60)
    project.sandbox.clear_faults()
    assert process.returncode == 4, text
    assert "ROLLBACK INTERRUPTED in dev (namespace globepay-dev)" in text
    assert "needs attention" in text and "invoke status --env dev" in text
    assert list(project.kubectl_processes().values()) == []


def test_sigterm_mid_hook(project, tmp_path):
    seeded(project)
    good = project.image("dev", "backend")
    marker = tmp_path / "hook.pid"
    project.env_settings("dev")["post_promotion"] = [f"echo $$ > {marker}; exec sleep 60"]
    process = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    wait_for(lambda: marker.exists() and marker.read_text().strip())
    hook_pid = int(marker.read_text())
    process.send_signal(signal.SIGTERM)
    text, _ = process.communicate(timeout=60)
    assert process.returncode == 130, text
    assert "interrupted" in text and "rolled back deployment/backend" in text
    assert f"state: deployment/backend: revision 3, 1/1 updated, 1 available, {good}" in text
    assert project.image("dev", "backend") == good
    assert lease(project) is None
    try:
        os.kill(hook_pid, 0)
    except ProcessLookupError:
        pass
    else:
        raise AssertionError(f"the hook (pid {hook_pid}) is still running")


def records(project, env: str = "dev") -> list[dict]:
    """The env's history records, newest first (``invoke history --json``)."""
    result = project.invoke("history", "--env", env, "--json")
    assert result.returncode == 0, output(result)
    return json.loads(result.stdout)["records"]


@pytest.mark.sandbox_only("slows the apply's PATCH (sandbox faults)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_interrupt_while_the_apply_writes(project, sig):
    """The signal arrives while the server holds the apply's PATCH (6 s): the run waits for
    its answer, then undoes what it changed; nothing lands after the run has ended."""
    seeded(project)
    good, revision = project.image("dev", "backend"), project.revision("dev", "backend")
    sandbox = project.sandbox
    sandbox.clear_requests()
    sandbox.add_fault(method="PATCH", path=r"/deployments/backend$", cluster="dev", status=None,
                      latency=6, count=1, dry_run=False)
    process = start(project, "deploy-dev", "--image", f"backend={BACKEND}:1.7.0")
    wait_for(lambda: any(r.method == "PATCH" and r.path.endswith("/deployments/backend")
                         and r.query.get("dryRun") != "All" for r in sandbox.requests))
    time.sleep(1.5)
    process.send_signal(sig)
    text, _ = process.communicate(timeout=90)
    assert process.returncode == 130, text
    assert "nothing this run changed to undo" not in text
    assert "rolled back deployment/backend" in text, text
    time.sleep(7)  # past the PATCH's latency: nothing the run sent is still to land
    assert project.image("dev", "backend") == good
    assert int(project.revision("dev", "backend")) > int(revision)  # the undo's revision
    assert lease(project) is None
    newest = records(project)[0]
    assert newest["outcome"] == "rolled back" and "interrupted" in newest["reason"], newest
    assert newest["rolled_back"] == ["deployment/backend"]
    assert newest["marked_bad"] == []


def test_sigint_before_the_apply(project, tmp_path):
    started, release = tmp_path / "started", tmp_path / "release"
    project.env_settings("dev")["pre_promotion"] = [gate(started, release)]
    with project.untouched():
        process = start(project, "deploy-dev")
        wait_for(started.exists)
        process.send_signal(signal.SIGINT)
        text, _ = process.communicate(timeout=60)
    assert process.returncode == 130, text
    assert "error: dev: interrupted; nothing was changed" in text


# -- concurrency ------------------------------------------------------------------------------

def test_two_deploy_staging_started_together(project, tmp_path):
    seeded(project, "dev")
    seeded(project, "staging")
    started, release = tmp_path / "started", tmp_path / "release"
    project.env_settings("staging")["post_promotion"] = [gate(started, release)]
    tags = ("1.6.0", "1.7.0")
    processes = [start(project, "deploy-staging", "--image", f"backend={BACKEND}:{tag}")
                 for tag in tags]
    wait_for(lambda: any(process.poll() is not None for process in processes), 60)
    release.touch()  # the loser has given up: let the winner finish
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    codes = sorted(process.returncode for process in processes)
    assert codes == [0, 5], outputs
    winner = tags[[p.returncode for p in processes].index(0)]
    loser_text = outputs[[p.returncode for p in processes].index(5)]
    assert "staging is locked by" in loser_text
    assert project.image("staging", "backend") == f"{BACKEND}:{winner}"
    assert project.revision("staging", "backend") == "2"
    assert lease(project, "staging") is None


@pytest.mark.sandbox_only("slows lock takes (sandbox faults)")
def test_two_deploy_all_started_together(project):
    """Each time, one chain takes every lock and proceeds; the other exits 5. The first take
    of each environment's lock is slowed by 1 s: locks taken all at once would let each chain
    take one the other needs (both exit 5); taken in order, the first lock decides."""
    assert project.invoke("deploy-all", "--yes").returncode == 0
    envs = ("dev", "staging", "prod")
    for trial in range(5):
        for env in envs:
            project.sandbox.add_fault(method="PUT", path=r"/leases/globepay-promotion$",
                                      cluster=env, status=None, latency=1)
        tags = ("1.6.0", "1.7.0") if trial % 2 else ("1.7.0", "1.6.0")
        processes = [start(project, "deploy-all", "--yes", "--image", f"backend={BACKEND}:{tag}")
                     for tag in tags]
        outputs = [process.communicate(timeout=120)[0] for process in processes]
        codes = [process.returncode for process in processes]
        assert sorted(codes) == [0, 5], (trial, outputs)
        assert "is locked by" in outputs[codes.index(5)]
        images = [project.image(env, "backend") for env in envs]
        assert images[0] == f"{BACKEND}:{tags[codes.index(0)]}", (trial, images)
        assert images[1] == images[2], (trial, images)
        assert all(lease(project, env) is None for env in envs)
        project.sandbox.clear_faults()


# -- beyond the catalogue: exit 4, target guards, secrets ----------------------------------------

@pytest.mark.sandbox_only("refuses the rollback's patch (sandbox faults)")
def test_rollback_that_fails_exits_4(project, tmp_path):
    seeded(project)
    sandbox = project.sandbox
    sandbox.clear_requests()

    def applied(requests: list) -> bool:
        return any(r.method == "PATCH" and r.path.endswith("/deployments/backend")
                   and r.query.get("dryRun") != "All" for r in requests)

    when_request(project, applied, lambda: sandbox.add_fault(
        method="PATCH", path=r"/deployments/backend$", cluster="dev", status=403, count=-1))
    path = tmp_path / "report.json"
    result = project.invoke("deploy-dev", "--image", f"backend={BROKEN}", "--report", str(path))
    sandbox.clear_faults()
    assert result.returncode == 4, output(result)
    line = error_line(result)
    assert "ROLLBACK FAILED in dev" in line and "failed restoring revision 1" in line
    assert "needs attention" in line
    assert result.stdout.splitlines()[-1] == (
        "next: invoke status --env dev shows what dev runs now; invoke history --env dev names "
        "the release to go back to (invoke rollback --env dev --to-release ID)")
    assert project.image("dev", "backend") == BROKEN
    assert report(path)["environments"][0]["outcome"] == "rollback failed"
    assert lease(project) is None


@pytest.mark.sandbox_only("refuses the verification's read (sandbox faults)")
def test_a_read_refused_after_the_apply_still_rolls_back(project):
    """A step after the apply that fails on its own (not a rollout: the verification's read
    of the pods, refused) still undoes what the run changed."""
    seeded(project)
    sandbox = project.sandbox
    sandbox.clear_requests()

    def rolled_out(requests: list) -> bool:
        return any(r.method == "GET" and r.path.endswith("/deployments")
                   and r.query.get("watch") in ("true", "1") for r in requests)

    thread = when_request(project, rolled_out, lambda: sandbox.add_fault(
        method="GET", path=r"/namespaces/globepay-dev/pods$", cluster="dev", status=403,
        count=1, message="pods are not to be read"))
    result = project.invoke("deploy-dev", "--image", f"backend={BACKEND}:1.5.1")
    thread.join()
    sandbox.clear_faults()
    assert result.returncode == 2, output(result)
    line = error_line(result)
    assert "reading globepay-dev failed" in line and "rolled back deployment/backend" in line
    assert project.image("dev", "backend") == f"{BACKEND}:1.5.0"
    assert lease(project) is None


def test_server_of_the_context_is_checked(project):
    dev = project.env_settings("dev")
    dev["server"] = "https://dev.k8s.globepay.dev:6443"
    with project.untouched(reads=True):
        result = project.invoke("deploy-dev")
    assert result.returncode == 1
    line = error_line(result)
    assert f"points at {project.server('dev')}, not at https://dev.k8s.globepay.dev:6443" in line
    for secret in project.credentials():
        assert secret not in output(result)
    dev["server"] = project.server("dev") + "/"
    deployed(project)  # the same URL, written differently, passes


def test_cluster_scoped_objects_need_allowing(project):
    add_resource(project, "dev", "reader.yaml", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "globepay-reader"},
        "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
    line = refused(project, 1, "deploy-dev", reads=True)
    assert "renders cluster-scoped ClusterRole/globepay-reader" in line


def test_shell_metacharacters_are_rejected(project):
    for args, message in (
        (("deploy", "--env", "dev;id"), "unknown environment 'dev;id'"),
        (("deploy-dev", "--image", f"backend={BACKEND}:1.7;id"), "is not valid"),
        (("rollback", "--env", "dev", "--only", "backend$(id)"), "is not a valid name"),
    ):
        assert message in refused(project, 1, *args, reads=True)


def test_credentials_never_reach_output_or_report(project, tmp_path):
    add_resource(project, "dev", "secret.yaml", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db"},
        "stringData": {"password": "s3cr3t-db-password"}})
    path = tmp_path / "report.json"
    first = project.invoke("deploy-dev", "--report", str(path))
    assert first.returncode == 0, output(first)
    secret = project.root / "k8s/overlays/dev/secret.yaml"
    secret.write_text(secret.read_text().replace("s3cr3t-db-password", "n3w-s3cr3t"))
    diff = project.invoke("diff", "--env", "dev")
    assert diff.returncode == 0, output(diff)
    assert "data.password" not in diff.stdout or "***" in diff.stdout
    texts = [output(first), output(diff), path.read_text()]
    for text in texts:
        assert "s3cr3t-db-password" not in text and "n3w-s3cr3t" not in text
        for secret in project.credentials():
            assert secret not in text
