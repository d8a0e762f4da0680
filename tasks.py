"""Globepay's promotion tasks: `invoke --list` shows them; configuration is in invoke.yaml."""

from globepay_tasks.tasks import ns

__all__ = ["ns"]
