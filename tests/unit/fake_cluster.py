"""An in-memory kubectl for fast tests of the promotion policy: no process, no API server.

`FakeKubectl` stands where an Invoke ``Context`` stands (``Runner(FakeKubectl())``), in the
manner of ``invoke.MockContext``: `run` receives the command line the `Runner` built and
answers with an ``invoke.Result``. What it fakes, per kube context (``--context``) and
namespace (``--namespace``; every namespace exists):

- ``kubectl config view -o json``: a kubeconfig naming every context of the fake;
- ``kubectl kustomize DIR``: the manifest registered for DIR with `add_overlay`;
- ``get RESOURCES -o json`` (snapshot, live read with pods), ``get RESOURCE NAME -o json``;
- ``get KIND --watch -o json --output-watch-events``: one ADDED event per object of the kind;
- ``apply -f PATH [-o json]``: a Deployment whose pod template changed gets a new revision
  (the controller's ``deployment.kubernetes.io/revision``); every object is stored with its
  ``last-applied-configuration``; a ``resourceVersion`` in the object is a precondition;
- ``apply -f PATH --server-side ... -o json``: the same, each object's last-applied annotation
  as sent;
- ``apply -f PATH --server-side ... --dry-run=server -o name`` (the preflight's check):
  every object accepted;
- ``create``/``replace --filename -`` of the lock's Lease (AlreadyExists, NotFound, Conflict);
- ``replace``/``create --filename PATH``, ``apply set-last-applied --filename PATH``,
  ``delete RESOURCE/NAME... --wait=true`` and ``delete --filename PATH --wait=false``
  (putting objects back after a failure, pruning);
- ``rollout undo deployment/NAME... [--to-revision=N]``: the template of that revision (or
  of the previous one) comes back as a new revision; each undo is listed in `undone`.

A Deployment rolls out at once: its status says so, and it has one pod per replica running
its images (``imageID`` pinned to a digest derived from the image), unless one of its images
contains ``broken``: then it has no pods and its Progressing condition says
ProgressDeadlineExceeded. Any other command fails the test (`AssertionError` naming it),
except the command lines given in ``commands`` (as MockContext's ``run={...}``). Raised in
a Python hook, that error fails the hook (`globepay_tasks.hooks.run_hook` turns a hook's
exception into a failed hook, its message naming the command).
"""

from __future__ import annotations

import copy
import hashlib
import json
import shlex
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from invoke import Result

from globepay_tasks import applyset, images, kubectl
from globepay_tasks.kinds import REVISION_ANNOTATION
from globepay_tasks.manifests import Rendered
from globepay_tasks.workload_state import template_key

LAST_APPLIED = kubectl.LAST_APPLIED_ANNOTATION
#: ``kubectl get`` resource names the fake knows, and their kinds.
KINDS = {
    "deployments": "Deployment", "deployment": "Deployment",
    "statefulsets": "StatefulSet", "daemonsets": "DaemonSet", "jobs": "Job",
    "cronjobs": "CronJob",
    "configmaps": "ConfigMap", "configmap": "ConfigMap",
    "leases.v1.coordination.k8s.io": "Lease", "lease": "Lease",
    "pods": "Pod",
}
#: The resource named in kubectl's messages about an object of each kind.
RESOURCES = {"Deployment": "deployments.apps", "Lease": "leases.coordination.k8s.io",
             "ConfigMap": "configmaps"}
Store = dict[tuple[str, str], dict]


def digest_of(image: str) -> str:
    """The digest a pod reports for ``image``: the one it pins, else one derived from it."""
    return images.digest(image) or "sha256:" + hashlib.sha256(image.encode()).hexdigest()


def is_broken(obj: dict) -> bool:
    """Whether a workload's pod template names an image containing ``broken``."""
    containers = obj["spec"]["template"]["spec"]["containers"]
    return any("broken" in container.get("image", "") for container in containers)


