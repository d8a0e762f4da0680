"""The promotion policy through `Promoter`, `chain` and `multicluster`, against `FakeKubectl`:
what is rolled back, what a lock stops, where a chain stops, what the plan says."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fake_cluster import FakeKubectl, digest_of
from invoke import Result

from globepay_tasks import audit, badimages
from globepay_tasks.audit import Audit
from globepay_tasks.config import load_settings
from globepay_tasks.errors import (
    ConfigError,
    EnvironmentLocked,
    ExitStatus,
    HookFailed,
    RolloutFailed,
)
from globepay_tasks.hooks import CheckFailed, HookContext
from globepay_tasks.kubectl import LAST_APPLIED_ANNOTATION as LAST_APPLIED
from globepay_tasks.kubectl import WorkloadRef, join_argv, parse_manifest, workloads_in
from globepay_tasks.manifests import Rendered
from globepay_tasks.progress import Progress
from globepay_tasks.promotion import EnvResult, Promoter, chain, multicluster
from globepay_tasks.promotion.plan import CHANGE, CREATE, SAME, UNKNOWN, predict, summarize
from globepay_tasks.runner import Runner
from globepay_tasks.workload_state import WorkloadState

REGISTRY = "registry.globepay.dev/globepay"
CONTEXTS = ("dev", "staging", "prod", "eu", "us", "ap")
SMOKE = "./smoke-test.sh"


def image(name: str, tag: str) -> str:
    return f"{REGISTRY}/{name}:{tag}"


def deployment(env: str, name: str, tag: str) -> dict:
    """A Deployment as kustomize renders it into ``env``'s namespace."""
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": f"globepay-{env}", "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "containers": [{"name": name, "image": image(name, tag)}]}}}}


def manifest(env: str, **tags: str) -> str:
    """A rendered manifest of one Deployment per ``name=tag``."""
    return "---\n".join(yaml.safe_dump(deployment(env, name, tag), sort_keys=False)
                        for name, tag in tags.items())


class World:
    """A project (its ``globepay`` configuration and overlays) and the clusters it deploys to."""

    def __init__(self, root: Path) -> None:
        self.root = root
        git = ["git", "-C", str(root)]
        self.fake = FakeKubectl(CONTEXTS, commands={
            join_argv([*git, "rev-parse", "HEAD"]): Result("0123456789abcdef\n"),
            join_argv([*git, "status", "--porcelain"]): Result(""),
            SMOKE: Result("smoke: GET /health/ready -> 503\n", exited=4),
        })
        self.config: dict = {
            "kubectl": "kubectl", "order": ["dev", "staging", "prod"], "promote_images": False,
            "retries": {"attempts": 1, "backoff": 0},
            "environments": {name: {"context": name, "timeout": 20, "pre_promotion": [],
                                    "post_promotion": []}
                             for name in ("dev", "staging", "prod")},
        }
        self.out = io.StringIO()

    def env(self, name: str) -> dict:
        return self.config["environments"][name]

    def overlay(self, env: str, **tags: str) -> None:
        """``env``'s overlay renders one Deployment per ``name=tag``."""
        self.fake.add_overlay(self.root / "k8s" / "overlays" / env, manifest(env, **tags))

    def seed(self, context: str, env: str, **tags: str) -> None:
        """``context`` runs what an earlier deploy of ``env`` left: ``name=tag``."""
        self.fake.seed(context, f"globepay-{env}", manifest(env, **tags))

    def promoter(self) -> Promoter:
        settings = load_settings(self.config)
        runner = Runner(self.fake, announce=self.out.write)
        progress = Progress(self.out, color=False)
        recorder = Audit(runner, progress, project_root=self.root, history_limit=10, environ={})
        return Promoter(settings, runner, progress, project_root=self.root, audit=recorder)

    def history(self, context: str, env: str) -> dict:
        """The newest history record in ``context``'s namespace of ``env``."""
        objects = [self.fake.get(context, f"globepay-{env}", "ConfigMap",
                                 f"{audit.NAME_PREFIX}{n}") for n in range(10)]
        records = audit.records_in(obj for obj in objects if obj)
        assert records, f"no history record in {context}"
        return records[0]

    def lease(self, context: str, env: str) -> dict:
        lease = self.fake.get(context, f"globepay-{env}", "Lease", "globepay-promotion")
        assert lease is not None
        return lease


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    world = World(tmp_path)
    yield world
    print(world.out.getvalue())  # the run's progress lines, shown when a test fails


