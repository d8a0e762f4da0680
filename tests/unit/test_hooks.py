"""Hooks of every form, run for real: shell, argument list, HTTP, Python."""

from __future__ import annotations

import http.server
import threading

import pytest
from invoke import Context

from globepay_tasks.config import DEFAULTS, load_settings
from globepay_tasks.config_hooks import parse_hook
from globepay_tasks.hooks import CheckFailed, HookContext, run_hook
from globepay_tasks.progress import Progress
from globepay_tasks.runner import Runner


@pytest.fixture
def context(tmp_path):
    settings = load_settings(DEFAULTS["globepay"])
    stream = (tmp_path / "out.txt").open("w+")
    return HookContext(settings, settings.environment("staging"), settings.environment("dev"),
                       "post", Runner(Context()), Progress(stream, color=False))


def test_shell_hook_sees_environment_variables(context):
    hook = parse_hook("h", "echo $GLOBEPAY_ENV $GLOBEPAY_NAMESPACE prev=$GLOBEPAY_PREVIOUS_ENV")
    result = run_hook(hook, context)
    assert result.ok and result.output_tail == "staging globepay-staging prev=dev"


def test_list_hook_runs_without_a_shell(context):
    result = run_hook(parse_hook("h", ["echo", "$GLOBEPAY_ENV", "&&", "false"]), context)
    assert result.ok and result.output_tail == "$GLOBEPAY_ENV && false"


def test_failing_missing_and_slow_commands(context):
    assert run_hook(parse_hook("h", "exit 7"), context).message == "exited 7"
    missing = run_hook(parse_hook("h", ["no-such-command-xyz"]), context)
    assert not missing.ok and "not found" in missing.message
    slow = run_hook(parse_hook("h", {"run": "sleep 5", "timeout": 1}), context)
    assert not slow.ok and slow.message == "timed out after 1s"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802
        code = 200 if self.path == "/ok" else 503
        self.send_response(code)
        self.end_headers()
        self.wfile.write(b"body")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_http_hook(context, http_url):
    assert run_hook(parse_hook("h", {"http": f"{http_url}/ok"}), context).ok
    bad = run_hook(parse_hook("h", {"http": f"{http_url}/down", "retries": 1}), context)
    assert not bad.ok and bad.message == "HTTP 503, expected 200"
    gone = run_hook(parse_hook("h", {"http": "http://127.0.0.1:9/", "timeout": 1}), context)
    assert not gone.ok and gone.message.startswith("unreachable")


def failing_check(context):
    raise CheckFailed(f"{context.env.name} is not ready")


def test_python_hooks(context):
    assert not run_hook(parse_hook("h", {"python": f"{__name__}:failing_check"}), context).ok
    result = run_hook(parse_hook("h", {"python": f"{__name__}:failing_check"}), context)
    assert result.message == "staging is not ready"
    missing = run_hook(parse_hook("h", {"python": "no_such_module:fn"}), context)
    assert not missing.ok and "cannot load" in missing.message
