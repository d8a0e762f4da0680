"""A simulated Kubernetes API server that the real kubectl can drive.

Start one in-process with :class:`Sandbox` (tests), from the command line with
``python -m globepay_tasks.sandbox --kubeconfig PATH``, or detached with
:func:`globepay_tasks.sandbox.process.start_background`. See docs/sandbox.md.
"""

from .app import Sandbox, live_sandboxes
from .recording import RequestRecord

__all__ = ["RequestRecord", "Sandbox", "live_sandboxes"]