class FakeKubectl:
    """kubectl against in-memory clusters, one per context in ``contexts``."""

    def __init__(self, contexts: tuple[str, ...] = ("dev", "staging", "prod"), *,
                 binary: str = "kubectl", commands: Mapping[str, Result] | None = None) -> None:
        self.contexts = contexts
        self.binary = binary
        self.commands = dict(commands or {})
        #: every command line received, split into its arguments
        self.calls: list[list[str]] = []
        #: (context, namespace, "deployment/NAME") of each workload ``rollout undo`` restored
        self.undone: list[tuple[str, str, str]] = []
        self.overlays: dict[str, str] = {}
        self._objects: dict[tuple[str, str], Store] = {}
        self._revisions: dict[tuple[str, str, str], dict[int, dict]] = {}
        self._version = 0
        self._lock = threading.RLock()

    # -- what the tests set up and read -------------------------------------------------

    def add_overlay(self, directory: Path, manifest: str) -> str:
        """Make ``directory`` an overlay that renders ``manifest``; its path."""
        directory.mkdir(parents=True, exist_ok=True)
        self.overlays[str(directory)] = manifest
        return str(directory)

    def seed(self, context: str, namespace: str, manifest: str, *,
             applied: bool = True) -> None:
        """Store the objects of ``manifest`` as a finished earlier deploy left them, members
        of the namespace's ApplySet (``applied=False``: as written by something else, without
        last-applied and the ApplySet's label)."""
        objects = kubectl.parse_manifest(manifest)
        if applied:
            objects = list(applyset.labelled(Rendered("", tuple(objects), (), ""),
                                             namespace).objects)
        with self._lock:
            for obj in objects:
                stored, _ = self._apply_one(context, namespace, obj)
                if not applied:
                    stored["metadata"]["annotations"].pop(LAST_APPLIED)

    def put(self, context: str, obj: dict) -> dict:
        """Store ``obj`` as it is (a Lease held by another run); the stored copy."""
        with self._lock:
            return self._store(context, obj["metadata"]["namespace"], copy.deepcopy(obj))

    def get(self, context: str, namespace: str, kind: str, name: str) -> dict | None:
        with self._lock:
            return copy.deepcopy(self._ns(context, namespace).get((kind, name)))

    def image(self, context: str, namespace: str, name: str) -> str:
        """The first container image of Deployment ``name``."""
        obj = self.get(context, namespace, "Deployment", name)
        assert obj is not None, f"no deployment/{name} in {context}/{namespace}"
        return obj["spec"]["template"]["spec"]["containers"][0]["image"]

    def revision(self, context: str, namespace: str, name: str) -> str:
        obj = self.get(context, namespace, "Deployment", name)
        assert obj is not None, f"no deployment/{name} in {context}/{namespace}"
        return obj["metadata"]["annotations"][REVISION_ANNOTATION]

    def calls_to(self, context: str, *words: str) -> list[list[str]]:
        """The kubectl calls to ``context`` whose arguments include every one of ``words``
        (server-side dry runs only when ``words`` name ``--dry-run=server``)."""
        with self._lock:
            calls = list(self.calls)
        dry = "--dry-run=server"
        return [argv for argv in calls
                if _flag(argv, "--context") == context and all(w in argv for w in words)
                and (dry not in argv or dry in words)]

    def manifest_applies(self, context: str) -> list[list[str]]:
        """The ``kubectl apply -f PATH -o json`` calls to ``context`` (rendered manifests)."""
        return self.calls_to(context, "apply", "json")

    # -- the Context side ----------------------------------------------------------------

    def run(self, command: str, **options: Any) -> Result:
        """Answer one command line as kubectl would (``options``: Invoke's run options)."""
        if command in self.commands:
            with self._lock:
                self.calls.append([command])
            return self.commands[command]
        argv = shlex.split(command)
        with self._lock:
            self.calls.append(argv)
        if argv[0] != self.binary:
            raise AssertionError(f"FakeKubectl: unexpected command {argv}")
        context, namespace, rest = _split(argv)
        if rest == ["config", "view", "--output", "json"]:
            return Result(json.dumps(self._kubeconfig()), command=command)
        if rest[0] == "kustomize" and len(rest) == 2:
            if rest[1] not in self.overlays:
                raise AssertionError(f"FakeKubectl: no overlay registered for {argv}")
            return Result(self.overlays[rest[1]], command=command)
        if context not in self.contexts or not namespace:
            raise AssertionError(f"FakeKubectl: unknown context or no namespace in {argv}")
        with self._lock:
            if rest[:1] == ["get"] and "--watch" in rest:
                lines = self._watch(context, namespace, rest, argv)
            else:
                return self._call(context, namespace, rest, argv, command, options)
        sink = options.get("out_stream")
        assert sink is not None, f"FakeKubectl: a watch without a line sink: {argv}"
        for line in lines:  # outside the lock: the lines are judged as they arrive
            sink.write(line + "\n")
        return Result(command=command)

    def _call(self, context: str, namespace: str, rest: list[str], argv: list[str],
              command: str, options: dict[str, Any]) -> Result:
        if rest[:1] == ["get"] and rest[-2:] == ["--output", "json"] and len(rest) == 4:
            return Result(self._list(context, namespace, rest[1].split(","), argv),
                          command=command)
        if rest[:1] == ["get"] and rest[3:5] == ["--output", "json"] and len(rest) in (5, 6):
            obj = self._ns(context, namespace).get((_kind(rest[1], argv), rest[2]))
            if obj is not None:
                return Result(json.dumps(obj), command=command)
            if "--ignore-not-found" in rest:
                return Result(command=command)
            return _error(command, "NotFound", f'{rest[1]} "{rest[2]}" not found')
        if rest[:2] == ["apply", "-f"] and rest[3:] in ([], ["--output", "json"]):
            return self._apply(context, namespace, rest[2], bool(rest[3:]), command)
        if rest[:2] == ["apply", "-f"] and rest[3:] == [*kubectl.SERVER_SIDE, "--output", "json"]:
            return self._apply(context, namespace, rest[2], True, command, server_side=True)
        if rest[:2] == ["apply", "-f"] and rest[3:] == [
                "--server-side", "--field-manager=globepay-tasks", "--force-conflicts",
                "--dry-run=server", "--output", "name"]:
            return self._dry_run(rest[2], command)
        if rest[:1] in (["create"], ["replace"]) and tuple(rest[1:]) == kubectl.OWN_OBJECT:
            stream = options.get("in_stream")
            assert stream, f"FakeKubectl: {argv} without standard input"
            return self._write(context, namespace, rest[0], json.loads(stream.read()), command)
        if rest[:2] == ["rollout", "undo"]:
            return self._undo(context, namespace, rest[2:], argv, command)
        if rest[:2] in (["replace", "--filename"], ["create", "--filename"]) and len(rest) == 3:
            return self._write_file(context, namespace, rest[0], rest[2], command)
        if rest[:3] == ["apply", "set-last-applied", "--filename"] and len(rest) > 3:
            return self._set_last_applied(context, namespace, rest[3], command)
        if rest[:1] == ["delete"] and "--wait=true" in rest:
            return self._delete(context, namespace, [a for a in rest[1:] if "/" in a], command)
        if rest[:2] == ["delete", "--filename"] and "--wait=false" in rest:
            return self._delete(context, namespace, [
                f"{kubectl.resource_of(obj)}/{obj['metadata']['name']}"
                for obj in _objects_in(rest[2])], command)
        raise AssertionError(f"FakeKubectl: unexpected command {argv}")

    # -- kubectl's verbs -----------------------------------------------------------------

    def _kubeconfig(self) -> dict:
        return {
            "apiVersion": "v1", "kind": "Config", "current-context": self.contexts[0],
            "contexts": [{"name": c, "context": {"cluster": c, "user": c}}
                         for c in self.contexts],
            "clusters": [{"name": c, "cluster": {"server": f"https://{c}.k8s.example"}}
                         for c in self.contexts],
            "users": [{"name": c, "user": {}} for c in self.contexts],
        }

    def _list(self, context: str, namespace: str, resources: list[str],
              argv: list[str]) -> str:
        wanted = {_kind(resource, argv) for resource in resources}
        items = [copy.deepcopy(obj) for (kind, _), obj in self._ns(context, namespace).items()
                 if kind in wanted]
        if "Pod" in wanted:
            items += self._pods(context, namespace)
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": items})

    def _pods(self, context: str, namespace: str) -> list[dict]:
        pods = []
        for (kind, name), obj in self._ns(context, namespace).items():
            if kind != "Deployment" or is_broken(obj):
                continue
            template = obj["spec"]["template"]
            containers = template["spec"]["containers"]
            for index in range(obj["spec"].get("replicas", 1)):
                pods.append({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"{name}-{self.revision(context, namespace, name)}-"
                                         f"{index}", "namespace": namespace,
                                 "labels": dict(template["metadata"]["labels"])},
                    "spec": {"containers": copy.deepcopy(containers)},
                    "status": {"phase": "Running", "containerStatuses": [
                        {"name": c["name"], "image": c["image"], "ready": True,
                         "imageID": f"{images.repository(c['image'])}@{digest_of(c['image'])}"}
                        for c in containers]},
                })
        return pods

    def _watch(self, context: str, namespace: str, rest: list[str],
               argv: list[str]) -> list[str]:
        if rest[2:] != ["--watch", "--output", "json", "--output-watch-events"]:
            raise AssertionError(f"FakeKubectl: unexpected command {argv}")
        kind = _kind(rest[1], argv)
        return [json.dumps({"type": "ADDED", "object": obj})
                for (k, _), obj in self._ns(context, namespace).items() if k == kind]

    def _apply(self, context: str, namespace: str, path: str, as_json: bool,
               command: str, *, server_side: bool = False) -> Result:
        objects = _objects_in(path)
        written, lines, errors = [], [], []
        for obj in objects:
            meta = obj["metadata"]
            if meta.get("namespace", namespace) != namespace:
                errors.append(f"error: the namespace from the provided object "
                              f"\"{meta['namespace']}\" does not match the namespace "
                              f"\"{namespace}\"")
                continue
            old = self._ns(context, namespace).get((obj["kind"], meta["name"]))
            version = meta.get("resourceVersion")
            if version and (old is None or old["metadata"]["resourceVersion"] != version):
                errors.append(_conflict(obj["kind"], meta["name"]))
                continue
            stored, verb = self._apply_one(context, namespace, obj, server_side)
            written.append(copy.deepcopy(stored))
            lines.append(f"{kubectl.resource_of(stored)}/{meta['name']} {verb}")
        if as_json:  # kubectl prints nothing when the server refused any object
            out = "" if errors else json.dumps({"apiVersion": "v1", "kind": "List",
                                                "items": written})
        else:
            out = "".join(line + "\n" for line in lines)
        return Result(out, "".join(e + "\n" for e in errors), exited=1 if errors else 0,
                      command=command)

    def _dry_run(self, path: str, command: str) -> Result:
        """The server accepts every object and stores nothing: each one's name."""
        objects = [item for doc in yaml.safe_load_all(Path(path).read_text()) if doc
                   for item in (doc["items"] if doc.get("kind") == "List" else [doc])]
        names = [f"{kubectl.resource_of(o)}/{o['metadata']['name']}\n" for o in objects]
        return Result("".join(names), command=command)

    def _apply_one(self, context: str, namespace: str, obj: dict,
                   server_side: bool = False) -> tuple[dict, str]:
        """Store one applied object; it as stored, and kubectl's word for what happened
        (``server_side``: its last-applied annotation as sent)."""
        kind, name = obj["kind"], obj["metadata"]["name"]
        old = self._ns(context, namespace).get((kind, name))
        new = copy.deepcopy(obj)
        new.pop("status", None)
        meta = new["metadata"]
        meta.pop("resourceVersion", None)
        meta["namespace"] = namespace
        if not server_side:
            config = copy.deepcopy(new)
            meta["annotations"] = {**(meta.get("annotations") or {}),
                                   LAST_APPLIED: json.dumps(config, sort_keys=True)}
        if old is None:
            if kind == "Deployment":
                meta["generation"] = 1
                self._new_revision(context, namespace, new)
            return self._store(context, namespace, new), "created"
        if _content(old) == _content(new):
            return old, "unchanged"
        if kind == "Deployment":
            meta["annotations"][REVISION_ANNOTATION] = (
                old["metadata"]["annotations"][REVISION_ANNOTATION])
            same_spec = old["spec"] == new["spec"]
            meta["generation"] = old["metadata"]["generation"] + (0 if same_spec else 1)
            if template_key(old["spec"]["template"]) != template_key(new["spec"]["template"]):
                self._new_revision(context, namespace, new)
        return self._store(context, namespace, new), "configured"

    def _write(self, context: str, namespace: str, verb: str, obj: dict,
               command: str) -> Result:
        """``kubectl create`` or ``replace`` of one object, with ``--save-config``."""
        kind, name = obj["kind"], obj["metadata"]["name"]
        old = self._ns(context, namespace).get((kind, name))
        what = f'{RESOURCES.get(kind, kind.lower())} "{name}"'
        if verb == "create" and old is not None:
            return _error(command, "AlreadyExists", f"{what} already exists")
        if verb == "replace" and old is None:
            return _error(command, "NotFound", f"{what} not found")
        if verb == "replace" and obj["metadata"].get("resourceVersion") != old["metadata"][
                "resourceVersion"]:
            return Result("", _conflict(kind, name) + "\n", exited=1, command=command)
        new = copy.deepcopy(obj)
        new["metadata"].pop("resourceVersion", None)
        new["metadata"]["annotations"] = {**(new["metadata"].get("annotations") or {}),
                                          LAST_APPLIED: json.dumps(new, sort_keys=True)}
        return Result(json.dumps(self._store(context, namespace, new)), command=command)

    def _write_file(self, context: str, namespace: str, verb: str, path: str,
                    command: str) -> Result:
        """``kubectl replace|create -f PATH``: each object written as given (kubectl's own
        rewrite of its last-applied configuration left out)."""
        lines = []
        for obj in _objects_in(path):
            stored = copy.deepcopy(obj)
            stored.setdefault("metadata", {})["namespace"] = namespace
            old = self._ns(context, namespace).get((obj["kind"], obj["metadata"]["name"]))
            if old is not None and "generation" in old["metadata"]:
                stored["metadata"].setdefault("generation", old["metadata"]["generation"])
            self._store(context, namespace, stored)
            lines.append(f"{kubectl.resource_of(obj)}/{obj['metadata']['name']} {verb}d\n")
        return Result("".join(lines), command=command)

    def _set_last_applied(self, context: str, namespace: str, path: str,
                          command: str) -> Result:
        """Each object's last-applied-configuration set to its content in the file."""
        for obj in _objects_in(path):
            stored = copy.deepcopy(self._ns(context, namespace)[(obj["kind"],
                                                                 obj["metadata"]["name"])])
            stored["metadata"]["annotations"][LAST_APPLIED] = json.dumps(obj, sort_keys=True)
            self._store(context, namespace, stored)
        return Result(command=command)

    def _delete(self, context: str, namespace: str, named: list[str], command: str) -> Result:
        lines = []
        for item in named:
            resource, name = item.split("/", 1)
            kind = next(k for k in {**KINDS, **{r: k for k, r in RESOURCES.items()}}.items()
                        if k[0] == resource or k[1].lower() == resource.split(".")[0])[1]
            if self._ns(context, namespace).pop((kind, name), None) is not None:
                lines.append(f'{resource} "{name}" deleted\n')
        return Result("".join(lines), command=command)

    def _undo(self, context: str, namespace: str, args: list[str], argv: list[str],
              command: str) -> Result:
        to_revision = None
        if args and args[-1].startswith("--to-revision="):
            to_revision = int(args.pop().split("=", 1)[1])
        if not args or not all(arg.startswith("deployment/") for arg in args):
            raise AssertionError(f"FakeKubectl: unexpected command {argv}")
        out, err = [], []
        for name in (arg.split("/", 1)[1] for arg in args):
            obj = self._ns(context, namespace).get(("Deployment", name))
            history = self._revisions.get((context, namespace, name), {})
            if obj is None:
                err.append(f'Error from server (NotFound): deployments.apps "{name}" not found')
                continue
            older = sorted(history)[:-1]
            number = to_revision if to_revision is not None else (older[-1] if older else None)
            if number not in history:
                err.append(f"error: unable to find specified revision {number} in history"
                           if to_revision is not None else "error: no rollout history found "
                           f'for deployment "{name}"')
                continue
            template = history[number]
            if template_key(template) == template_key(obj["spec"]["template"]):
                out.append(f"deployment.apps/{name} skipped rollback (current template "
                           f"already matches revision {number})")
                continue
            new = copy.deepcopy(obj)
            new["spec"]["template"] = copy.deepcopy(template)
            new["metadata"]["generation"] += 1
            self._new_revision(context, namespace, new)
            self._store(context, namespace, new)
            self.undone.append((context, namespace, f"deployment/{name}"))
            out.append(f"deployment.apps/{name} rolled back")
        return Result("".join(line + "\n" for line in out), "".join(e + "\n" for e in err),
                      exited=1 if err else 0, command=command)

    # -- the store -----------------------------------------------------------------------

    def _ns(self, context: str, namespace: str) -> Store:
        return self._objects.setdefault((context, namespace), {})

    def _store(self, context: str, namespace: str, obj: dict) -> dict:
        """Keep ``obj`` at a new resourceVersion (a Deployment with its rolled-out status)."""
        self._version += 1
        obj["metadata"]["resourceVersion"] = str(self._version)
        if obj["kind"] == "Deployment":
            obj["status"] = _status(obj)
        self._ns(context, namespace)[(obj["kind"], obj["metadata"]["name"])] = obj
        return obj

    def _new_revision(self, context: str, namespace: str, obj: dict) -> None:
        """The Deployment controller's revision for ``obj``'s template: the next number (an
        earlier revision with the same template is taken over, as its ReplicaSet is)."""
        history = self._revisions.setdefault((context, namespace, obj["metadata"]["name"]), {})
        key = template_key(obj["spec"]["template"])
        for number in [n for n, template in history.items() if template_key(template) == key]:
            del history[number]
        number = max(history, default=0) + 1
        history[number] = copy.deepcopy(obj["spec"]["template"])
        obj["metadata"].setdefault("annotations", {})[REVISION_ANNOTATION] = str(number)


