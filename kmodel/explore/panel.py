"""The state panel: the facts of each actor's state after a step (`kmodel.render.state`),
with what the step changed marked, as plain data for the page."""

from __future__ import annotations

from typing import Any

from kmodel.render.state import facts


def state_panel(view: dict[str, Any], before: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Per actor of the state view `view` (in the model's order), its rows: label, value
    and whether the value differs from the one in `before` (the view one step back)."""
    return [
        {
            "actor": actor,
            "rows": [
                {"label": fact.label, "value": fact.value, "changed": fact.changed}
                for fact in shown
            ],
        }
        for actor, shown in facts(view, before).items()
    ]