def deploy(promoter: Promoter, name: str) -> EnvResult:
    """What ``invoke deploy --env NAME --yes`` does once it has its promoter."""
    env = promoter.settings.environment(name)
    rendered = chain.prepare(promoter, [env])[env.name]
    return multicluster.deploy(promoter, env, rendered)


def result_of(promoter: Promoter, env: str) -> EnvResult:
    return next(result for result in promoter.results if result.env == env)


def held_lease(env: str, holder: str, renewed: float) -> dict:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(renewed))
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "globepay-promotion", "namespace": f"globepay-{env}"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 600,
                     "acquireTime": stamp, "renewTime": stamp}}


def failing_check(context: HookContext) -> str:
    """A post-promotion hook that always fails."""
    raise CheckFailed(f"{context.env.name}: checkout returns 500")


def another_run_deployed(context: HookContext) -> str:
    """A pre-promotion hook during which another run takes the lock, deploys backend 1.7.0
    and releases the lock (the fake is the runner's Context)."""
    fake: FakeKubectl = context.runner.context
    namespace = context.env.namespace
    fake.seed("dev", namespace, manifest("dev", backend="1.7.0"))
    fake.put("dev", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": "globepay-promotion", "namespace": namespace},
                     "spec": {"leaseDurationSeconds": 140}})
    return "another run came and went"


def fails_in_us(context: HookContext) -> str:
    """A post-promotion hook that fails on the ``us`` cluster only."""
    if context.env.context == "us":
        raise CheckFailed(f"{context.env.name}: checkout returns 500")
    return "checkout ok"


@pytest.mark.parametrize("hook", [{"python": f"{__name__}:failing_check"}, SMOKE],
                         ids=["python", "shell"])
def test_failed_post_hook_rolls_back_only_the_workload_the_run_changed(world, hook):
    world.seed("dev", "dev", backend="1.6.0", frontend="2.0.0")
    world.overlay("dev", backend="1.7.0", frontend="2.0.0")
    world.env("dev")["post_promotion"] = [hook]
    promoter = world.promoter()

    with promoter, pytest.raises(HookFailed) as failed:
        deploy(promoter, "dev")

    assert failed.value.exit_code == ExitStatus.HOOK_FAILED
    assert world.fake.undone == [("dev", "globepay-dev", "deployment/backend")]
    undo = world.fake.calls_to("dev", "rollout", "undo")
    assert undo == [[*undo[0][:-2], "deployment/backend", "--to-revision=1"]]
    result = result_of(promoter, "dev")
    assert (result.outcome, result.exit_code) == ("rolled back", ExitStatus.HOOK_FAILED)
    assert result.rolled_back == ["deployment/backend"]
    assert [str(c.ref) for c in result.changes if c.changed] == ["deployment/backend"]
    assert "rolled back deployment/backend" in result.reason
    assert world.fake.image("dev", "globepay-dev", "backend") == image("backend", "1.6.0")
    assert world.fake.revision("dev", "globepay-dev", "frontend") == "1"
    assert result.revisions["deployment/backend"] == ("1", "3")
    record = world.history("dev", "dev")
    assert (record["outcome"], record["rolled_back"]) == ("rolled back", ["deployment/backend"])
    assert "holderIdentity" not in world.lease("dev", "dev")["spec"]


def test_an_image_rolled_back_after_a_failed_hook_is_refused_next_time(world):
    world.seed("dev", "dev", backend="1.6.0")
    world.overlay("dev", backend="1.7.0")
    world.env("dev")["post_promotion"] = [{"python": f"{__name__}:failing_check"}]
    with world.promoter() as promoter, pytest.raises(HookFailed):
        deploy(promoter, "dev")
    marks = badimages.marks_in(world.fake.get("dev", "globepay-dev", "ConfigMap",
                                              badimages.CONFIGMAP))
    assert [(m.image, m.workload) for m in marks] == [(image("backend", "1.7.0"),
                                                       "deployment/backend")]
    world.env("dev")["post_promotion"] = []
    applies = len(world.fake.manifest_applies("dev"))

    with world.promoter() as promoter, pytest.raises(ConfigError) as refused:
        deploy(promoter, "dev")

    assert refused.value.exit_code == ExitStatus.ERROR
    assert "is marked bad in dev" in refused.value.message
    assert len(world.fake.manifest_applies("dev")) == applies


