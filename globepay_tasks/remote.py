"""Commands of a remote environment: run on its host over SSH, with the same argument lists.

`Runner.at` gives a runner whose commands go through an `SshExecutor`, which imports
`globepay_tasks.ssh` (and Fabric and paramiko, which only it imports) when it first runs a
command. A dry run connects only for what it reads (`Runner.reader`); its writes stop in
`Runner.run`.
"""

from __future__ import annotations

import re
import shlex
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .command_result import CommandResult
from .errors import ClusterError
from .hosts import Remote

if TYPE_CHECKING:
    from .ssh import Session


class CommandRunner(Protocol):
    """What `staged` needs of a `globepay_tasks.runner.Runner`: where it runs its commands,
    and running one."""

    remote: Remote | None
    host: str | None
    dry_run: bool
    announce: Callable[[str], None]

    def run(self, argv: Sequence[str] | str, *, stdin: str | None = None,
            cleanup: bool = False) -> CommandResult: ...

#: The private temporary directory (mktemp -d makes it mode 700) and a file written from stdin.
MAKE_TEMP_DIR = 'umask 077 && mktemp -d "${TMPDIR:-/tmp}/globepay.XXXXXXXXXX"'
WRITE_STDIN = 'umask 077 && cat > "$1"'
_TEMP_DIR = re.compile(r"^/\S*/globepay\.[A-Za-z0-9]{10}$")
DRY_RUN_TEMP_DIR = "/tmp/globepay.XXXXXXXXXX"


#: Put before a command that reads no stdin: its stdin becomes /dev/null, and a watcher
#: holding the channel's stdin stops the command's process group (sshd starts each command
#: in a session of its own) if the command still runs when that stdin ends: the channel was
#: closed (`Running.cancel`, an interrupt, a timeout) or the connection dropped. Without it
#: the command runs on, as a ``kubectl get --watch`` does until it next writes.
STOP_WITH_CHANNEL = ("exec 3<&0 </dev/null; { cat <&3 >/dev/null 2>&1; kill -0 $$ && "
                     "kill -TERM 0; } >/dev/null 2>&1 & exec 3<&-; ")


def exported(env: Mapping[str, str], command: str) -> str:
    """``command`` preceded by ``export`` of ``env``, values quoted for the remote shell."""
    assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in sorted(env.items()))
    return f"export {assignments} && {command}"


class SshExecutor:
    """Runs commands on ``remote`` through one SSH session, opened when first needed."""

    def __init__(self, remote: Remote, warn: Callable[[str], None]) -> None:
        self.remote = remote
        self.warn = warn
        self._session: Session | None = None
        self._lock = threading.Lock()

    def run(self, command: str, options: dict[str, Any]) -> Any:
        env = options.pop("env", None)
        if env:
            command = exported(env, command)
        if options.get("in_stream") is False:
            command = STOP_WITH_CHANNEL + command
        with self._lock:
            if self._session is None:
                from .ssh import Session

                self._session = Session(self.remote, self.warn)
        return self._session.run(command, options)

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                self._session.close()


@contextmanager
def staged(runner: CommandRunner, name: str, text: str) -> Iterator[str]:
    """``text`` as file ``name`` in a new private temporary directory where the runner runs
    its commands (here, or on its host: mode 700, the file 600); the directory is removed on
    every way out of the block."""
    if runner.remote is None:
        with tempfile.TemporaryDirectory(prefix="globepay.") as directory:
            path = Path(directory, name)
            try:
                path.write_text(text)
            except OSError as error:  # a full disk, a file size limit (ulimit -f)
                raise ClusterError(f"cannot write {path}: {error.strerror}") from None
            yield str(path)
        return
    made = runner.run(["sh", "-c", MAKE_TEMP_DIR])
    directory = (made.stdout.strip().splitlines() or [DRY_RUN_TEMP_DIR])[-1]
    if not made.ok or not (runner.dry_run or _TEMP_DIR.match(directory)):
        raise ClusterError(f"{runner.host}: cannot create a temporary directory: "
                           f"{made.error_line() if not made.ok else directory!r}")
    path = f"{directory}/{name}"
    try:
        written = runner.run(["sh", "-c", WRITE_STDIN, "sh", path], stdin=text)
        if not written.ok:
            raise ClusterError(f"{runner.host}: cannot write {path}: {written.error_line()}")
        yield path
    finally:
        removed = runner.run(["rm", "-rf", directory], cleanup=True)
        if not removed.ok:
            runner.announce(f"warning: {runner.host}: {directory} was not removed "
                            f"({removed.error_line()}); remove it by hand")
