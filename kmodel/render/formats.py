"""Every way a trace can be rendered, behind one call: ``render(trace, "mermaid")``.

==========  ======  =================================================
format      result  what
==========  ======  =================================================
plantuml    str     PlantUML sequence diagram (``.puml``)
mermaid     str     Mermaid sequence diagram (``.mmd``)
svg         str     matplotlib drawing (``.svg``)
png         bytes   matplotlib drawing (``.png``)
text        str     the narration, one sentence per line (``.txt``)
json        str     the trace itself, `Trace.dumps` (``.json``)
==========  ======  =================================================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmodel.core.text import printable
from kmodel.core.trace import Trace

Settings = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class Format:
    """One output format: its file extension, whether it is bytes, and its renderer."""

    name: str
    extension: str
    binary: bool
    render: Callable[..., str | bytes]
    summary: str


def _plantuml(trace: Trace, **context: Any) -> str:
    from kmodel.render.plantuml import to_plantuml

    return to_plantuml(
        trace,
        context["title"],
        context["settings"],
        defaults=context["defaults"],
        contract=context["contract"],
    )


def _mermaid(trace: Trace, **context: Any) -> str:
    from kmodel.render.mermaid import to_mermaid

    return to_mermaid(
        trace,
        context["title"],
        context["settings"],
        defaults=context["defaults"],
        contract=context["contract"],
    )


def _svg(trace: Trace, **context: Any) -> str:
    from kmodel.render.svg import to_svg

    return to_svg(trace, context["title"], **_drawing(context))


def _png(trace: Trace, **context: Any) -> bytes:
    from kmodel.render.svg import to_png

    return to_png(trace, context["title"], **_drawing(context))


def _drawing(context: dict[str, Any]) -> dict[str, Any]:
    return {
        "settings": context["settings"],
        "defaults": context["defaults"],
        "contract": context["contract"],
        "contract_description": context["contract_description"],
    }


def _text(trace: Trace, **context: Any) -> str:
    from kmodel.render.narrate import narrate

    return "\n".join(narrate(trace, context["contract_description"])) + "\n"


def _json(trace: Trace, **context: Any) -> str:
    return trace.dumps()


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("plantuml", "puml", False, _plantuml, "PlantUML sequence diagram"),
        Format("mermaid", "mmd", False, _mermaid, "Mermaid sequence diagram"),
        Format("svg", "svg", False, _svg, "drawing (SVG)"),
        Format("png", "png", True, _png, "drawing (PNG)"),
        Format("text", "txt", False, _text, "the steps told in sentences"),
        Format("json", "json", False, _json, "the trace as JSON"),
    )
}


def render(
    trace: Trace,
    fmt: str,
    *,
    title: str | None = None,
    settings: Settings | None = None,
    defaults: Settings | None = None,
    contract: str | None = None,
    contract_description: str | None = None,
) -> str | bytes:
    """`trace` in format `fmt` (a key of `FORMATS`): text, or bytes for ``png``.

    `title` heads the picture (control characters shown as escapes), `settings`
    (a job's section -> {setting: value}) is listed, only where it differs from the
    model's `defaults` when those are given; `contract` and `contract_description`
    name the property the trace decides and say what it promises.
    """
    try:
        spec = FORMATS[fmt]
    except KeyError:
        known = ", ".join(FORMATS)
        raise ValueError(f"unknown trace format {fmt!r}; the formats are {known}") from None
    return spec.render(
        trace,
        title=None if title is None else printable(title),
        settings=settings,
        defaults=defaults,
        contract=contract,
        contract_description=contract_description,
    )


def format_for(path: str | Path) -> str:
    """The format a file name asks for by its extension (``trace.mmd`` -> ``mermaid``)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    aliases = {"plantuml": "plantuml", "pu": "plantuml", "uml": "plantuml", "mermaid": "mermaid"}
    for spec in FORMATS.values():
        if suffix == spec.extension:
            return spec.name
    if suffix in aliases:
        return aliases[suffix]
    known = ", ".join(f".{spec.extension}" for spec in FORMATS.values())
    raise ValueError(f"{path}: cannot tell the format from the extension; use one of {known}")


def write(
    trace: Trace,
    path: str | Path,
    fmt: str | None = None,
    **context: Any,
) -> Path:
    """Render `trace` to the file `path`, in `fmt` or the format its extension names."""
    path = Path(path)
    output = render(trace, fmt or format_for(path), **context)
    if isinstance(output, bytes):
        path.write_bytes(output)
    else:
        path.write_text(output, encoding="utf-8")
    return path
