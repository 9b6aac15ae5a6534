"""A compiled fast path for the contract check of received messages (the center's ingest).

``jsonschema`` walks the schema for every value of every message: on a batch
of 40 events that is ~2 ms, more than parsing and storing it.  This module
compiles a channel's payload schemas (from the same contract,
``sync/asyncapi.yaml``, through :mod:`sync.contract`) into plain Python
closures for the keywords the contract's hot channels use (``type``,
``required``, ``properties``, ``additionalProperties``, ``items``,
``pattern``, ``minLength``, ``maxLength``, ``minimum``, ``maximum``,
``enum`` of strings, local ``$ref``, and ``oneOf`` whose branches declare
types no value can have two of, such as a timestamp or null: a value one
branch accepts the others refuse by type, so "exactly one" is "any").

The fast path only ever says "valid" or "not sure": a payload it does not
accept (hostile, malformed, or merely unusual, e.g. ``1.0`` for an integer)
goes through :func:`sync.contract.validate` as before, which refuses it
with the same message as everywhere else.  A schema with any other keyword
is not compiled at all (its channel always takes the full validator).  So
this never accepts what the contract refuses, and refuses exactly what it
refuses.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from typing import Any

from sync import contract, inbound
from sync.contract import ContractError

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset({"description", "title", "examples", "$comment", "default", "x-commands"})
_SUPPORTED = frozenset(
    {
        "$ref",
        "type",
        "required",
        "properties",
        "additionalProperties",
        "items",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "enum",
        "minItems",
        "maxItems",
        "oneOf",
    }
)


class Unsupported(Exception):
    """The schema uses a keyword (or form) the fast path does not compile."""


def _hashable(v: Any) -> bool:
    return v is None or type(v) in (str, bool, int, float)


def _is_integer(v: Any) -> bool:
    return type(v) is int  # a float such as 1.0 is "not sure": the full validator decides


def _is_number(v: Any) -> bool:
    return type(v) is int or type(v) is float


_TYPES: dict[str, Check] = {
    "object": lambda v: type(v) is dict,
    "array": lambda v: type(v) is list,
    "string": lambda v: type(v) is str,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda v: type(v) is bool,
    "null": lambda v: v is None,
}


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise Unsupported(f"non-local $ref {ref}")
    target: Any = doc
    for part in ref[2:].split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return target


def compile_schema(node: Any, doc: dict[str, Any], seen: tuple[str, ...] = ()) -> Check:
    """``node`` as a function: True only if the value is valid (False: not sure)."""
    if not isinstance(node, dict):
        raise Unsupported("a boolean schema")
    keys = set(node) - _ANNOTATIONS
    if keys - _SUPPORTED:
        raise Unsupported(f"keywords {sorted(keys - _SUPPORTED)}")
    checks: list[Check] = []
    ref = node.get("$ref")
    if ref is not None:
        if not isinstance(ref, str) or ref in seen:
            raise Unsupported("a recursive $ref")
        checks.append(compile_schema(_resolve(doc, ref), doc, (*seen, ref)))
    if "type" in node:
        names = node["type"] if isinstance(node["type"], list) else [node["type"]]
        tests = [_TYPES[n] for n in names]
        checks.append(tests[0] if len(tests) == 1 else (lambda v: any(t(v) for t in tests)))
    checks += _string_checks(node)
    checks += _number_checks(node)
    if "enum" in node:
        allowed = node["enum"]
        if not all(a is None or isinstance(a, (str, bool, int)) for a in allowed):
            raise Unsupported("an enum of floats or containers")
        # 1 == True == 1.0 in Python: a value is taken only when its type is a member's
        # type too (anything else is "not sure", and the full validator decides)
        members = frozenset((type(a), a) for a in allowed)
        checks.append(lambda v: (type(v), v) in members if _hashable(v) else False)
    if "minItems" in node or "maxItems" in node:
        low, high = node.get("minItems", 0), node.get("maxItems")
        if type(low) is not int or not (high is None or type(high) is int):
            raise Unsupported("minItems/maxItems that are not integers")
        checks.append(
            lambda v: type(v) is not list or (len(v) >= low and (high is None or len(v) <= high))
        )
    if "oneOf" in node:
        checks.append(_one_of(node["oneOf"], doc, seen))
    if "items" in node:
        item = compile_schema(node["items"], doc, seen)
        checks.append(lambda v: type(v) is not list or all(item(x) for x in v))
    if keys & {"required", "properties", "additionalProperties"}:
        checks.append(_object_check(node, doc, seen))
    return _all(checks)


def _declared_types(node: Any, doc: dict[str, Any], seen: tuple[str, ...]) -> frozenset[str]:
    """The JSON types a value ``node`` accepts must have (through ``$ref``s), as sets that
    do not overlap: ``number`` also covers ``integer``."""
    if not isinstance(node, dict):
        raise Unsupported("a boolean schema")
    names: set[str] | None = None
    if "type" in node:
        declared = node["type"] if isinstance(node["type"], list) else [node["type"]]
        names = {"number" if n == "integer" else n for n in declared}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref not in seen:
        inner = _declared_types(_resolve(doc, ref), doc, (*seen, ref))
        names = set(inner) if names is None else names & inner
    if names is None:
        raise Unsupported("a oneOf branch without a type")
    return frozenset(names)


def _one_of(branches: Any, doc: dict[str, Any], seen: tuple[str, ...]) -> Check:
    """``oneOf`` when no value can be of two branches' types: valid if any branch says so."""
    if not isinstance(branches, list) or not branches:
        raise Unsupported("a oneOf that is not a list of schemas")
    types = [_declared_types(b, doc, seen) for b in branches]
    for i, a in enumerate(types):
        if any(a & b for b in types[i + 1 :]):
            raise Unsupported("a oneOf whose branches may both accept a value")
    tests = [compile_schema(b, doc, seen) for b in branches]
    return lambda v: any(t(v) for t in tests)


