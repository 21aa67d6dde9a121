"""Write js/src/protocol.js from gtwidgets/protocol.py: JSDoc typedefs and the kind tables.

    python js/gen_protocol.py          # rewrite js/src/protocol.js
    python js/gen_protocol.py --check  # exit 1 when it is out of date (tests/test_protocol.py does this)
"""
from __future__ import annotations

import json
import sys
import types
import typing
from pathlib import Path

OUT = Path(__file__).resolve().parent / "src" / "protocol.js"


def generate() -> str:
    from gtwidgets import protocol

    lines = [
        "// GENERATED from gtwidgets/protocol.py by js/gen_protocol.py: do not edit; change the Python",
        "// module and run `python js/gen_protocol.py`. tests/test_protocol.py keeps the two equal.",
        "// The widget's wire format, both ways: JSDoc typedefs for editors and the kind tables the view uses.",
        "",
    ]
    for name in protocol.__all__:
        obj = getattr(protocol, name)
        if _is_typeddict(obj):
            lines += _typedef(name, obj)
        elif typing.get_origin(obj) is typing.Union:
            lines += [f"/** @typedef {{{_js(obj)}}} {name} */", ""]
        elif typing.get_origin(obj) is typing.Literal:
            lines += [f"/** @typedef {{{_js(obj)}}} {name} */", ""]
    tables = {"REQUESTS": list(protocol.REQUESTS), "REPLIES": list(protocol.REPLIES),
              "CARD_KINDS": list(protocol.CARDS), "PANEL_KINDS": list(protocol.PANELS)}
    for name, kinds in tables.items():
        lines.append(f"export const {name} = Object.freeze({json.dumps(kinds)});")
    pairs = ", ".join(f"{k}: {json.dumps(list(v))}" for k, v in protocol.PAIRS.items())
    lines.append("/** request -> [its reply, the field they are matched by] */")
    lines.append(f"export const PAIRS = Object.freeze({{ {pairs} }});")
    return "\n".join(lines) + "\n"


def _typedef(name: str, cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    optional = getattr(cls, "__optional_keys__", frozenset())
    doc = " ".join((cls.__doc__ or "").split()) if cls.__doc__ and not cls.__doc__.startswith(f"{name}(") else ""
    out = ["/**"]
    if doc:
        out.append(f" * {doc}")
    out.append(f" * @typedef {{Object}} {name}")
    for key, tp in hints.items():
        out.append(f" * @property {{{_js(tp)}}} {f'[{key}]' if key in optional else key}")
    return out + [" */", ""]


def _js(tp) -> str:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None) or tp is None:
        return "null"
    if tp is str:
        return "string"
    if tp in (int, float):
        return "number"
    if tp is bool:
        return "boolean"
    if _is_typeddict(tp):
        return tp.__name__
    if origin is typing.Literal:
        return "|".join(json.dumps(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return "(" + "|".join(_js(a) for a in args) + ")"
    if origin is list:
        return f"Array<{_js(args[0])}>"
    if tp is dict:
        return "Object"
    if origin is dict:
        return f"Object<{_js(args[0])}, {_js(args[1])}>"
    raise TypeError(f"no JavaScript type for {tp!r}: add it to js/gen_protocol.py")


def _is_typeddict(obj) -> bool:
    return isinstance(obj, type) and typing.is_typeddict(obj)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    text = generate()
    if "--check" in sys.argv:
        sys.exit(0 if OUT.read_text() == text else 1)
    OUT.write_text(text)