def test_a_lock_held_by_another_run_stops_the_deploy_before_anything_is_applied(world):
    world.seed("dev", "dev", backend="1.6.0")
    world.overlay("dev", backend="1.7.0")
    lease = world.fake.put("dev", held_lease("dev", "alice@ci-7", time.time() - 30))
    promoter = world.promoter()

    with promoter, pytest.raises(EnvironmentLocked) as locked:
        deploy(promoter, "dev")

    assert locked.value.exit_code == ExitStatus.LOCKED
    assert "locked by alice@ci-7" in locked.value.message
    result = result_of(promoter, "dev")
    assert (result.outcome, result.exit_code) == ("failed", ExitStatus.LOCKED)
    assert world.fake.calls_to("dev", "apply") == []
    assert world.fake.calls_to("dev", "replace") == world.fake.calls_to("dev", "create") == []
    assert world.lease("dev", "dev") == lease
    assert world.fake.image("dev", "globepay-dev", "backend") == image("backend", "1.6.0")


def test_a_stale_lock_is_taken_over_and_released(world):
    world.seed("dev", "dev", backend="1.6.0")
    world.overlay("dev", backend="1.7.0")
    world.fake.put("dev", held_lease("dev", "alice@ci-7", time.time() - 3600))

    with world.promoter() as promoter:
        result = deploy(promoter, "dev")

    assert result.outcome == "succeeded"
    assert "took over a stale lock: it was held by alice@ci-7" in world.out.getvalue()
    # taken over, then renewed before the apply and before the record
    assert len(world.fake.calls_to("dev", "replace")) == 3
    assert "holderIdentity" not in world.lease("dev", "dev")["spec"]
    assert world.fake.image("dev", "globepay-dev", "backend") == image("backend", "1.7.0")


def test_a_lock_taken_since_the_snapshot_makes_the_run_read_and_plan_again(world):
    world.seed("dev", "dev", backend="1.6.0")
    world.overlay("dev", backend="1.7.0")
    world.env("dev")["pre_promotion"] = [{"python": f"{__name__}:another_run_deployed"}]
    world.env("dev")["post_promotion"] = [{"python": f"{__name__}:failing_check"}]
    promoter = world.promoter()

    with promoter, pytest.raises(HookFailed):
        deploy(promoter, "dev")

    result = result_of(promoter, "dev")
    assert [(str(p.ref), p.action) for p in result.plan] == [("deployment/backend", SAME)]
    assert "plan: read again: 0 to change, 0 to create, 1 unchanged" in world.out.getvalue()
    # the snapshot, the read after the lock changed hands, the read of what to put back
    assert len([argv for argv in world.fake.calls_to("dev", "get")
                if "configmaps" in argv[-3]]) == 3
    assert len(world.fake.calls_to("dev", "create")) == 1  # AlreadyExists: read again
    assert len(world.fake.calls_to("dev", "replace")) == 2  # taken; renewed before the apply
    # the other run's 1.7.0 is not this run's change: nothing is undone
    assert result.outcome == "failed" and result.rolled_back == []
    assert world.fake.undone == []
    assert world.fake.image("dev", "globepay-dev", "backend") == image("backend", "1.7.0")


def test_a_chain_does_not_start_while_a_later_environment_is_locked(world):
    for env in ("dev", "staging", "prod"):
        world.seed(env, env, backend="1.6.0")
        world.overlay(env, backend="1.7.0")
    world.fake.put("prod", held_lease("prod", "alice@ci-7", time.time()))
    promoter = world.promoter()

    with promoter, pytest.raises(EnvironmentLocked) as locked:
        chain.deploy_chain(promoter, list(promoter.settings.chain()), lambda: None)

    assert locked.value.exit_code == ExitStatus.LOCKED
    assert promoter.results == []
    for env in ("dev", "staging"):
        assert world.fake.manifest_applies(env) == [], env
        assert "holderIdentity" not in world.lease(env, env)["spec"], env
    assert world.lease("prod", "prod")["spec"]["holderIdentity"] == "alice@ci-7"


