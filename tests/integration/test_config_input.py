"""Bad configuration and flag input through the real ``invoke`` CLI (docs/failure-modes.md):
a ``-f`` file that is not there or not YAML/JSON, keys given twice, ``INVOKE_GLOBEPAY_*``
variables Invoke cannot use, shapes it cannot merge, an image without a tag, a kube context
without its cluster, a revision out of range, a file size limit. Each is one line and exit 1
before anything is written (a variable that sets nothing: a warning)."""

from __future__ import annotations

import shlex
import subprocess

import pytest
import yaml
from conftest import INVOKE, output
from test_failures import BACKEND, error_line, refused


def run(project, *args: str, shell: str = "", **environ: str) -> subprocess.CompletedProcess:
    """``invoke ARGS`` in the project copy, without the test's own ``-f`` (give one in
    ``args``), with ``environ`` added; ``shell``: a shell command run first (``ulimit``)."""
    project.write_config()
    argv = [INVOKE, *args]
    if shell:
        argv = ["bash", "-c", f"{shell}; exec {shlex.join(argv)}"]
    return subprocess.run(argv, cwd=project.root, env={**project.environ(), **environ},
                          capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def refused_with(project, *args: str, **environ: str) -> str:
    """``run`` must exit 1 without a request to any cluster; its one error line."""
    with project.untouched(reads=True):
        result = run(project, *args, **environ)
    assert result.returncode == 1, output(result)
    return error_line(result)


@pytest.mark.sandbox_only("without the check it would deploy into the kubeconfig's current "
                          "context")
def test_a_config_file_that_does_not_exist_or_is_not_yaml_stops_before_anything(project):
    (project.root / "ci.conf").write_text("globepay: {}\n")
    (project.root / "ci.d").mkdir()
    kubeconfig = str(project.kubeconfig)  # the current context is the dev cluster
    takes = "(-f takes a .yaml, .yml or .json file)"
    for given, message in (
        ("test-invoke.yml", "configuration file test-invoke.yml (-f) does not exist"),
        ("ci.conf", f"configuration file ci.conf is not YAML or JSON {takes}"),
        ("ci.d", f"configuration file ci.d is a directory {takes}"),
    ):
        line = refused_with(project, "-f", given, "deploy-all", "--yes", KUBECONFIG=kubeconfig)
        assert line == f"error: {message}"


def test_a_key_given_twice_is_named_with_its_line(project):
    contexts = project.contexts
    path = project.root / "ci.yaml"
    path.write_text(
        "globepay:\n"
        f"  kubeconfig: {project.kubeconfig}\n"
        "  environments:\n"
        f"    dev: {{context: {contexts['dev']}}}\n"
        f"    staging: {{context: {contexts['staging']}}}\n"
        f"    prod: {{context: {contexts['prod']}}}\n"
        f"    prod: {{context: {contexts['dev']}}}\n")
    line = refused_with(project, "-f", str(path), "deploy-all", "--yes")
    assert line == (f"error: {path} line 7: globepay.environments.prod is given twice (first on "
                    "line 6); give each key once")
    invoke_yaml = project.root / "invoke.yaml"
    invoke_yaml.write_text(invoke_yaml.read_text() + "  order: [dev]\n")
    line = refused(project, 1, "deploy-dev", reads=True)
    assert "invoke.yaml line 12: globepay.order is given twice (first on line 3)" in line


def test_environment_variables_invoke_cannot_use_are_named(project):
    config = str(project.config_file)
    line = refused_with(project, "-f", config, "deploy-dev",
                        INVOKE_GLOBEPAY_ENVIRONMENTS_PROD_TIMEOUT="abc")
    assert line == ("error: INVOKE_GLOBEPAY_ENVIRONMENTS_PROD_TIMEOUT='abc' is not a whole number "
                    "(it sets globepay.environments.prod.timeout)")
    line = refused_with(project, "-f", config, "deploy-dev", INVOKE_GLOBEPAY_ORDER="dev,prod")
    assert line == ("error: INVOKE_GLOBEPAY_ORDER cannot set globepay.order, a list: set it in a "
                    "configuration file (-f FILE) instead")


def test_a_variable_that_sets_nothing_is_a_warning(project):
    with project.untouched():
        result = run(project, "-f", str(project.config_file), "deploy-dev", "--dry-run",
                     INVOKE_GLOBEPAY_ENVIRONMENTS_QA_TIMEOUT="40")
    assert result.returncode == 0, output(result)
    assert ("warning: INVOKE_GLOBEPAY_ENVIRONMENTS_QA_TIMEOUT sets nothing: no default or "
            "configuration file has the key it names") in result.stdout


def test_a_null_environment_is_named(project):
    project.settings["environments"]["staging"] = None
    line = refused(project, 1, "deploy-dev", reads=True)
    assert line == (f"error: globepay.environments.staging is null in {project.config_file}; "
                    "it must be a mapping ({} keeps the defaults)")


def test_an_image_needs_a_tag_or_digest_and_one_the_overlay_has_is_said(project):
    line = refused(project, 1, "deploy-dev", "--image", f"backend={BACKEND}", reads=True)
    assert line == (f"error: --image 'backend={BACKEND}' names no tag or digest (give "
                    f"backend={BACKEND}:TAG or backend={BACKEND}@sha256:DIGEST)")
    overlay = yaml.safe_load((project.root / "k8s/overlays/dev/kustomization.yaml").read_text())
    tag = next(entry["newTag"] for entry in overlay["images"]
               if entry["name"].endswith("/backend"))
    with project.untouched():
        result = project.invoke("deploy-dev", "--dry-run", "--image", f"backend={BACKEND}:{tag}")
    assert result.returncode == 0, output(result)
    assert f"plan: image backend={BACKEND}:{tag}: the overlay has it already" in result.stdout


def test_a_context_without_its_cluster_or_user_is_refused(project):
    path = project.root / "broken-kubeconfig"
    context = project.context("dev")
    for entry in ("cluster", "user"):
        document = project.kubeconfig_document()
        for item in document["contexts"]:
            if item["name"] == context:
                item["context"][entry] = "gone"
        path.write_text(yaml.safe_dump(document))
        project.settings["kubeconfig"] = str(path)
        line = refused(project, 1, "deploy-dev", reads=True)
        assert line.endswith(f"dev: kube context '{context}' of the kubeconfig ({path}) names "
                             f"{entry} 'gone', which is not in it")


def test_a_revision_out_of_range_is_named(project):
    line = refused(project, 1, "rollback", "--env", "dev", "--to-revision",
                   "99999999999999999999", reads=True)
    assert line == ("error: --to-revision 99999999999999999999 is out of range (at most "
                    "9223372036854775807)")


def test_a_file_size_limit_is_one_line(project):
    assert project.kubectl("dev", "get", "namespaces").returncode == 0  # discovery cached
    report = project.root / "report.json"
    with project.untouched():
        result = run(project, "-f", str(project.config_file), "deploy-dev", "--report",
                     str(report), shell="ulimit -f 1")
    assert result.returncode == 1, output(result)
    line = error_line(result)
    assert "cannot write /" in line and line.endswith("manifest.yaml: File too large")
    assert (f"warning: could not write the report {report}: [Errno 27] File too large"
            in result.stdout)
    assert not list(project.root.glob("report.json*"))  # no report, no half of one
