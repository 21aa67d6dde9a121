"""Check a message against its declaration in gtwidgets/protocol.py: the kernel tests' stand-in
browsers run every message the widget sends through :func:`check_reply`."""
from __future__ import annotations

import types
import typing

from gtwidgets import protocol


def check_reply(message: dict) -> None:
    """Raise AssertionError unless ``message`` is a reply declared in the protocol, with its fields' types."""
    assert isinstance(message, dict) and message.get("type") in protocol.REPLIES, f"undeclared reply {message!r}"
    if message["type"] == "card":
        assert message.get("kind") in protocol.CARDS, f"undeclared card kind in {message!r}"
        declared = protocol.CARDS[message["kind"]]
    else:
        declared = protocol.REPLIES[message["type"]]
    problems = _problems(message, declared, "")
    assert not problems, f"{message['type']} message does not match gtwidgets/protocol.py: {problems}"


def protocol_problems(message) -> list[str]:
    """What :func:`check_reply` would say, as a list (empty when the reply is declared)."""
    try:
        check_reply(message)
    except AssertionError as e:
        return [str(e)]
    return []


def check_request(message: dict) -> None:
    """The same for a message from the browser."""
    assert isinstance(message, dict) and message.get("type") in protocol.REQUESTS, f"undeclared request {message!r}"
    problems = _problems(message, protocol.REQUESTS[message["type"]], "")
    assert not problems, f"{message['type']} request does not match gtwidgets/protocol.py: {problems}"


def _problems(value, tp, where: str) -> list[str]:
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if typing.is_typeddict(tp):
        if not isinstance(value, dict):
            return [f"{where or 'message'}: {value!r} is not an object"]
        hints = typing.get_type_hints(tp)
        out = [f"{where}.{k}: missing" for k in tp.__required_keys__ - set(value)]
        out += [f"{where}.{k}: not declared in {tp.__name__}" for k in set(value) - set(hints)]
        for k in set(value) & set(hints):
            out += _problems(value[k], hints[k], f"{where}.{k}")
        return out
    if origin in (typing.Union, types.UnionType):
        tries = [_problems(value, a, where) for a in args]
        return [] if any(not t for t in tries) else min(tries, key=len)
    if origin is typing.Literal:
        return [] if value in args else [f"{where}: {value!r} is not one of {args}"]
    if origin is list:
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not a list"]
        return [p for i, v in enumerate(value) for p in _problems(v, args[0], f"{where}[{i}]")]
    if tp is type(None):
        return [] if value is None else [f"{where}: {value!r} is not null"]
    if tp is dict:
        return [] if isinstance(value, dict) else [f"{where}: {value!r} is not an object"]
    if tp is float:
        return [] if isinstance(value, (int, float)) and not isinstance(value, bool) else [f"{where}: {value!r} is not a number"]
    if tp in (int, str, bool):
        ok = isinstance(value, tp) and (tp is bool or not isinstance(value, bool))
        return [] if ok else [f"{where}: {value!r} is not {tp.__name__}"]
    raise TypeError(f"protocol_check cannot check {tp!r}")
