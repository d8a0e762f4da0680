"""Pure kubectl argument-list builders and output parsers: no I/O happens here."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from . import kinds
from .hosts import Remote

CHANGE_CAUSE = "kubernetes.io/change-cause"
LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration"


@dataclass(frozen=True)
class Target:
    """Where kubectl talks: the binary, kubeconfig, context and namespace of one environment,
    its host (``remote``; None: here), the seconds a request may wait (None: no limit)."""

    kubectl: str
    namespace: str
    context: str | None = None
    kubeconfig: str | None = None
    remote: Remote | None = None
    request_timeout: float | None = None

    def base(self, *, namespaced: bool = True, waits: float = 0) -> list[str]:
        """kubectl and its flags; ``waits``: seconds the command waits (its requests too)."""
        argv = [self.kubectl]
        if self.kubeconfig:
            argv += ["--kubeconfig", self.kubeconfig]
        if self.context:
            argv += ["--context", self.context]
        if namespaced:
            argv += ["--namespace", self.namespace]
        if self.request_timeout:
            argv.append(f"--request-timeout={math.ceil(max(self.request_timeout, waits))}s")
        return argv


@dataclass(frozen=True, order=True)
class WorkloadRef:
    """A workload by kind and name, e.g. ``deployment/backend``."""

    kind: str
    name: str

    @property
    def ref(self) -> str:
        return f"{kinds.of(self.kind).resource}/{self.name}"

    @property
    def rules(self) -> kinds.WorkloadKind:
        """What its kind means (`globepay_tasks.kinds`)."""
        return kinds.of(self.kind)

    @property
    def can_roll_back(self) -> bool:
        return self.rules.rollable

    def __str__(self) -> str:
        return self.ref


def kustomize(kubectl: str, overlay: str) -> list[str]:
    return [kubectl, "kustomize", overlay]


def apply_file(target: Target, path: str) -> list[str]:
    """``kubectl apply -f PATH``: the rendered manifest, applied client-side."""
    return [*target.base(), "apply", "-f", path]


def apply_file_json(target: Target, path: str) -> list[str]:
    """``kubectl apply -f PATH -o json``: applied, and every object printed as the server
    answered (a List; nothing when any object was refused)."""
    return [*apply_file(target, path), "--output", "json"]


#: A server-side apply: one request an object (client-side: two), the tool's field manager.
SERVER_SIDE = ("--server-side", "--field-manager=globepay-tasks", "--force-conflicts")


def apply_server_side_json(target: Target, path: str) -> list[str]:
    return [*apply_file(target, path), *SERVER_SIDE, "--output", "json"]


def apply_dry_run(target: Target, path: str) -> list[str]:
    """``kubectl apply --server-side --dry-run=server``: the server checks each object as for
    a real apply, stores nothing, names each it accepted."""
    return [*apply_file(target, path), *SERVER_SIDE, "--dry-run=server", "--output", "name"]


def diff_file(target: Target, path: str) -> list[str]:
    return [*target.base(), "diff", "-f", path]


WORKLOAD_RESOURCES = tuple(f"{rules.resource}s" for rules in kinds.WORKLOADS.values())
#: The workloads and the kinds with a pod template not waited on (cronjobs).
TEMPLATED_RESOURCES = tuple(f"{rules.resource}s" for rules in kinds.TEMPLATED.values())


def get_workloads(target: Target) -> list[str]:
    """One call listing every workload of the namespace as JSON."""
    return get_resources(target, WORKLOAD_RESOURCES)


def get_resources(target: Target, resources: Iterable[str]) -> list[str]:
    """One call listing every object of several resource types in the namespace as JSON."""
    return [*target.base(), "get", ",".join(resources), "--output", "json"]


def resource_of(obj: dict) -> str:
    """An object's type as kubectl's output names it: ``service``, ``deployment.apps``."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    kind = str(obj.get("kind", "")).lower()
    return f"{kind}.{group}" if group else kind


def resource_arg(obj: dict) -> str:
    """`resource_of` as ``kubectl get`` and ``delete`` take it, with the version where the
    group has a dot (``ingress.v1.networking.k8s.io``). Without it kubectl reads the name as
    resource.version.group first and, finding no such version, fetches all discovery again."""
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return f"{str(obj.get('kind', '')).lower()}.{version}.{group}" if "." in group else (
        resource_of(obj))


