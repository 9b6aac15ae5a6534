"""Validate MQTT messages against the AsyncAPI 3 contract (``sync/asyncapi.yaml``)."""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

CONTRACT_PATH = Path(__file__).with_name("asyncapi.yaml")
_URN = "urn:hall-edge:asyncapi"


class ContractError(ValueError):
    """A message does not match the contract; says which topic and why."""


F = TypeVar("F", bound=Callable[..., Any])
_COMPUTING = threading.RLock()


def computed_once(f: F) -> F:
    """:func:`functools.cache`, with one thread computing at a time: a process of many
    agents whose first messages arrive together reads the contract once, not once per
    thread (each would take the GIL for the whole parse)."""
    cached = functools.cache(f)

    @functools.wraps(f)
    def wrapper(*args: Any) -> Any:
        with _COMPUTING:
            return cached(*args)

    wrapper.cache_clear = cached.cache_clear  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


@computed_once
def _document() -> dict[str, Any]:
    # libyaml's parser where PyYAML has it (Debian's does): ~20x the pure-Python one
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc: dict[str, Any] = yaml.load(CONTRACT_PATH.read_text(encoding="utf-8"), Loader=loader)
    return doc


_ANNOTATIONS = frozenset({"description", "title", "examples", "$comment"})


def _inline(node: Any, doc: dict[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to (a recursive
    reference stays a reference): the validators then never look references up,
    which is most of their time on a batch of events.  A reference with other
    keywords beside it becomes ``allOf`` (the same meaning in draft 2020-12)."""
    if isinstance(node, list):
        return [_inline(n, doc, seen) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and ref not in seen:
        target: Any = doc
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        resolved = _inline(target, doc, (*seen, ref))
        rest = {k: _inline(v, doc, seen) for k, v in node.items() if k != "$ref"}
        if not set(rest) - _ANNOTATIONS:
            return resolved
        return {"allOf": [resolved], **rest}
    out = {k: _inline(v, doc, seen) for k, v in node.items()}
    if isinstance(ref, str) and ref.startswith("#/"):  # recursive: through the registry
        out["$ref"] = f"{_URN}{ref}"
    return out


@computed_once
def _channels() -> list[tuple[str, re.Pattern[str], list[Draft202012Validator]]]:
    doc = _document()
    registry: Registry = Registry().with_resource(
        _URN, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    out = []
    for name, channel in doc["channels"].items():
        pattern = re.escape(channel["address"])
        pattern = re.sub(r"\\\{[a-z]+\\\}", "[^/]+", pattern)
        validators = []
        for message in channel["messages"].values():
            ref = message["$ref"].lstrip("#")
            schema = _inline({"$ref": f"#{ref}/payload"}, doc)
            validators.append(Draft202012Validator(schema, registry=registry))
        out.append((name, re.compile(f"^{pattern}$"), validators))
    return out


def channel_for(topic: str) -> str | None:
    for name, pattern, _validators in _channels():
        if pattern.match(topic):
            return name
    return None


def validate(topic: str, payload: Any) -> str:
    """Raise :class:`ContractError` unless ``payload`` fits the channel of ``topic``."""
    for name, pattern, validators in _channels():
        if not pattern.match(topic):
            continue
        errors = []
        for validator in validators:
            error = next(iter(validator.iter_errors(payload)), None)
            if error is None:
                return name
            path = "/".join(str(p) for p in error.absolute_path) or "(root)"
            errors.append(f"{path}: {error.message}")
        raise ContractError(f"{topic} ({name}): " + "; ".join(errors))
    raise ContractError(f"{topic}: no channel of the contract matches this topic")


def command_errors(payload: Any) -> str | None:
    """Why a command payload is invalid (for the engine's error reply), or None."""
    for name, _pattern, validators in _channels():
        if name == "command":
            error = next(iter(validators[0].iter_errors(payload)), None)
            if error is None:
                return None
            path = "/".join(str(p) for p in error.absolute_path) or "(root)"
            return f"{path}: {error.message}"
    raise ContractError("the contract has no command channel")


@dataclass(frozen=True)
class CommandRule:
    """Who may send a hall-plane command, and whether it changes the queue."""

    roles: frozenset[str]
    mutating: bool = False


@computed_once
def commands() -> Mapping[str, CommandRule]:
    """The commands of the hall plane: the contract's ``cmd`` enum, each with its rule
    from the ``x-commands`` table beside it (the one place they are defined)."""
    cmd = _document()["components"]["schemas"]["command"]["properties"]["cmd"]
    table: dict[str, Any] = cmd.get("x-commands") or {}
    if set(table) != set(cmd["enum"]):
        raise ContractError(
            "the command enum and its x-commands table differ: "
            f"{sorted(set(table) ^ set(cmd['enum']))}"
        )
    return MappingProxyType(
        {
            name: CommandRule(frozenset(rule["roles"]), bool(rule.get("mutating", False)))
            for name, rule in table.items()
        }
    )


def role_commands() -> dict[str, frozenset[str]]:
    """role -> the commands a device of that role may send."""
    roles: dict[str, set[str]] = {}
    for name, rule in commands().items():
        for role in rule.roles:
            roles.setdefault(role, set()).add(name)
    return {role: frozenset(names) for role, names in roles.items()}


def mutating_commands() -> frozenset[str]:
    """The commands that change the queue (state is published after them)."""
    return frozenset(name for name, rule in commands().items() if rule.mutating)


@computed_once
def _component_validator(name: str) -> Draft202012Validator:
    doc = _document()
    if name not in doc["components"]["schemas"]:
        raise ContractError(f"the contract has no schema {name!r}")
    registry: Registry = Registry().with_resource(
        _URN, Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    schema = _inline({"$ref": f"#/components/schemas/{name}"}, doc)
    return Draft202012Validator(schema, registry=registry)


def schema_errors(name: str, payload: Any) -> str | None:
    """Why ``payload`` does not fit the contract's schema ``name`` (for example the outbox
    events' ``ticketProgressEvent``), or None."""
    error = next(iter(_component_validator(name).iter_errors(payload)), None)
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{path}: {error.message}"