def test_the_chain_stops_at_the_first_failed_environment(world):
    for env in ("dev", "staging", "prod"):
        world.seed(env, env, backend="1.6.0", frontend="2.0.0")
    world.overlay("dev", backend="1.7.0", frontend="2.0.0")
    world.overlay("staging", backend="1.7.0-broken", frontend="2.0.0")
    world.overlay("prod", backend="1.7.0", frontend="2.0.0")
    world.env("staging")["pre_promotion"] = [{"python": "globepay_tasks.checks:previous_healthy"}]
    prod_before = world.fake.get("prod", "globepay-prod", "Deployment", "backend")
    confirmed: list[int] = []
    promoter = world.promoter()
    envs = list(promoter.settings.chain())

    with promoter, pytest.raises(RolloutFailed) as failed:
        chain.deploy_chain(promoter, envs,
                           lambda: confirmed.append(len(world.fake.calls_to("dev", "apply"))))

    assert confirmed == [0]  # asked once, before anything was applied
    assert failed.value.exit_code == ExitStatus.ROLLOUT_FAILED
    assert "exceeded its progress deadline" in failed.value.message
    assert [(r.env, r.outcome) for r in promoter.results] == [
        ("dev", "succeeded"), ("staging", "rolled back"), ("prod", "skipped (not reached)")]
    assert result_of(promoter, "staging").exit_code == ExitStatus.ROLLOUT_FAILED
    assert result_of(promoter, "staging").hooks[0].ok  # dev was healthy
    assert world.fake.image("dev", "globepay-dev", "backend") == image("backend", "1.7.0")
    assert world.fake.image("staging", "globepay-staging", "backend") == image("backend",
                                                                              "1.6.0")
    assert world.fake.undone == [("staging", "globepay-staging", "deployment/backend")]
    assert world.fake.manifest_applies("prod") == []
    assert world.fake.calls_to("prod", "rollout") == []
    assert world.fake.get("prod", "globepay-prod", "Deployment", "backend") == prod_before
    for env in ("dev", "staging", "prod"):  # prod's lock was held for the chain, then released
        assert "holderIdentity" not in world.lease(env, env)["spec"], env


def test_the_chain_carries_what_each_environment_ran_to_the_next(world):
    world.config["promote_images"] = True
    for env in ("dev", "staging", "prod"):
        world.seed(env, env, backend="1.6.0")
    world.overlay("dev", backend="1.7.0")
    world.overlay("staging", backend="1.6.0")
    world.overlay("prod", backend="1.6.0")
    promoter = world.promoter()

    with promoter:
        chain.deploy_chain(promoter, list(promoter.settings.chain()), lambda: None)

    pinned = f"{REGISTRY}/backend:1.7.0@{digest_of(image('backend', '1.7.0'))}"  # dev's pods
    for env in ("staging", "prod"):
        assert world.fake.image(env, f"globepay-{env}", "backend") == pinned
        assert result_of(promoter, env).requested == {"backend": pinned}
        assert result_of(promoter, env).source == ("dev" if env == "staging" else "staging")
    assert [r.outcome for r in promoter.results] == ["succeeded"] * 3


def test_a_failed_cluster_rolls_back_every_cluster_that_changed(world):
    world.env("prod").pop("context")
    world.env("prod")["targets"] = [{"context": c} for c in ("eu", "us", "ap")]
    world.env("prod")["post_promotion"] = [{"python": f"{__name__}:fails_in_us"}]
    world.seed("eu", "prod", backend="1.6.0", frontend="2.0.0")
    world.seed("us", "prod", backend="1.6.0", frontend="2.0.0")
    world.seed("ap", "prod", backend="1.7.0", frontend="2.0.0")  # already there
    world.overlay("prod", backend="1.7.0", frontend="2.0.0")
    promoter = world.promoter()

    with promoter, pytest.raises(HookFailed) as failed:
        deploy(promoter, "prod")

    assert failed.value.exit_code == ExitStatus.HOOK_FAILED
    assert sorted(world.fake.undone) == [("eu", "globepay-prod", "deployment/backend"),
                                         ("us", "globepay-prod", "deployment/backend")]
    for context in ("eu", "us", "ap"):
        assert len(world.fake.manifest_applies(context)) == 1, context
    for context, tag in (("eu", "1.6.0"), ("us", "1.6.0"), ("ap", "1.7.0")):
        assert world.fake.image(context, "globepay-prod", "backend") == image("backend", tag)
    outcomes = {r.env: (r.outcome, r.exit_code, r.rolled_back) for r in promoter.results}
    assert outcomes == {
        "prod": ("failed", ExitStatus.HOOK_FAILED, []),
        "prod/eu": ("rolled back", ExitStatus.HOOK_FAILED, ["deployment/backend"]),
        "prod/us": ("rolled back", ExitStatus.HOOK_FAILED, ["deployment/backend"]),
        "prod/ap": ("succeeded", 0, []),
    }
    assert "prod/eu: undone because prod/us failed" in failed.value.message