def get_object(target: Target, *named: str) -> list[str]:
    """``kubectl get RESOURCE NAME`` or ``kubectl get RESOURCE/NAME...`` as JSON."""
    return [*target.base(), "get", *named, "--output", "json"]


def get_optional(target: Target, *named: str) -> list[str]:
    """`get_object` printing nothing (exit 0) for an object that does not exist."""
    return [*get_object(target, *named), "--ignore-not-found"]


def get_live(target: Target) -> list[str]:
    """Every workload, CronJob and pod of the namespace, in one call."""
    return get_resources(target, (*TEMPLATED_RESOURCES, "pods"))


def get_labelled(target: Target, resource: str, selector: str) -> list[str]:
    return [*target.base(), "get", resource, "--selector", selector, "--output", "json"]


def delete(target: Target, resource: str, names: Sequence[str]) -> list[str]:
    return [*target.base(), "delete", resource, *names, "--ignore-not-found"]


def delete_objects(target: Target, named: Sequence[str], timeout: float) -> list[str]:
    """Delete the objects ``named`` (``deployment.apps/worker``, ...; their dependents in the
    background) and wait until they are gone, at most ``timeout`` seconds."""
    return [*target.base(waits=timeout), "delete", *named, "--ignore-not-found",
            "--cascade=background", "--wait=true", f"--timeout={max(1, int(timeout))}s"]


def delete_file(target: Target, path: str) -> list[str]:
    """Delete the file's objects, not waiting (kubectl does not throttle these deletions, as
    it does those of objects named on its command line: five a second)."""
    return [*target.base(), "delete", "--filename", path, "--ignore-not-found",
            "--cascade=background", "--wait=false"]


def replace_file(target: Target, path: str) -> list[str]:
    """``kubectl replace -f PATH``: each object of the file written as it is given (its
    annotations included), whatever the object holds now."""
    return [*target.base(), "replace", "--filename", path]


def create_file(target: Target, path: str) -> list[str]:
    return [*target.base(), "create", "--filename", path]


def set_last_applied_file(target: Target, path: str) -> list[str]:
    """Set each object's last-applied-configuration to its content in PATH, changing nothing
    else of it."""
    return [*target.base(), "apply", "set-last-applied", "--filename", path,
            "--create-annotation=true"]


def watch_workloads(target: Target, kind: str, seconds: float) -> list[str]:
    """Every object of one kind in the namespace, then each change (JSON events), ``seconds``."""
    return [*target.base(waits=seconds), "get", kinds.of(kind).resource, "--watch",
            "--output", "json", "--output-watch-events"]


def rollout_undo(target: Target, workload: WorkloadRef | Sequence[WorkloadRef],
                 to_revision: int | None = None) -> list[str]:
    """``kubectl rollout undo`` for one workload or several (kubectl undoes each in turn)."""
    workloads = [workload] if isinstance(workload, WorkloadRef) else list(workload)
    argv = [*target.base(), "rollout", "undo", *(w.ref for w in workloads)]
    if to_revision is not None:
        argv.append(f"--to-revision={to_revision}")
    return argv


#: The lock's own Lease, a body the tool builds, is written without kubectl's field validation
#: check, which first fetches the server's OpenAPI index and the group's document (two requests
#: a lock step).
OWN_OBJECT = ("--filename", "-", "--save-config", "--validate=false", "--output", "json")


def create_stdin(target: Target) -> list[str]:
    """``kubectl create -f -``: create the object given on stdin (fails if it exists)."""
    return [*target.base(), "create", *OWN_OBJECT]


def replace_stdin(target: Target) -> list[str]:
    """``kubectl replace -f -``: replace the object on stdin (its resourceVersion must match)."""
    return [*target.base(), "replace", *OWN_OBJECT]


def apply_stdin(target: Target) -> list[str]:
    return [*target.base(), "apply", "--filename", "-"]


def config_view(kubectl: str, kubeconfig: str | None) -> list[str]:
    """The kubeconfig as JSON, credentials left out (``kubectl config view`` without --raw)."""
    argv = [kubectl]
    if kubeconfig:
        argv += ["--kubeconfig", kubeconfig]
    return [*argv, "config", "view", "--output", "json"]


def names_object(line: str, workload: WorkloadRef) -> bool:
    """Whether a line of kubectl's output is about ``workload`` (``deployment.apps/NAME ...``)."""
    resource, _, rest = line.partition("/")
    return resource.split(".", 1)[0] == workload.rules.resource and (
        rest.split(" ", 1)[0] == workload.name)


