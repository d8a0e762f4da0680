"""An overlay's ``images:`` set in Python (`overlay_render`, `kustomize_images`) give exactly
what the real ``kubectl kustomize`` renders, or kustomize renders the overlay itself."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest
import yaml
from invoke import Context

from globepay_tasks import kubectl, kustomize_images, manifests, overlay_render, workloads
from globepay_tasks.errors import ConfigError
from globepay_tasks.runner import Runner

DIGESTS = ["sha256:" + c * 64 for c in "abcd"]
REFS = ["reg.io/app", "reg.io/app:1.0", f"reg.io/app:1.0@{DIGESTS[0]}", f"reg.io/app@{DIGESTS[1]}",
        "regXio/app:2", "localhost:5000/team/tool:3", "busybox", "busybox:1.36",
        "docker.io/library/nginx:1.25", "reg.io/app-extra:1", "reg.io/app/sub:5"]
ENTRIES = [
    {"name": "reg.io/app", "newTag": "2.0"},  # "." matches any character: regXio/app too
    {"name": "busybox", "newName": "reg.io/mirror/busybox"},
    {"name": "reg.io/mirror/busybox", "digest": DIGESTS[2]},  # the entry before's result
    {"name": "localhost:5000/team/tool", "newName": "localhost:5000/team/tool2", "newTag": "4",
     "digest": DIGESTS[3]},
    {"name": "docker.io/library/nginx", "newName": "nginx"},
    {"name": "reg.io/app-extra", "digest": DIGESTS[1]},
    {"name": "nothing-has-it", "newTag": "9"},
]


def pod_spec(images: list[str], volume: str | None = None) -> dict:
    spec: dict = {"containers": [{"name": f"c{i}", "image": ref} for i, ref in enumerate(images)],
                  "initContainers": [{"name": "init", "image": images[0]}],
                  "volumes": [{"name": "w", "configMap": {"name": "settings"}}]}
    if volume:  # kustomize 5.8 sets its image, 5.5 does not
        spec["volumes"].append({"name": "v", "image": {"reference": volume}})
    return spec


def base_objects(images: list[str], volume: bool) -> list[dict]:
    labels = {"app": "web"}
    return [
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
         "spec": {"selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": pod_spec(images)}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
         "spec": {"schedule": "0 1 * * *", "jobTemplate": {"spec": {"template": {
             "spec": {**pod_spec(images[1:3]), "restartPolicy": "Never"}}}}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug"},
         "spec": pod_spec(images[2:4], images[0] if volume else None)},
        {"apiVersion": "example.com/v1", "kind": "Pipeline", "metadata": {"name": "build"},
         "spec": {"steps": [{"containers": [{"name": "s", "image": images[4 % len(images)]}]}]}},
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
         "metadata": {"name": "pipelines.example.com"},
         "spec": {"containers": [{"name": "x", "image": images[0]}]}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
         "data": {"image": images[0]}},
    ]


def make_project(root: Path, images: list[str], entries: list[dict], *,
                 overlay_extra: str = "", base_extra: str = "", volume: bool = False) -> Path:
    base, overlay = root / "k8s" / "base", root / "k8s" / "overlays" / "prod"
    base.mkdir(parents=True, exist_ok=True)
    overlay.mkdir(parents=True)
    (base / "objects.yaml").write_text(yaml.safe_dump_all(base_objects(images, volume)))
    (base / "kustomization.yaml").write_text("resources:\n- objects.yaml\n" + base_extra)
    (overlay / "replicas.yaml").write_text(
        "- op: add\n  path: /spec/replicas\n  value: 3\n")
    (overlay / "app.env").write_text("MODE=prod\n")
    (overlay / "kustomization.yaml").write_text(
        "resources:\n- ../../base\nnamespace: globepay-prod\n"
        + yaml.safe_dump({"images": entries}, sort_keys=False)
        + "patches:\n- path: replicas.yaml\n  target: {kind: Deployment, name: web}\n"
        + "configMapGenerator:\n- name: app\n  envs: [app.env]\n" + overlay_extra)
    return overlay


def kustomize(kubectl_bin: str, directory: Path | str) -> list[dict]:
    return kubectl.parse_manifest(subprocess.run(
        [kubectl_bin, "kustomize", str(directory)], check=True, capture_output=True,
        text=True).stdout)


def render(kubectl_bin: str, overlay: Path) -> overlay_render.Overlay:
    rendered = overlay_render.render(Runner(Context()), kubectl_bin, overlay)
    assert not list(overlay.parent.glob(".*globepay-render*")), "the copy was not removed"
    assert kubectl.parse_manifest(rendered.rendered.manifest) == list(rendered.rendered.objects)
    assert rendered.rendered.overlay == str(overlay)
    return rendered


def test_the_overlays_images_set_in_python_are_kustomizes(tmp_path: Path, kubectl_any: str):
    overlay = make_project(tmp_path, REFS, ENTRIES)
    rendered = render(kubectl_any, overlay)
    assert rendered.images_in_python
    expected = kustomize(kubectl_any, overlay)
    assert list(rendered.rendered.objects) == expected
    web = next(o for o in expected if o["kind"] == "Deployment")["spec"]["template"]["spec"]
    assert web["containers"][4]["image"] == "regXio/app:2.0"  # the test tests something
    assert next(o for o in expected if o["kind"] == "CronJob")["spec"]["jobTemplate"]["spec"][
        "template"]["spec"]["containers"][1]["image"] == "reg.io/app:2.0"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_references_and_entries(tmp_path: Path, kubectl_bin: str, seed: int):
    pick = random.Random(seed)
    names = ["reg.io/app", "reg.io/app-extra", "busybox", "localhost:5000/team/tool",
             "reg.io/app/sub", "quay.io/x/y"]

    def ref() -> str:
        value = pick.choice(names)
        value += pick.choice(["", ":1", ":1.2.3", ":latest"])
        return value + pick.choice(["", "", f"@{pick.choice(DIGESTS)}"])

    def entry() -> dict:
        found = {"name": pick.choice(names)}
        for key, values in (("newName", names), ("newTag", ["7", "8.0"]), ("digest", DIGESTS)):
            if pick.random() < 0.4:
                found[key] = pick.choice(values)
        return found

    overlay = make_project(tmp_path, [ref() for _ in range(12)], [entry() for _ in range(8)])
    rendered = render(kubectl_bin, overlay)
    assert rendered.images_in_python
    assert list(rendered.rendered.objects) == kustomize(kubectl_bin, overlay)


def test_images_given_on_the_command_line_are_set_as_a_kustomization_over_it(
        tmp_path: Path, kubectl_bin: str):
    overlay = make_project(tmp_path, REFS, ENTRIES)
    plain = render(kubectl_bin, overlay)
    available = manifests.rendered_images(plain.rendered)
    overrides = {"app": f"reg.io/app:3.0@{DIGESTS[3]}", "tool2": "reg.io/tool:5"}
    rendered = overlay_render.with_images(plain, workloads.image_entries(overrides, available))
    with workloads.kustomization_for(overlay, overrides, available) as directory:
        assert list(rendered.objects) == kustomize(kubectl_bin, directory)
    assert f"reg.io/app:3.0@{DIGESTS[3]}" in manifests.rendered_images(rendered)


@pytest.mark.parametrize("case", [
    "replacements", "configurations in the base", "tagSuffix", "images last without newline",
    "another digest algorithm", "an image volume"])
def test_what_only_kustomize_decides_is_rendered_by_kustomize(tmp_path: Path, kubectl_any: str,
                                                              case: str):
    kubectl_bin = kubectl_any
    entries, extra, base_extra, refs = list(ENTRIES), "", "", list(REFS)
    if case == "replacements":  # runs after the images: copies the image set by them
        extra = ("replacements:\n- source: {kind: Deployment, name: web, fieldPath: "
                 "spec.template.spec.containers.0.image}\n  targets:\n  - select: {kind: "
                 "ConfigMap, name: settings}\n    fieldPaths: [data.image]\n")
    elif case == "configurations in the base":  # another field holds images
        (tmp_path / "k8s" / "base").mkdir(parents=True)
        (tmp_path / "k8s" / "base" / "images.yaml").write_text(
            "images:\n- path: spec/builder\n  kind: Pipeline\n")
        base_extra = "configurations:\n- images.yaml\n"
    elif case == "tagSuffix":
        entries.append({"name": "busybox", "tagSuffix": "-debug"})
    elif case == "another digest algorithm":
        refs.append("reg.io/app@sha512:" + "e" * 128)
    overlay = make_project(tmp_path, refs, entries, overlay_extra=extra, base_extra=base_extra,
                           volume=case == "an image volume")
    if case == "configurations in the base":
        objects = tmp_path / "k8s" / "base" / "objects.yaml"
        docs = list(yaml.safe_load_all(objects.read_text()))
        docs[3]["spec"]["builder"] = "reg.io/app:1.0"
        objects.write_text(yaml.safe_dump_all(docs))
    if case == "images last without newline":
        text = (overlay / "kustomization.yaml").read_text()
        text = text.replace(yaml.safe_dump({"images": entries}, sort_keys=False), "")
        (overlay / "kustomization.yaml").write_text(
            text + yaml.safe_dump({"images": entries}, sort_keys=False).rstrip("\n"))
    rendered = render(kubectl_bin, overlay)
    expected = kustomize(kubectl_bin, overlay)
    assert list(rendered.rendered.objects) == expected
    assert not rendered.images_in_python
    if case == "replacements":
        assert next(o for o in expected if o["kind"] == "ConfigMap" and o["metadata"][
            "name"] == "settings")["data"]["image"] == "reg.io/app:2.0"
    if case == "configurations in the base":
        assert next(o for o in expected if o["kind"] == "Pipeline")["spec"][
            "builder"] == "reg.io/app:2.0"


def test_an_overlay_that_does_not_build_is_named_as_it_is(tmp_path: Path, kubectl_bin: str):
    overlay = make_project(tmp_path, REFS, ENTRIES)
    (overlay / "replicas.yaml").write_text("- op: replace\n  path: /spec/nothing/there\n"
                                           "  value: 3\n")
    with pytest.raises(ConfigError) as caught:
        render(kubectl_bin, overlay)
    assert f"overlay {overlay} does not build" in caught.value.message
    assert "globepay-render" not in caught.value.message


def test_kustomizes_split_of_a_reference():
    assert kustomize_images.split("reg.io:5000/a/b:1@sha256:x") == (
        "reg.io:5000/a/b", "1", "sha256:x")
    assert kustomize_images.split("busybox@sha256:x") == ("busybox", "", "sha256:x")
    assert kustomize_images.split("localhost:5000/a") == ("localhost:5000/a", "", "")
    assert kustomize_images.split("a:1") == ("a", "1", "")
    with pytest.raises(kustomize_images.Unsupported):
        kustomize_images.entries([{"name": "reg.io/(a|b)", "newTag": "1"}])
    with pytest.raises(kustomize_images.Unsupported):
        kustomize_images.entries([{"name": "a", "newTag": 1.5}])
