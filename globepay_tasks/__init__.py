"""Invoke tasks that promote Globepay's Kubernetes changes from dev to staging to prod.

Import the task collection from `globepay_tasks.tasks` (``from globepay_tasks.tasks import ns``).
"""

__version__ = "0.1.0"