def test_every_cluster_ends_with_a_record_of_what_happened_to_it(world):
    """eu changes its backend, ap only a ConfigMap, us fails: eu and ap are undone while
    still holding their locks, and their records say so, naming us; no image is marked bad
    where it did not fail."""
    world.env("prod").pop("context")
    world.env("prod")["targets"] = [{"context": c} for c in ("eu", "us", "ap")]
    world.env("prod")["post_promotion"] = [{"python": f"{__name__}:fails_in_us"}]
    world.seed("eu", "prod", backend="1.6.0")
    world.seed("us", "prod", backend="1.6.0")
    world.seed("ap", "prod", backend="1.7.0")
    for context in ("eu", "us", "ap"):
        world.fake.seed(context, "globepay-prod", SETTINGS)
    world.fake.add_overlay(world.root / "k8s" / "overlays" / "prod", manifest(
        "prod", backend="1.7.0") + "---\n" + SETTINGS.replace("level: info", "level: debug"))
    promoter = world.promoter()

    with promoter, pytest.raises(HookFailed):
        deploy(promoter, "prod")

    records = {context: world.history(context, "prod") for context in ("eu", "us", "ap")}
    assert {c: r["outcome"] for c, r in records.items()} == dict.fromkeys(
        ("eu", "us", "ap"), "rolled back")
    for context in ("eu", "ap"):
        assert records[context]["reason"].startswith(
            f"prod/{context}: undone because prod/us failed; rolled back"), context
        assert records[context]["marked_bad"] == [], context
        assert "release" not in records[context]
    assert records["eu"]["rolled_back"] == ["deployment/backend"]
    assert "restore: configmap/settings" in records["ap"]["restored"]
    assert "post-promotion hook" in records["us"]["reason"]
    assert records["us"]["marked_bad"] == [image("backend", "1.7.0")]
    for context in ("eu", "us", "ap"):
        settings = world.fake.get(context, "globepay-prod", "ConfigMap", "settings")
        assert settings["data"] == {"level": "info"}, context
        assert "holderIdentity" not in world.lease(context, "prod")["spec"]
    calls = world.fake.calls_to("eu")
    undo = calls.index(world.fake.calls_to("eu", "rollout", "undo")[0])
    released = max(i for i, argv in enumerate(calls) if argv[-3:-1] == ["apply", "-f"])
    assert undo < released, "eu's lock was released before it was undone"


def rendered(env: str, **tags: str) -> Rendered:
    text = manifest(env, **tags)
    objects = tuple(parse_manifest(text))
    return Rendered("overlay", objects, tuple(workloads_in(objects)), "overlay", text)


def states(fake: FakeKubectl, env: str, refs: tuple[WorkloadRef, ...]) -> dict[
        WorkloadRef, WorkloadState]:
    found = {ref: fake.get(env, f"globepay-{env}", ref.kind, ref.name) for ref in refs}
    return {ref: WorkloadState.from_object(obj) if obj else WorkloadState(ref, exists=False)
            for ref, obj in found.items()}


def test_the_plan_tells_new_changed_unchanged_and_unknown_workloads(world):
    world.seed("dev", "dev", backend="1.6.0", frontend="2.0.0")
    world.fake.seed("dev", "globepay-dev", manifest("dev", worker="3.0.0"), applied=False)
    wanted = rendered("dev", backend="1.7.0", frontend="2.0.0", worker="3.0.0", cron="1.0.0")

    plan = predict(wanted, states(world.fake, "dev", wanted.workloads))

    assert [(str(p.ref), p.action) for p in plan] == [
        ("deployment/backend", CHANGE), ("deployment/frontend", SAME),
        ("deployment/worker", UNKNOWN), ("deployment/cron", CREATE)]
    assert plan[0].describe() == "deployment/backend: change, backend 1.6.0 -> 1.7.0"
    assert plan[3].describe() == "deployment/cron: create, cron 1.0.0"
    assert summarize(plan) == "1 to change, 1 to create, 1 unchanged, 1 unknown"
    assert summarize(plan[:2]) == "1 to change, 0 to create, 1 unchanged"


