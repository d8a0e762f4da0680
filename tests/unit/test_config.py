"""Configuration: defaults, validation, one-line errors naming the key to fix."""

import copy

import pytest

from globepay_tasks.config import DEFAULTS, load_settings
from globepay_tasks.errors import ConfigError


def tree(**changes):
    data = copy.deepcopy(DEFAULTS["globepay"])
    data.update(changes)
    return data


def test_defaults_follow_the_seed():
    settings = load_settings(DEFAULTS["globepay"])
    assert settings.order == ("dev", "staging", "prod")
    prod = settings.environment("prod")
    assert prod.namespace == "globepay-prod" and prod.overlay == "k8s/overlays/prod"
    assert prod.confirm is True and settings.environment("dev").confirm is False
    assert [h.target for h in settings.environment("dev").pre_promotion] == []
    assert [h.target for h in prod.pre_promotion] == [
        "globepay_tasks.checks:previous_healthy", "globepay_tasks.checks:previous_smoke"]
    assert [h.target for h in prod.post_promotion] == [
        "globepay_tasks.checks:healthy", "globepay_tasks.checks:smoke"]
    assert settings.previous("staging").name == "dev"
    assert settings.previous("dev") is None


def test_unknown_key_is_named():
    data = tree()
    data["environments"]["prod"]["confrim"] = True
    with pytest.raises(ConfigError, match=r"globepay\.environments\.prod\.confrim"):
        load_settings(data)
    with pytest.raises(ConfigError, match=r"globepay\.oder"):
        load_settings(tree(oder=["dev"]))


def test_order_must_name_configured_environments():
    with pytest.raises(ConfigError, match="'qa'"):
        load_settings(tree(order=["dev", "qa"]))


def test_environment_outside_order_is_usable_by_name():
    data = tree()
    data["environments"]["qa"] = {"timeout": 30}
    settings = load_settings(data)
    assert [env.name for env in settings.chain()] == ["dev", "staging", "prod"]
    qa = settings.environment("qa")
    assert qa.namespace == "globepay-qa" and qa.timeout == 30
    assert settings.previous("qa") is None


def test_unknown_environment_lists_known_ones():
    with pytest.raises(ConfigError, match=r"unknown environment 'uat' \(configured: dev, prod"):
        load_settings(tree()).environment("uat")


@pytest.mark.parametrize("hook, kind, target", [
    ("pytest tests/smoke && ./notify.sh", "shell", "pytest tests/smoke && ./notify.sh"),
    (["pytest", "-q"], "exec", ("pytest", "-q")),
    ({"run": "make smoke", "timeout": 5}, "shell", "make smoke"),
    ({"run": ["make", "smoke"]}, "exec", ("make", "smoke")),
    ({"http": "http://127.0.0.1:1/health", "expect": 204, "retries": 2}, "http",
     "http://127.0.0.1:1/health"),
    ({"python": "pkg.mod:check"}, "python", "pkg.mod:check"),
])
def test_hook_forms(hook, kind, target):
    data = tree()
    data["environments"]["dev"]["post_promotion"] = [hook]
    parsed = load_settings(data).environment("dev").post_promotion[0]
    assert (parsed.kind, parsed.target) == (kind, target)


@pytest.mark.parametrize("hook, message", [
    ({"shell": "x"}, "unknown hook type"),
    ({"http": "ftp://x"}, "http:// or https://"),
    ({"python": "no_colon"}, "module:function"),
    ({"run": "x", "timout": 3}, r"post_promotion\[0\]\.timout"),
    ({"run": "x", "timeout": "soon"}, "number of seconds"),
    ({"run": "x", "timeout": float("nan")}, r"post_promotion\[0\]\.timeout must be a finite"),
    ({"http": "http://x/", "expect": "ok"}, r"expect must be a whole number of 100 or more"),
    ({"http": "http://x/", "expect": 600}, r"expect must be an HTTP status"),
    ({"http": "http://x/", "retries": float("nan")}, r"retries must be a whole number of 0"),
    (42, "command string, a list or a mapping"),
])
def test_bad_hooks(hook, message):
    data = tree()
    data["environments"]["dev"]["post_promotion"] = [hook]
    with pytest.raises(ConfigError, match=message):
        load_settings(data)


@pytest.mark.parametrize("field, value, message", [
    ("namespace", "Globepay_Prod", "not a valid name"),
    ("timeout", 0, "greater than 0"),
    ("timeout", float("nan"), r"environments\.prod\.timeout must be a finite number"),
    ("timeout", float("inf"), r"environments\.prod\.timeout must be a finite number"),
    ("timeout", "-inf", r"environments\.prod\.timeout must be a finite number"),
    ("confirm", "maybe", "true or false"),
])
def test_bad_environment_values(field, value, message):
    data = tree()
    data["environments"]["prod"][field] = value
    with pytest.raises(ConfigError, match=message):
        load_settings(data)


def test_invalid_environment_name():
    data = tree()
    data["environments"]["Prod;rm"] = {}
    with pytest.raises(ConfigError, match="environment name"):
        load_settings(data)


@pytest.mark.parametrize("section, key", [
    ("lock", "ttl_margin"), ("retries", "backoff"), ("ssh", "connect_timeout")])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), "nan"])
def test_numbers_that_are_not_finite_are_refused(section, key, value):
    data = tree()
    data[section] = {**data[section], key: value}
    with pytest.raises(ConfigError, match=rf"globepay\.{section}\.{key} must be a finite"):
        load_settings(data)