def _all(checks: list[Check]) -> Check:
    """The checks chained with ``and`` (cheaper than ``all()`` over a generator)."""
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    first, rest = checks[0], _all(checks[1:])
    return lambda v: first(v) and rest(v)


def _string_checks(node: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    if "pattern" in node:
        search = re.compile(node["pattern"]).search  # as jsonschema: search, not match
        out.append(lambda v: type(v) is not str or search(v) is not None)
    lo, hi = node.get("minLength"), node.get("maxLength")
    if lo is not None or hi is not None:
        lo_, hi_ = lo or 0, hi if hi is not None else float("inf")
        out.append(lambda v: type(v) is not str or lo_ <= len(v) <= hi_)
    return out


def _number_checks(node: dict[str, Any]) -> list[Check]:
    out: list[Check] = []
    lo, hi = node.get("minimum"), node.get("maximum")
    if lo is not None or hi is not None:
        lo_ = lo if lo is not None else float("-inf")
        hi_ = hi if hi is not None else float("inf")
        out.append(lambda v: not _is_number(v) or lo_ <= v <= hi_)
    return out


def _object_check(node: dict[str, Any], doc: dict[str, Any], seen: tuple[str, ...]) -> Check:
    required = tuple(node.get("required", ()))
    props = {k: compile_schema(v, doc, seen) for k, v in node.get("properties", {}).items()}
    extra_schema = node.get("additionalProperties", True)
    if extra_schema is True:
        extra: Check | None = None
        closed = False
    elif extra_schema is False:
        extra, closed = None, True
    else:
        extra, closed = compile_schema(extra_schema, doc, seen), False
    items = tuple(props.items())

    def check(v: Any) -> bool:
        if type(v) is not dict:
            return True  # "properties" and friends apply to objects only
        for name in required:
            if name not in v:
                return False
        if closed or extra is not None:
            for k, x in v.items():
                if k in props:
                    continue
                if closed or (extra is not None and not extra(x)):
                    return False
        return all(name not in v or test(v[name]) for name, test in items)

    return check


@contract.computed_once
def channel_check(channel: str) -> Check | None:
    """The compiled check of a channel's messages (any of them), or None: not compiled."""
    doc = contract._document()
    messages = doc["channels"][channel]["messages"].values()
    try:
        tests = [
            compile_schema({"$ref": message["$ref"] + "/payload"}, doc) for message in messages
        ]
    except (Unsupported, KeyError, TypeError, re.error):
        return None
    if len(tests) == 1:
        return tests[0]
    return lambda v: any(t(v) for t in tests)


def compile_all() -> None:
    """Read the contract and compile every channel now (a consumer does it at start)."""
    for channel in contract._document()["channels"]:
        channel_check(channel)
    contract.channel_for("")


@functools.lru_cache(maxsize=8192)
def _channel(topic: str) -> str | None:
    return contract.channel_for(topic)


def validate(topic: str, payload: Any) -> str:
    """:func:`sync.contract.validate`, through the compiled fast path when it can."""
    channel = _channel(topic)
    if channel is not None:
        fast = channel_check(channel)
        try:
            if fast is not None and fast(payload):
                return channel
        except Exception:  # a shape the closures did not foresee: the full validator decides
            pass
    return contract.validate(topic, payload)


def _deeper_than(obj: Any, depth: int) -> bool:
    """Whether parsed JSON nests containers deeper than ``depth`` (the top one is 1)."""
    stack = [(obj, 1)]
    while stack:
        node, level = stack.pop()
        if level > depth:
            return True
        children = node.values() if type(node) is dict else node
        stack += [(c, level + 1) for c in children if type(c) is dict or type(c) is list]
    return False


def _int(text: str) -> int:
    # Outside strings, a run of number characters in valid JSON is one number token.
    if len(text) > inbound.MAX_NUMBER:
        raise ValueError("a long number: inbound.parse says so")
    return int(text)


def _float(text: str) -> float:
    if len(text) > inbound.MAX_NUMBER:
        raise ValueError("a long number: inbound.parse says so")
    return inbound._finite_float(text)


def parse(raw: bytes, *, limit: int) -> dict[str, Any]:
    """:func:`sync.inbound.parse`, faster for the usual message: a payload without a
    ``\\u`` escape is parsed by ``json.loads`` first (refusing a number token longer
    than :data:`sync.inbound.MAX_NUMBER` as it comes) and its nesting measured on
    the result (the C parser cannot recurse without bound:
    it raises ``RecursionError``); anything else, and anything that fails, takes
    :func:`sync.inbound.parse`, which refuses it with its own reason."""
    if len(raw) > limit or b"\\u" in raw:
        return inbound.parse(raw, limit=limit)
    try:
        payload = json.loads(
            raw.decode("utf-8"),
            parse_constant=inbound._no_constant,
            parse_int=_int,
            parse_float=_float,
        )
    except (ValueError, RecursionError):
        return inbound.parse(raw, limit=limit)
    if type(payload) is not dict:
        return inbound.parse(raw, limit=limit)
    if raw.count(b"[") + raw.count(b"{") > inbound.MAX_DEPTH and _deeper_than(
        payload, inbound.MAX_DEPTH
    ):
        return inbound.parse(raw, limit=limit)
    return payload


def check(topic: str, raw: bytes | bytearray) -> dict[str, Any]:
    """:func:`sync.inbound.check` (bounded, strict parsing, then the contract), faster."""
    channel = _channel(topic)
    limit = inbound.MAX_BYTES.get(channel, inbound.DEFAULT_MAX_BYTES) if channel else 0
    payload = parse(bytes(raw), limit=limit or inbound.DEFAULT_MAX_BYTES)
    try:
        validate(topic, payload)
    except ContractError as exc:
        raise inbound.Rejected("contract", str(exc)[:300]) from None
    return payload
