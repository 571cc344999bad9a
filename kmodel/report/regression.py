"""A counterexample as a pytest regression test: the test replays the trace on the
model with the spec's settings and asserts that the contract is broken at the trace's
last step (`kmodel.core.trace.breaks`). The settings are written into the test, so it
keeps checking the configuration the trace was found in, whatever becomes of the spec.
"""

from __future__ import annotations

import pprint
import re

from kmodel.core.trace import Trace
from kmodel.jobs.spec import Job

TEMPLATE = '''"""Regression test written by `kmodel trace --format pytest`.

Spec: {title} ({spec}).
Contract: {contract} ({description}).

The trace below, found by kmodel, breaks the contract. The test replays it on the
model with the settings it was found under and asserts that the contract is broken
at its last step: it fails once the model no longer lets the trace happen or no
longer breaks the contract there.
"""

from kmodel.core.trace import Trace, breaks, replay
from kmodel.jobs.models import MODELS

MODEL = {model!r}
CONTRACT = {contract!r}
SETTINGS = {settings}
TRACE = Trace.from_json(
{trace}
)


def test_{function}() -> None:
    system = MODELS[MODEL].build(SETTINGS)
    outcome = replay(system, TRACE)
    step = None if outcome.ok else outcome.diverged_at + 1
    assert outcome.ok, f"the trace no longer replays at step {{step}}: {{outcome.reason}}"
    assert breaks(system, TRACE, CONTRACT), f"{{CONTRACT}} holds after the trace's last step"
'''


def regression_test(job: Job, trace: Trace, description: str) -> str:
    """The source of a pytest module asserting that `trace` breaks its contract."""
    function = re.sub(r"\W+", "_", f"{trace.property}_breaks_at_the_last_step").strip("_")
    return TEMPLATE.format(
        title=_quotable(job.title),
        spec=_quotable(str(job.path)),
        contract=trace.property,
        description=_quotable(description),
        model=job.model.name,
        settings=pprint.pformat(job.settings, width=96, sort_dicts=False),
        trace=pprint.pformat(trace.to_json(), width=96, indent=4, sort_dicts=False),
        function=function.lower(),
    )


def _quotable(text: str) -> str:
    """`text` safe inside the test's docstring."""
    return text.replace("\\", "\\\\").replace('"' * 3, "'" * 3)