def _status(obj: dict) -> dict:
    """A Deployment's status once its controller has acted: rolled out, or stuck."""
    replicas, generation = obj["spec"].get("replicas", 1), obj["metadata"]["generation"]
    if is_broken(obj):
        return {"observedGeneration": generation, "replicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": 0, "conditions": [
                    {"type": "Progressing", "status": "False",
                     "reason": "ProgressDeadlineExceeded"}]}
    return {"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
            "readyReplicas": replicas, "availableReplicas": replicas, "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]}


def _content(obj: dict) -> dict:
    """What an apply can change: everything but status and the server's bookkeeping."""
    meta = obj.get("metadata") or {}
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items()
                   if k not in (REVISION_ANNOTATION, LAST_APPLIED)}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "status")},
            "labels": meta.get("labels") or {}, "annotations": annotations}


def _objects_in(path: str) -> list[dict]:
    """The objects of a manifest file (a List's items)."""
    documents = [doc for doc in yaml.safe_load_all(Path(path).read_text()) if doc]
    return [item for doc in documents
            for item in (doc["items"] if doc.get("kind") == "List" else [doc])]


def _split(argv: list[str]) -> tuple[str, str, list[str]]:
    """(context, namespace, the rest) of a kubectl argument list (``--request-timeout`` left
    out)."""
    context, namespace = "", ""
    rest = [arg for arg in argv[1:] if not arg.startswith("--request-timeout=")]
    while rest and rest[0] in ("--kubeconfig", "--context", "--namespace"):
        if rest[0] == "--context":
            context = rest[1]
        elif rest[0] == "--namespace":
            namespace = rest[1]
        rest = rest[2:]
    if not rest:
        raise AssertionError(f"FakeKubectl: unexpected command {argv}")
    return context, namespace, rest


def _flag(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1] if flag in argv[:-1] else ""


def _kind(resource: str, argv: list[str]) -> str:
    if resource not in KINDS:
        raise AssertionError(f"FakeKubectl: unknown resource {resource!r} in {argv}")
    return KINDS[resource]


def _error(command: str, reason: str, text: str) -> Result:
    return Result("", f"Error from server ({reason}): {text}\n", exited=1, command=command)


def _conflict(kind: str, name: str) -> str:
    return (f'Error from server (Conflict): Operation cannot be fulfilled on '
            f'{RESOURCES.get(kind, kind.lower())} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again")