def test_a_template_change_with_the_same_images_is_a_change(world):
    world.seed("dev", "dev", backend="1.6.0")
    wanted = rendered("dev", backend="1.6.0")
    wanted.objects[0]["spec"]["template"]["spec"]["containers"][0]["args"] = ["--verbose"]

    plan = predict(wanted, states(world.fake, "dev", wanted.workloads))

    assert [p.action for p in plan] == [CHANGE]
    assert plan[0].describe() == "deployment/backend: change"


def test_the_result_carries_the_plan_made_from_the_one_snapshot_read(world):
    world.seed("dev", "dev", backend="1.6.0", frontend="2.0.0")
    world.overlay("dev", backend="1.7.0", frontend="2.0.0", worker="3.0.0")

    with world.promoter() as promoter:
        result = deploy(promoter, "dev")

    assert result.outcome == "succeeded"
    assert [(str(p.ref), p.action, dict(p.images_before), dict(p.images_after))
            for p in result.plan] == [
        ("deployment/backend", CHANGE, {"backend": image("backend", "1.6.0")},
         {"backend": image("backend", "1.7.0")}),
        ("deployment/frontend", SAME, {"frontend": image("frontend", "2.0.0")},
         {"frontend": image("frontend", "2.0.0")}),
        ("deployment/worker", CREATE, {}, {"worker": image("worker", "3.0.0")})]
    snapshots = [argv for argv in world.fake.calls_to("dev", "get")
                 if "configmaps" in argv[-3]]
    assert len(snapshots) == 1  # read once, by the preflight; the plan and the lock use it
    assert ("== dev: context dev, namespace globepay-dev, 3 objects (3 Deployment): "
            "1 to change, 1 to create, 1 unchanged") in world.out.getvalue()
    assert [str(c.ref) for c in result.changes if c.changed] == [
        "deployment/backend", "deployment/worker"]


@pytest.mark.parametrize("argv", [
    ["kubectl", "--context", "dev", "--namespace", "globepay-dev", "delete", "pod", "x"],
    ["kubectl", "--context", "dev", "--namespace", "globepay-dev", "get", "secrets",
     "--output", "json"],
    ["kubectl", "--context", "nowhere", "--namespace", "globepay-dev", "get", "pods",
     "--output", "json"],
    ["helm", "upgrade", "--install", "globepay"],
])
def test_the_fake_fails_loudly_on_a_command_it_does_not_know(world, argv):
    with pytest.raises(AssertionError, match=re.escape(str(argv))):
        Runner(world.fake).run(argv)


SETTINGS = """apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  namespace: globepay-prod
data:
  level: info
"""
RETIRED = """apiVersion: v1
kind: ConfigMap
metadata:
  name: retired
  namespace: globepay-prod
data:
  a: b
"""


def test_a_cluster_undone_after_its_prune_gets_the_pruned_object_back(world):
    """eu prunes what its overlay no longer renders, then us fails: eu is put back, the
    pruned ConfigMap created again as it was, with its last-applied configuration."""
    world.env("prod").pop("context")
    world.env("prod")["targets"] = [{"context": c} for c in ("eu", "us")]
    world.env("prod")["post_promotion"] = [{"python": f"{__name__}:fails_in_us"}]
    for context in ("eu", "us"):
        world.seed(context, "prod", backend="1.6.0", frontend="2.0.0")
        world.fake.seed(context, "globepay-prod", RETIRED)
    before = world.fake.get("eu", "globepay-prod", "ConfigMap", "retired")
    world.overlay("prod", backend="1.7.0", frontend="2.0.0")
    promoter = world.promoter()

    with promoter, pytest.raises(HookFailed):
        deploy(promoter, "prod")

    results = {r.env: r for r in promoter.results}
    assert results["prod/eu"].pruned == ["configmap/retired"]
    assert "re-create: configmap/retired (pruned by this run)" in results["prod/eu"].restored
    again = world.fake.get("eu", "globepay-prod", "ConfigMap", "retired")
    assert again["data"] == before["data"]
    assert (again["metadata"]["annotations"][LAST_APPLIED]
            == before["metadata"]["annotations"][LAST_APPLIED])
    assert results["prod/us"].pruned == []  # its hooks failed before its prune
    assert world.fake.get("us", "globepay-prod", "ConfigMap", "retired") is not None
