"""undo_all: a few workloads per kubectl call, each workload's own outcome."""

from __future__ import annotations

from globepay_tasks import workloads
from globepay_tasks.command_result import CommandResult
from globepay_tasks.kubectl import Target, WorkloadRef


class FakeRunner:
    """Answers ``rollout undo`` like kubectl: a line per workload, an error for ``broken``."""

    dry_run = False

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def at(self, target):
        return self

    def run(self, argv, **_):
        self.calls.append(argv)
        names = [a.split("/", 1)[1] for a in argv if a.startswith("deployment/")]
        out = [f"deployment.apps/{n} rolled back" for n in names if n != "broken"]
        err = ['Error from server (NotFound): deployments.apps "broken" not found'
               for n in names if n == "broken"]
        return CommandResult(" ".join(argv), 1 if err else 0, "\n".join(out), "\n".join(err))


def test_workloads_are_undone_a_few_per_call_with_their_own_outcome():
    runner = FakeRunner()
    refs = [WorkloadRef("Deployment", n) for n in ("a", "b", "broken", "c", "d")]
    outcomes = workloads.undo_all(runner, Target("kubectl", "ns"), refs, 3)
    assert sorted(len([a for a in call if a.startswith("deployment/")])
                  for call in runner.calls) == [1, 2, 2]
    assert all(call[-1] == "--to-revision=3" for call in runner.calls)
    assert outcomes[refs[0]] == (True, "deployment.apps/a rolled back")
    assert outcomes[refs[2]] == (
        False, 'Error from server (NotFound): deployments.apps "broken" not found')
    assert outcomes[refs[3]][0] and outcomes[refs[4]][0]
