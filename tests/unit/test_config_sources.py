"""The sources of the configuration: duplicate YAML keys, the -f file, variables that set
nothing."""

from __future__ import annotations

import pytest
from invoke import Config

from globepay_tasks.config_sources import check, check_unique_keys, unused_variables
from globepay_tasks.errors import ConfigError


def config_with(tmp_path, text: str, name: str = "ci.yaml") -> Config:
    """An Invoke Config that loaded ``text`` as its runtime file, as ``invoke -f`` does."""
    path = tmp_path / name
    path.write_text(text)
    config = Config(runtime_path=str(path))
    config.load_runtime()
    return config


@pytest.mark.parametrize("text, message", [
    ("globepay:\n  environments:\n    prod: {context: a}\n    dev: {}\n    prod: {context: b}\n",
     r"line 5: globepay\.environments\.prod is given twice \(first on line 3\)"),
    ("globepay:\n  environments:\n    dev:\n      post_promotion:\n"
     "        - {run: x, timeout: 1, timeout: 2}\n",
     r"line 5: globepay\.environments\.dev\.post_promotion\[0\]\.timeout is given twice"),
    ("globepay: {order: [dev]}\nglobepay: {}\n", r"line 2: globepay is given twice"),
])
def test_a_key_given_twice_is_named_with_its_line(tmp_path, text, message):
    path = tmp_path / "invoke.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        check_unique_keys(str(path))


def test_the_same_key_in_different_mappings_is_fine(tmp_path):
    path = tmp_path / "invoke.yaml"
    path.write_text("globepay:\n  environments:\n    dev: {timeout: 1}\n    prod: {timeout: 2}\n"
                    "  lock: &lock {ttl_margin: 5}\n  retries: {attempts: 2}\n")
    check_unique_keys(str(path))


def test_the_runtime_file_must_exist_and_be_yaml_or_json(tmp_path):
    missing = Config(runtime_path=str(tmp_path / "typo.yaml"))
    missing.load_runtime()  # Invoke itself skips a runtime file that does not exist
    with pytest.raises(ConfigError, match=r"typo\.yaml \(-f\) does not exist"):
        check(missing, environ={})
    with pytest.raises(ConfigError, match=r"settings\.py is not YAML or JSON"):
        check(config_with(tmp_path, "globepay = {}\n", "settings.py"), environ={})
    with pytest.raises(ConfigError, match=r"ci\.yaml line 2: globepay is given twice"):
        check(config_with(tmp_path, "globepay: {}\nglobepay: {}\n"), environ={})
    assert check(config_with(tmp_path, '{"globepay": {}}', "ci.json"), environ={}) == []


def test_a_variable_that_sets_nothing_is_a_warning(monkeypatch):
    config = Config()
    config.load_collection({"globepay": {"environments": {"prod": {"timeout": 600}}}})
    environ = {"INVOKE_GLOBEPAY_ENVIRONMENTS_PROD_TIMEOUT": "900",
               "INVOKE_GLOBEPAY_ENVIRONMENTS_QA_TIMEOUT": "40", "INVOKE_RUN_ECHO": "1"}
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    config.load_shell_env()
    assert config.globepay.environments.prod.timeout == 900
    assert unused_variables(config, environ) == [
        "warning: INVOKE_GLOBEPAY_ENVIRONMENTS_QA_TIMEOUT sets nothing: no default or "
        "configuration file has the key it names (a variable only changes a key that exists)"]
