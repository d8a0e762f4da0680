"""Per-user authorization: the API server's request attributes and its RBAC authorizer.

:func:`request_attributes` turns a request into what an authorizer sees (the apiserver's
``RequestInfoFactory``: verb, API group, resource, subresource, namespace, name);
:func:`authorize` evaluates the Roles, ClusterRoles, RoleBindings and ClusterRoleBindings
stored in a cluster for a :class:`User` (plugin/pkg/auth/authorizer/rbac); :func:`forbidden`
is the 403 a denial answers with. The sandbox's admin token bypasses all of it; every other
user also gets the bootstrap policy of a real cluster's authenticated users (discovery,
``/version``, self access reviews), built in here rather than stored.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from .errors import ApiError
from .resources import ResourceType, lookup
from .store import Store

RBAC_GROUP = "rbac.authorization.k8s.io"
AUTHENTICATED = "system:authenticated"
SERVICE_ACCOUNT_PREFIX = "system:serviceaccount:"


def _rbac(plural: str) -> ResourceType:
    rt = lookup(RBAC_GROUP, "v1", plural)
    if rt is None:
        raise RuntimeError(f"the sandbox does not serve {plural}.{RBAC_GROUP}")
    return rt


_ROLES, _CLUSTER_ROLES = _rbac("roles"), _rbac("clusterroles")
_ROLE_BINDINGS, _CLUSTER_ROLE_BINDINGS = _rbac("rolebindings"), _rbac("clusterrolebindings")
_SPECIAL_VERBS = frozenset({"proxy", "watch"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
_METHOD_VERBS = {"POST": "create", "GET": "get", "HEAD": "get", "PUT": "update",
                 "PATCH": "patch", "DELETE": "delete"}
#: What every authenticated user may do on a real cluster (ClusterRoles system:discovery,
#: system:public-info-viewer and system:basic-user, bound to system:authenticated).
BOOTSTRAP_RULES: tuple[dict, ...] = (
    {"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez",
                         "/readyz", "/openapi", "/openapi/*", "/version", "/version/"],
     "verbs": ["get"]},
    {"apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
     "verbs": ["create"]},
)


@dataclass(frozen=True)
class User:
    """An authenticated user other than the admin: name and groups."""

    name: str
    groups: tuple[str, ...] = ()

    @classmethod
    def named(cls, name: str, groups: tuple[str, ...] = ()) -> User:
        """A user with the groups the authenticator adds (``system:authenticated``, and a
        service account's ``system:serviceaccounts[:<namespace>]``)."""
        extra = [AUTHENTICATED]
        if name.startswith(SERVICE_ACCOUNT_PREFIX):
            namespace = name[len(SERVICE_ACCOUNT_PREFIX):].split(":", 1)[0]
            extra += ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
        return cls(name, tuple(dict.fromkeys((*groups, *extra))))


@dataclass(frozen=True)
class Attributes:
    """What the authorizer decides on (``authorizer.Attributes``)."""

    verb: str
    path: str = ""
    resource_request: bool = False
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""


def _field_name(selector: str | None) -> str:
    """The name a field selector requires exactly (``metadata.name=web``), else ""."""
    for term in (selector or "").split(","):
        key, op, value = term.partition("==") if "==" in term else term.partition("=")
        if op and key.strip() == "metadata.name":
            return value.strip()
    return ""


def request_attributes(method: str, path: str, query: Mapping[str, str]) -> Attributes:
    """The attributes of a request on a cluster-relative ``path`` (the apiserver's
    RequestInfoFactory: ``GET`` of a collection is ``list``, or ``watch`` with ``watch=true``;
    a ``DELETE`` of a collection is ``deletecollection``; a field selector on
    ``metadata.name`` names the object of a list or watch)."""
    parts = [p for p in path.split("/") if p]
    plain = Attributes(verb=method.lower(), path=path)
    if len(parts) < 3 or parts[0] not in ("api", "apis") or (parts[0] == "apis"
                                                               and len(parts) < 4):
        return plain
    group = parts[1] if parts[0] == "apis" else ""
    rest = parts[3:] if parts[0] == "apis" else parts[2:]
    verb = _METHOD_VERBS.get(method, "")
    if rest[0] in _SPECIAL_VERBS and len(rest) >= 2:
        verb, rest = rest[0], rest[1:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    subresource = rest[2] if len(rest) >= 3 and verb != "proxy" else ""
    name = rest[1] if len(rest) >= 2 else ""
    if not name and verb == "get":
        verb = "list" if query.get("watch", "false").lower() in ("false", "0") else "watch"
        name = _field_name(query.get("fieldSelector"))
    elif not name and verb == "delete":
        verb = "deletecollection"
    return Attributes(verb=verb, path=path, resource_request=True, group=group,
                      resource=rest[0], subresource=subresource, namespace=namespace, name=name)


def rule_allows(attrs: Attributes, rule: Mapping) -> bool:
    """Does one PolicyRule allow the request (rbac.RuleAllows)?"""
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(url == "*" or url == attrs.path
                   or (url.endswith("*") and attrs.path.startswith(url.rstrip("*")))
                   for url in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not any(r in ("*", combined) or (attrs.subresource and r == f"*/{attrs.subresource}")
               for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def _applies(user: User, subjects: list, namespace: str) -> dict | None:
    """The first subject of a binding that names ``user`` (or one of its groups)."""
    for subject in subjects or []:
        kind, name = subject.get("kind"), subject.get("name")
        if kind == "User" and name == user.name:
            return subject
        if kind == "Group" and name in user.groups:
            return subject
        if kind == "ServiceAccount":
            sa_namespace = subject.get("namespace") or namespace
            if sa_namespace and user.name == f"{SERVICE_ACCOUNT_PREFIX}{sa_namespace}:{name}":
                return subject
    return None


def _describe(subject: dict, namespace: str) -> str:
    if subject.get("kind") == "ServiceAccount":
        return (f'ServiceAccount "{subject.get("name")}/'
                f'{subject.get("namespace") or namespace}"')
    return f'{subject.get("kind")} "{subject.get("name")}"'


def _rules_for(store: Store, user: User, namespace: str
               ) -> Iterator[tuple[str | None, list, str | None]]:
    """(source, rules, resolution error) of each binding that applies (VisitRulesFor)."""
    with store.lock:
        scopes = [(_CLUSTER_ROLE_BINDINGS, "", "ClusterRoleBinding")]
        if namespace:
            scopes.append((_ROLE_BINDINGS, namespace, "RoleBinding"))
        for rt, scope, what in scopes:
            for binding in store.items(rt, scope or None):
                subject = _applies(user, binding.get("subjects"), scope)
                if subject is None:
                    continue
                ref = binding.get("roleRef") or {}
                kind, name = ref.get("kind"), ref.get("name")
                if kind == "ClusterRole":
                    role = store.peek(_CLUSTER_ROLES, None, name or "")
                elif kind == "Role" and scope:
                    role = store.peek(_ROLES, scope, name or "")
                else:
                    yield None, [], f'unsupported role reference kind: "{kind}"'
                    continue
                if role is None:
                    yield None, [], f'{str(kind).lower()}.{RBAC_GROUP} "{name}" not found'
                    continue
                meta = binding["metadata"]
                label = meta["name"] + (f"/{scope}" if scope else "")
                yield (f'{what} "{label}" of {kind} "{name}" to {_describe(subject, scope)}',
                       role.get("rules") or [], None)


def authorize(store: Store, user: User, attrs: Attributes) -> tuple[bool, str]:
    """(allowed, reason) as the RBAC authorizer decides for ``user`` in ``store``'s cluster:
    the reason names the allowing binding, or the bindings whose role could not be found."""
    if AUTHENTICATED in user.groups and any(rule_allows(attrs, r) for r in BOOTSTRAP_RULES):
        return True, ""
    errors = []
    for source, rules, error in _rules_for(store, user, attrs.namespace):
        if error is not None:
            errors.append(error)
        elif any(rule_allows(attrs, rule) for rule in rules):
            return True, f"RBAC: allowed by {source}"
    if not errors:
        return False, ""
    return False, "RBAC: " + (errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]")


def forbidden(user: User, attrs: Attributes, reason: str = "") -> ApiError:
    """403 with the API server's message, e.g. ``deployments.apps "backend" is forbidden:
    User "deployer" cannot patch resource "deployments" in API group "apps" in the namespace
    "globepay-dev"``."""
    if not attrs.resource_request:
        why = f'User "{user.name}" cannot {attrs.verb} path "{attrs.path}"'
    else:
        resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource \
            else attrs.resource
        scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace \
            else "at the cluster scope"
        why = (f'User "{user.name}" cannot {attrs.verb} resource "{resource}" in API group '
               f'"{attrs.group}" {scope}')
    if reason:
        why = f"{why}: {reason}"
    details: dict = {}
    if not attrs.resource_request:
        return ApiError(403, "Forbidden", f"forbidden: {why}", details)
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    if attrs.name:
        details["name"] = attrs.name
    if attrs.group:
        details["group"] = attrs.group
    details["kind"] = attrs.resource
    subject = f'{qualified} "{attrs.name}"' if attrs.name else qualified
    return ApiError(403, "Forbidden", f"{subject} is forbidden: {why}", details)
