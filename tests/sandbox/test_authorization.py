"""Per-user authorization: request attributes, RBAC rule evaluation against the stored Roles
and bindings, the 403 a real API server answers, and ``kubectl`` (including ``auth can-i``)
as an added user."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from sandbox_http import request

from globepay_tasks.sandbox import Sandbox
from globepay_tasks.sandbox.authz import Attributes, User, request_attributes, rule_allows

RBAC = "rbac.authorization.k8s.io"
DEPLOYMENTS = "/apis/apps/v1/namespaces/shop/deployments"


def attrs(method: str, path: str, **query: str) -> tuple:
    a = request_attributes(method, path, query)
    return (a.verb, a.group, a.resource, a.subresource, a.namespace, a.name,
            a.resource_request)


@pytest.mark.parametrize(("method", "path", "query", "expected"), [
    ("GET", f"{DEPLOYMENTS}/web", {}, ("get", "apps", "deployments", "", "shop", "web", True)),
    ("GET", DEPLOYMENTS, {}, ("list", "apps", "deployments", "", "shop", "", True)),
    ("GET", DEPLOYMENTS, {"watch": "true", "fieldSelector": "metadata.name=web"},
     ("watch", "apps", "deployments", "", "shop", "web", True)),
    ("GET", DEPLOYMENTS, {"watch": "false"}, ("list", "apps", "deployments", "", "shop", "",
                                              True)),
    ("POST", DEPLOYMENTS, {"dryRun": "All"},
     ("create", "apps", "deployments", "", "shop", "", True)),
    ("PUT", f"{DEPLOYMENTS}/web/scale", {}, ("update", "apps", "deployments", "scale", "shop",
                                             "web", True)),
    ("PATCH", f"{DEPLOYMENTS}/web", {"dryRun": "All"},
     ("patch", "apps", "deployments", "", "shop", "web", True)),
    ("DELETE", f"{DEPLOYMENTS}/web", {}, ("delete", "apps", "deployments", "", "shop", "web",
                                          True)),
    ("DELETE", DEPLOYMENTS, {}, ("deletecollection", "apps", "deployments", "", "shop", "",
                                 True)),
    # a Namespace is authorized in itself; its status is a subresource
    ("PATCH", "/api/v1/namespaces/shop", {}, ("patch", "", "namespaces", "", "shop", "shop",
                                              True)),
    ("PUT", "/api/v1/namespaces/shop/status", {},
     ("update", "", "namespaces", "status", "shop", "shop", True)),
    ("GET", "/api/v1/namespaces", {}, ("list", "", "namespaces", "", "", "", True)),
    ("GET", "/api/v1/namespaces/shop/services/web:80/proxy/health", {},
     ("get", "", "services", "proxy", "shop", "web:80", True)),
    ("GET", "/apis/apps/v1", {}, ("get", "", "", "", "", "", False)),
    ("GET", "/openapi/v3/apis/apps/v1", {}, ("get", "", "", "", "", "", False)),
])
def test_request_attributes_as_the_api_server_derives_them(method, path, query, expected):
    assert attrs(method, path, **query) == expected


def test_rules_match_verbs_groups_resources_subresources_and_names():
    patch_web = Attributes("patch", resource_request=True, group="apps",
                           resource="deployments", namespace="shop", name="web")
    scale = Attributes("update", resource_request=True, group="apps", resource="deployments",
                       subresource="scale", namespace="shop", name="web")
    rule = {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "patch"]}
    assert rule_allows(patch_web, rule)
    assert not rule_allows(scale, {**rule, "verbs": ["*"]})  # a subresource is named apart
    assert rule_allows(scale, {**rule, "resources": ["deployments/scale"], "verbs": ["update"]})
    assert rule_allows(scale, {**rule, "resources": ["*/scale"], "verbs": ["*"]})
    assert rule_allows(scale, {"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})
    assert not rule_allows(patch_web, {**rule, "apiGroups": [""]})
    assert not rule_allows(patch_web, {**rule, "verbs": ["get"]})
    assert rule_allows(patch_web, {**rule, "resourceNames": ["api", "web"]})
    assert not rule_allows(patch_web, {**rule, "resourceNames": ["api"]})
    discovery = Attributes("get", path="/apis/apps/v1")
    assert rule_allows(discovery, {"nonResourceURLs": ["/apis/*"], "verbs": ["get"]})
    assert not rule_allows(discovery, {"nonResourceURLs": ["/api/*"], "verbs": ["get"]})
    assert not rule_allows(discovery, rule)


def test_service_accounts_are_in_their_groups():
    user = User.named("system:serviceaccount:ci:deployer", ("team",))
    assert user.groups == ("team", "system:authenticated", "system:serviceaccounts",
                           "system:serviceaccounts:ci")


def role(kind: str, name: str, rules: list[dict], namespace: str | None = None) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "rules": rules}


def binding(kind: str, name: str, role_kind: str, role_name: str, subjects: list[dict],
            namespace: str | None = None) -> dict:
    meta = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": f"{RBAC}/v1", "kind": kind, "metadata": meta, "subjects": subjects,
            "roleRef": {"apiGroup": RBAC, "kind": role_kind, "name": role_name}}


def user_subject(name: str) -> dict:
    return {"apiGroup": RBAC, "kind": "User", "name": name}


def as_user(sandbox: Sandbox, token: str, method: str, path: str, body: object = None,
            cluster: str = "dev", basic: bool = False) -> tuple[int, dict]:
    header = ("Basic " + base64.b64encode(f"{cluster}:{token}".encode()).decode()) if basic \
        else f"Bearer {token}"
    status, _, answer = request(sandbox, method, path, cluster=cluster, body=body, auth=None,
                                headers={"Authorization": header})
    return status, answer


def namespace(sandbox: Sandbox, name: str, cluster: str = "dev") -> None:
    sandbox.create(cluster, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


DEPLOYER = [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
            {"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]


def test_a_rolebinding_grants_a_clusterrole_in_its_namespace_only(sandbox: Sandbox) -> None:
    for name in ("shop", "other"):
        namespace(sandbox, name)
    sandbox.create("dev", role("ClusterRole", "reader", DEPLOYER))
    sandbox.create("dev", binding("RoleBinding", "reader", "ClusterRole", "reader",
                                  [user_subject("deployer")], "shop"))
    token = sandbox.add_user("deployer")
    assert as_user(sandbox, token, "GET", DEPLOYMENTS)[0] == 200
    assert as_user(sandbox, token, "GET", "/api/v1/namespaces/shop", basic=True)[0] == 200
    status, answer = as_user(sandbox, token, "GET", "/api/v1/namespaces/other")
    assert status == 403
    assert answer == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'namespaces "other" is forbidden: User "deployer" cannot get resource '
                   '"namespaces" in API group "" in the namespace "other"',
        "reason": "Forbidden", "details": {"name": "other", "kind": "namespaces"}, "code": 403}
    assert as_user(sandbox, token, "GET", "/apis/apps/v1/namespaces/other/deployments")[1][
        "message"] == ('deployments.apps is forbidden: User "deployer" cannot list resource '
                       '"deployments" in API group "apps" in the namespace "other"')
    assert as_user(sandbox, token, "GET", "/api/v1/namespaces")[1]["message"] == (
        'namespaces is forbidden: User "deployer" cannot list resource "namespaces" in API '
        'group "" at the cluster scope')
    status, answer = as_user(sandbox, token, "PATCH", f"{DEPLOYMENTS}/web", body={})
    assert (status, answer["details"]) == (403, {"name": "web", "group": "apps",
                                                 "kind": "deployments"})
    # bindings are per cluster; discovery is every authenticated user's; the admin is not bound
    assert as_user(sandbox, token, "GET", DEPLOYMENTS, cluster="staging")[0] == 403
    assert as_user(sandbox, token, "GET", "/apis/apps/v1")[0] == 200
    assert as_user(sandbox, token, "GET", "/nonsense")[1]["message"] == (
        'forbidden: User "deployer" cannot get path "/nonsense"')
    assert request(sandbox, "GET", "/api/v1/namespaces/other")[0] == 200
    assert [r.user for r in sandbox.requests][-2:] == ["deployer", None]


def test_cluster_bindings_roles_groups_and_service_accounts(sandbox: Sandbox) -> None:
    namespace(sandbox, "shop")
    sandbox.create("dev", role("ClusterRole", "lister", [DEPLOYER[0]]))
    sandbox.create("dev", role("Role", "ns-reader", DEPLOYER[1:], "shop"))
    sandbox.create("dev", binding("ClusterRoleBinding", "team", "ClusterRole", "lister",
                                  [{"apiGroup": RBAC, "kind": "Group", "name": "team"}]))
    sandbox.create("dev", binding("RoleBinding", "ci", "Role", "ns-reader",
                                  [{"kind": "ServiceAccount", "name": "deployer"}], "shop"))
    member = sandbox.add_user("carol", groups=["team"])
    robot = sandbox.add_user("system:serviceaccount:shop:deployer")
    stranger = sandbox.add_user("system:serviceaccount:ci:deployer")
    assert as_user(sandbox, member, "GET", "/apis/apps/v1/deployments")[0] == 200
    assert as_user(sandbox, member, "GET", "/api/v1/namespaces/shop")[0] == 403
    assert as_user(sandbox, robot, "GET", "/api/v1/namespaces/shop")[0] == 200
    assert as_user(sandbox, stranger, "GET", "/api/v1/namespaces/shop")[0] == 403
    # a binding whose role is missing says so in the denial
    sandbox.create("dev", binding("RoleBinding", "dangling", "ClusterRole", "gone",
                                  [user_subject("carol")], "shop"))
    assert as_user(sandbox, member, "DELETE", f"{DEPLOYMENTS}/web")[1]["message"] == (
        'deployments.apps "web" is forbidden: User "carol" cannot delete resource '
        '"deployments" in API group "apps" in the namespace "shop": RBAC: '
        'clusterrole.rbac.authorization.k8s.io "gone" not found')


def test_users_through_the_control_endpoint(sandbox: Sandbox, tmp_path: Path) -> None:
    status, _, answer = request(sandbox, "POST", "/_sandbox/users", cluster=None, auth=None,
                                body={"name": "ci", "groups": ["team"], "token": "t0ken"})
    assert status == 201 and answer["token"] == "t0ken"
    kubeconfig = yaml.safe_load(answer["kubeconfig"])
    assert kubeconfig["users"][0]["user"] == {"token": "t0ken"}
    assert as_user(sandbox, "t0ken", "GET", "/api/v1/namespaces")[0] == 403
    assert request(sandbox, "GET", "/_sandbox/users", cluster=None, auth=None)[2] == [
        {"name": "ci", "groups": ["team", "system:authenticated"]}]
    with pytest.raises(ValueError, match="taken"):
        sandbox.add_user("ci")
    request(sandbox, "DELETE", "/_sandbox/users", cluster=None, auth=None)
    assert as_user(sandbox, "t0ken", "GET", "/api/v1/namespaces")[0] == 401


def kubectl_as(kubectl: str, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KUBECACHEDIR": str(kubeconfig.parent / "kubecache")}
    return subprocess.run([kubectl, "--kubeconfig", str(kubeconfig), "--context",
                           "globepay-dev", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def test_kubectl_as_a_user_and_auth_can_i(sandbox: Sandbox, tmp_path: Path,
                                          kubectl_bin: str) -> None:
    namespace(sandbox, "shop")
    sandbox.create("dev", role("ClusterRole", "deployer", [
        {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"],
         "verbs": ["get", "list", "patch"]}]))
    sandbox.create("dev", binding("RoleBinding", "deployer", "ClusterRole", "deployer",
                                  [user_subject("deployer")], "shop"))
    kubeconfig = tmp_path / "deployer.kubeconfig"
    sandbox.add_user("deployer", kubeconfig=kubeconfig)
    listed = kubectl_as(kubectl_bin, kubeconfig, "get", "deployments", "-n", "shop")
    assert listed.returncode == 0 and "No resources found in shop namespace." in listed.stderr
    denied = kubectl_as(kubectl_bin, kubeconfig, "get", "pods", "-n", "shop")
    assert denied.returncode == 1
    assert denied.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "deployer" cannot list resource '
        '"pods" in API group "" in the namespace "shop"')
    created = kubectl_as(kubectl_bin, kubeconfig, "create", "deployment", "web",
                         "--image=nginx", "-n", "shop")
    assert created.returncode == 1
    assert 'cannot create resource "deployments" in API group "apps"' in created.stderr
    for question, answer in (("patch deployments -n shop", "yes"),
                             ("patch deployments/web -n shop", "yes"),
                             ("update deployments --subresource=scale -n shop", "no"),
                             ("patch deployments --subresource=scale -n shop", "yes"),
                             ("delete deployments -n shop", "no"),
                             ("get deployments -n other", "no")):
        can = kubectl_as(kubectl_bin, kubeconfig, "auth", "can-i", *question.split())
        assert (can.stdout.strip(), can.returncode) == (answer, 0 if answer == "yes" else 1), \
            (question, can.stderr)
    admin = kubectl_as(kubectl_bin, Path(sandbox.kubeconfig), "auth", "can-i", "delete", "nodes")
    assert admin.stdout.strip() == "yes"