def kind_name(obj: dict) -> str:
    """``deployment/backend``: how the tool names an object in its messages."""
    return f"{str(obj.get('kind', '')).lower()}/{(obj.get('metadata') or {}).get('name')}"


def version(target: Target) -> list[str]:
    """``kubectl version -o json``: the client's and the server's version."""
    return [*target.base(namespaced=False), "version", "--output", "json"]


def server_version(text: str) -> str | None:
    """The server's ``gitVersion`` (``v1.37.1``) in ``kubectl version -o json`` output."""
    try:
        return (json.loads(text or "{}").get("serverVersion") or {}).get("gitVersion")
    except ValueError:
        return None


def get_raw(target: Target, path: str) -> list[str]:
    return [*target.base(namespaced=False), "get", "--raw", path]


def service_proxy_path(namespace: str, service: str, port: str, path: str) -> str:
    return f"/api/v1/namespaces/{namespace}/services/{service}:{port}/proxy{path}"


def parse_manifest(text: str) -> list[dict]:
    """The objects of a multi-document YAML manifest (empty documents dropped)."""
    import yaml  # here, not at the top: off the start-up path of every task

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
    return [doc for doc in yaml.load_all(text, Loader=loader) if isinstance(doc, dict)]


def by_kind_and_name(objects: Iterable[dict]) -> dict[tuple[str, str], dict]:
    """Objects by (kind, name), the first of each as a search in order would find it."""
    found: dict[tuple[str, str], dict] = {}
    for obj in objects:
        found.setdefault((obj.get("kind", ""), obj["metadata"]["name"]), obj)
    return found


def workloads_in(objects: Iterable[dict]) -> list[WorkloadRef]:
    """The workloads among rendered objects, in render order."""
    return [
        WorkloadRef(obj["kind"], obj["metadata"]["name"])
        for obj in objects
        if kinds.is_workload(obj) and obj.get("metadata", {}).get("name")
    ]


def parse_list(text: str) -> list[dict]:
    """The items of ``kubectl get -o json`` output (a List or a single object)."""
    data = json.loads(text or "{}")
    if data.get("kind", "").endswith("List") or "items" in data:
        return list(data.get("items") or [])
    return [data] if data else []


#: kubectl's global flags that take a value, skipped when naming a command's verb.
_VALUED_FLAGS = {"--kubeconfig", "--context", "--namespace", "-n", "--cluster", "--user"}


def verb(argv: Sequence[str] | str) -> str:
    """A command's short name for messages: ``kubectl apply``, ``kubectl rollout status``."""
    if isinstance(argv, str):
        return argv.split(" ", 1)[0]
    words = [argv[0].rsplit("/", 1)[-1]] if argv else []
    skip = False
    for arg in argv[1:]:
        if skip:
            skip = False
        elif arg in _VALUED_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            words.append(arg)
            if len(words) == 3 or words[1] not in ("rollout", "config"):
                break
    return " ".join(words)


#: What kubectl does that changes a cluster (``rollout`` with its subcommand).
WRITE_VERBS = frozenset({"apply", "create", "replace", "delete", "patch", "annotate", "label",
                         "scale", "set", "rollout undo", "rollout restart", "rollout resume"})
_LIMIT = re.compile(r"--request-timeout=(\d+)s")


def call(argv: Sequence[str] | str) -> tuple[str, float | None]:
    """``write`` (kubectl changing a cluster, not a dry run), ``read`` (one ``kubectl get``
    or ``version``) or "" (a watch, a hook, ...), and its ``--request-timeout`` (or None)."""
    if isinstance(argv, str) or not argv or "kubectl" not in argv[0].rsplit("/", 1)[-1]:
        return "", None
    limit = next((float(m[1]) for m in map(_LIMIT.fullmatch, argv) if m), None)
    words = verb(argv).split(" ")[1:]
    said = " ".join(words[:2] if words[:1] == ["rollout"] else words[:1])
    if said in ("get", "version") and "--watch" not in argv:
        return "read", limit
    return ("write" if said in WRITE_VERBS and "--dry-run=server" not in argv else ""), limit


def join_argv(argv: Sequence[str]) -> str:
    """A shell-quoted rendering of an argument list, for display and for remote shells."""
    import shlex

    return shlex.join(argv)
