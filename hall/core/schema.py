"""One way to declare and check configuration: every config file of hall-edge goes through here.

A configuration is declared as frozen dataclasses (the objects the code uses)
marked with :func:`schema` and typed with the leaf types below; pydantic v2
checks plain data (YAML, JSON, a document the center pushed) against them.
:func:`check` turns the data into the dataclass or raises :class:`ConfigError`
listing **every** problem at once, each a :class:`Problem` with its path
(``queues[0].daily_cap``), an English message and, for a misspelt key or an
enum-like value, a "did you mean".  Checks that look at more than one field
(cross-references, duplicates) are ``rules``: functions of the checked object
that yield more problems, reported together.

* unknown keys are refused (``extra="forbid"``), with the closest declared key;
* types are strict: no silent ``"fifty"`` -> int, ``1`` -> ``True`` or ``9`` -> ``"9"``
  (a number is accepted where a decimal is declared: ``8`` for ``8.0``);
* ranges and formats are part of the type (``Annotated[int, Field(gt=0)]``,
  :data:`ClockTime`, :data:`Day`), so each field says what it accepts where it is declared.

Each loader keeps its own exception type by subclassing :class:`ConfigError`
(its ``user_message`` is the Chinese line a screen shows) and passes it as
``error=``.  :func:`did_you_mean` is the one suggestion helper of the project.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

if TYPE_CHECKING:
    from pydantic import BeforeValidator, Field, Strict, TypeAdapter, ValidationError

__all__ = [
    "Bool",
    "ClockTime",
    "ConfigError",
    "Day",
    "Field",
    "Int",
    "Name",
    "Number",
    "Problem",
    "Rule",
    "Section",
    "Text",
    "check",
    "did_you_mean",
    "mapping",
    "overrides_of",
    "path_of",
    "schema",
    "suggest",
]

T = TypeVar("T")

# --------------------------------------------------------------------------- leaf types
#
# pydantic loads with the first check or the first use of a leaf type (``from
# hall.core.schema import Name``), not with this module: a screen's first frame that
# checks nothing does not wait for it (its import is a large part of a kiosk's start).

_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _clock_time(value: Any) -> Any:
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        # YAML 1.1 reads an unquoted 13:00 as the sexagesimal number 780
        raise ValueError(
            f"expected a time like '09:00' in quotes, got the number {value} "
            "(YAML reads an unquoted 13:00 as a number)"
        )
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"expected a time HH:MM like '09:00', got {_shown(value)}")
    return time.fromisoformat(value)


def _day(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"expected a date like 2026-10-01, got {_shown(value)}")


def _empty_section(value: Any) -> Any:
    return {} if value is None else value


if TYPE_CHECKING:  # what the leaf types are (made by _leaf_types() when first used)
    #: Text; a number is refused (YAML reads ``pin: 0123`` as 83: write ``'0123'``).
    Text = Annotated[str, Strict()]
    #: Text that is not empty.
    Name = Annotated[str, Strict(), Field(min_length=1)]
    #: A whole number; ``true`` and ``"5"`` are refused.
    Int = Annotated[int, Strict()]
    #: A number (``8`` or ``8.5``); ``true`` and ``"8"`` are refused.
    Number = Annotated[float, Strict()]
    #: ``true`` or ``false``; ``1`` and ``"yes"`` are refused.
    Bool = Annotated[bool, Strict()]
    #: A time of day written ``HH:MM`` (``"09:00"``).
    ClockTime = Annotated[time, BeforeValidator(_clock_time), Strict()]
    #: A calendar day written ``YYYY-MM-DD`` (YAML's own dates are taken as they are).
    Day = Annotated[date, BeforeValidator(_day), Strict()]
    #: A sub-section that may be left empty in YAML (``voice:`` with nothing under it).
    Section = Annotated[T, BeforeValidator(_empty_section)]


def _leaf_types() -> dict[str, Any]:
    """The leaf types above (see the ``TYPE_CHECKING`` block), and pydantic's ``Field``."""
    from pydantic import BeforeValidator, Field, Strict

    return {
        "Field": Field,
        "Text": Annotated[str, Strict()],
        "Name": Annotated[str, Strict(), Field(min_length=1)],
        "Int": Annotated[int, Strict()],
        "Number": Annotated[float, Strict()],
        "Bool": Annotated[bool, Strict()],
        "ClockTime": Annotated[time, BeforeValidator(_clock_time), Strict()],
        "Day": Annotated[date, BeforeValidator(_day), Strict()],
        "Section": Annotated[T, BeforeValidator(_empty_section)],
    }


_LEAF_NAMES = frozenset(
    ("Field", "Text", "Name", "Int", "Number", "Bool", "ClockTime", "Day", "Section")
)

if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        if name not in _LEAF_NAMES:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        made = _leaf_types()
        globals().update(made)  # once made, plain attributes
        return made[name]


#: The pydantic config of every schema (what ``pydantic.with_config`` sets).
_FORBID_EXTRA = {"extra": "forbid"}


def schema(cls: type[T]) -> type[T]:
    """Mark a (frozen) dataclass as a config schema: unknown keys are refused."""
    cls.__pydantic_config__ = dict(_FORBID_EXTRA)  # type: ignore[attr-defined]
    return cls


def overrides_of(
    cls: type[Any],
    *,
    drop: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
    names: Mapping[str, Any] | None = None,
) -> type[Any]:
    """A schema for a file that sets *some* fields of ``cls`` over a base (its defaults or
    another object): a mapping of any of those fields, each checked as declared, minus
    ``drop`` (fields no file sets), plus ``extra`` keys (name -> type) only files have.
    ``names``: what the field types name beyond ``cls``'s module (types a module makes
    only when it checks, so that importing it does not load pydantic)."""
    hints = typing.get_type_hints(cls, localns=dict(names or {}), include_extras=True)
    dropped = set(drop)
    keys = {
        f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init and f.name not in dropped
    }
    keys.update(extra or {})
    return mapping(f"{cls.__name__}File", keys)


def mapping(name: str, keys: Mapping[str, Any]) -> type[Any]:
    """A schema made from a table (key -> type): a mapping where each key is optional,
    checked as declared, and no other key is allowed.  For configs declared as data
    (the device config's option table) rather than as a dataclass."""
    from typing_extensions import TypedDict

    shape = TypedDict(name, dict(keys), total=False)  # type: ignore[misc]  # noqa: UP013
    shape.__pydantic_config__ = dict(_FORBID_EXTRA)  # type: ignore[attr-defined]
    return shape


# --------------------------------------------------------------------------- problems


class Problem(str):
    """One problem of a config, read as its one line: ``path: message (hint)``.

    A ``str``, so lists of problems print, join and compare as text; ``path``
    (``queues[0].daily_cap``, ``""`` for the whole document), ``message`` and
    ``hint`` (``did you mean 'daily_cap'?`` or ``""``) are its parts.
    """

    path: str
    message: str
    hint: str

    def __new__(cls, path: str, message: str, hint: str = "") -> Problem:
        text = f"{path}: {message}" if path else message
        if hint:
            text += f" ({hint})"
        self = super().__new__(cls, text)
        self.path, self.message, self.hint = path, message, hint
        return self

    def under(self, prefix: str) -> Problem:
        """The same problem, its path inside ``prefix`` (``keys.caller`` + ``KEY_X``)."""
        if not prefix:
            return self
        path = prefix if not self.path else _join(prefix, self.path)
        return Problem(path, self.message, self.hint)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Problem, (self.path, self.message, self.hint))


def _join(prefix: str, path: str) -> str:
    return prefix + path if path.startswith("[") else f"{prefix}.{path}"


class ConfigError(ValueError):
    """A configuration is wrong; ``problems`` lists every problem, each with its path.

    Loaders subclass it (and set ``user_message``, the Chinese line for a screen).
    ``str(error)`` is ``source: problem; problem ...``.
    """

    user_message = "配置有误，请按提示修改或联系技术人员"

    def __init__(self, problems: Iterable[Problem | str], *, source: str = "") -> None:
        self.problems: tuple[Problem, ...] = tuple(
            p if isinstance(p, Problem) else Problem("", str(p)) for p in problems
        )
        self.source = source
        head = f"{source}: " if source else ""
        super().__init__(head + "; ".join(self.problems))

    @property
    def path(self) -> str:
        """The path of the first problem (``""``: the whole document)."""
        return self.problems[0].path if self.problems else ""

    @property
    def message(self) -> str:
        return self.problems[0].message if self.problems else str(self)

    @property
    def summary_zh(self) -> str:
        """The Chinese summary a screen shows: what is wrong in one line, and where."""
        where = "、".join(p.path for p in self.problems[:3] if p.path)
        more = " 等" if len(self.problems) > 3 else ""
        detail = f"（共 {len(self.problems)} 处：{where}{more}）" if where else ""
        return self.user_message + detail


Rule = Callable[[Any], Iterable[Problem]]


def suggest(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The declared names closest to ``word`` (difflib), best first."""
    import difflib

    return difflib.get_close_matches(str(word), [str(c) for c in choices], n=n, cutoff=cutoff)


def did_you_mean(word: Any, choices: Iterable[str], *, n: int = 1, quote: bool = True) -> str:
    """``"did you mean 'role'?"`` for the closest of ``choices``, or ``""``."""
    close = suggest(str(word), choices, n=n)
    if not close:
        return ""
    shown = [f"'{c}'" if quote else c for c in close]
    return f"did you mean {' or '.join(shown)}?"


# --------------------------------------------------------------------------- check


@functools.cache
def _adapter(model: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    return TypeAdapter(model)


def _adapter_for(model: Any) -> TypeAdapter[Any]:
    from pydantic import TypeAdapter

    try:
        return _adapter(model)
    except TypeError:  # not hashable (a type made on the fly): not cached
        return TypeAdapter(model)


def check(
    model: type[T],
    data: Any,
    *,
    source: str = "",
    at: str = "",
    rules: Iterable[Rule] = (),
    error: type[ConfigError] = ConfigError,
) -> T:
    """``data`` checked against ``model`` (a :func:`schema` dataclass), or ``error`` raised.

    Every type, range and unknown-key problem is reported at once; when there is
    none, every ``rule`` runs on the result and all their problems are reported
    together.  ``at`` is the path of ``data`` inside a larger document; ``source``
    names the document (a file name) in the message.
    """
    from pydantic import ValidationError

    try:
        obj = _adapter_for(model).validate_python(data)
    except ValidationError as exc:
        raise error(problems_of(model, exc, at=at), source=source) from None
    found = [p.under(at) for rule in rules for p in rule(obj)]
    if found:
        raise error(found, source=source)
    return typing.cast(T, obj)


def path_of(loc: Iterable[str | int], *, at: str = "") -> str:
    """``("queues", 0, "daily_cap")`` -> ``"queues[0].daily_cap"``."""
    path = at
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path = f"{path}.{part}" if path else str(part)
    return path


def problems_of(model: Any, exc: ValidationError, *, at: str = "") -> list[Problem]:
    """pydantic's errors as :class:`Problem`, in the document's order."""
    errors = exc.errors(include_url=False)
    inner = {tuple(e["loc"])[:-1] for e in errors if e["loc"]}
    problems: list[Problem] = []
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and loc in inner:
            continue  # pydantic counts only the good entries: the bad one is reported

        message, hint = _explain(model, loc, err)
        problem = Problem(path_of(loc, at=at), message, hint)
        if problem not in problems:
            problems.append(problem)
    return problems


_TYPE_WORDS = {
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "finite_number": "expected a finite number",
    "string_type": "expected text",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "set_type": "expected a list",
    "frozen_set_type": "expected a list",
    "iterable_type": "expected a list",
    "dict_type": "expected a mapping (key: value)",
    "mapping_type": "expected a mapping (key: value)",
    "dataclass_type": "expected a mapping (key: value)",
    "dataclass_exact_type": "expected a mapping (key: value)",
    "model_type": "expected a mapping (key: value)",
    "model_attributes_type": "expected a mapping (key: value)",
    "date_type": "expected a date like 2026-10-01",
    "time_type": "expected a time like '09:00'",
}


def _explain(model: Any, loc: tuple[str | int, ...], err: Any) -> tuple[str, str]:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    if kind in ("unexpected_keyword_argument", "extra_forbidden"):
        return "unknown key", _key_hint(model, loc)
    if kind in ("missing", "missing_keyword_argument", "missing_argument"):
        return "missing (required)", ""
    if kind in _TYPE_WORDS:
        message = f"{_TYPE_WORDS[kind]}, got {_shown(value)}"
        if kind == "string_type" and isinstance(value, int | float) and not isinstance(value, bool):
            return message, f"write it in quotes: '{value}'"
        return message, ""
    if kind == "literal_error":
        choices = _literal_values(_type_at(model, loc))
        if choices:
            message = f"expected one of {', '.join(choices)}, got {_shown(value)}"
            return message, did_you_mean(value, choices) if isinstance(value, str) else ""
        return f"expected {ctx.get('expected')}, got {_shown(value)}", ""
    if kind == "greater_than":
        return f"must be greater than {_bound(ctx['gt'])}, got {_shown(value)}", ""
    if kind == "greater_than_equal":
        return f"must be at least {_bound(ctx['ge'])}, got {_shown(value)}", ""
    if kind == "less_than":
        return f"must be less than {_bound(ctx['lt'])}, got {_shown(value)}", ""
    if kind == "less_than_equal":
        return f"must be at most {_bound(ctx['le'])}, got {_shown(value)}", ""
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty", ""
        return f"must be at least {ctx['min_length']} characters", ""
    if kind == "string_too_long":
        return f"must be at most {ctx['max_length']} characters", ""
    if kind == "too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty: list at least one", ""
        return f"needs at least {ctx['min_length']} entries", ""
    if kind == "too_long":
        return f"takes at most {ctx['max_length']} entries", ""
    if kind == "string_pattern_mismatch":
        return f"{_shown(value)} does not have the form {ctx['pattern']}", ""
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"]), ""
    return str(err["msg"]), ""


def _bound(value: Any) -> Any:
    """A range's bound as written: ``0``, not pydantic's ``0.0`` for a decimal field."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- the model's shape


def _unwrap(tp: Any) -> Any:
    """``Annotated[X, ...]`` -> X; ``X | None`` -> X."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            args = [a for a in get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp
            tp = args[0]
        else:
            return tp


def _fields(tp: Any) -> dict[str, Any] | None:
    """The declared keys of a schema type and their types (``None``: not a record)."""
    tp = _unwrap(tp)
    if not isinstance(tp, type):
        return None
    try:
        hints = typing.get_type_hints(tp, include_extras=True)
    except Exception:  # a type that cannot be resolved: no suggestions, still checked
        return None
    from typing_extensions import is_typeddict

    if is_typeddict(tp):
        return dict(hints)
    if dataclasses.is_dataclass(tp):
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(tp) if f.init}
    if hasattr(tp, "model_fields"):
        return {name: hints.get(name, Any) for name in tp.model_fields}
    if issubclass(tp, tuple) and hasattr(tp, "_fields"):  # a NamedTuple
        return {name: hints.get(name, Any) for name in tp._fields}
    return None


def _type_at(model: Any, loc: tuple[str | int, ...]) -> Any:
    tp: Any = model
    for part in loc:
        tp = _unwrap(tp)
        fields = _fields(tp)
        if fields is not None and isinstance(part, str):
            if part not in fields:
                return None
            tp = fields[part]
            continue
        origin, args = get_origin(tp), get_args(tp)
        if origin in (tuple, list, set, frozenset) and args and isinstance(part, int):
            tp = args[0] if origin is not tuple or args[-1] is Ellipsis else args[part]
        elif origin in (dict, Mapping) and len(args) == 2:
            tp = args[1]
        else:
            return None
    return _unwrap(tp)


def _literal_values(tp: Any) -> list[str]:
    return [str(v) for v in get_args(tp)] if get_origin(tp) is Literal else []


def _sections(fields: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, tp in fields.items():
        sub = _fields(tp)
        if sub is not None:
            yield name, sub


def _key_hint(model: Any, loc: tuple[str | int, ...]) -> str:
    """The "did you mean" for an unknown key: a sibling, or the key of a sub-section."""
    if not loc or not isinstance(loc[-1], str):
        return ""
    key, parent = loc[-1], loc[:-1]
    fields = _fields(_type_at(model, parent)) if parent else _fields(model)
    if fields is None:
        return ""
    # the suggestion is written as the key path from the enclosing list item (or the top)
    start = max((i + 1 for i, p in enumerate(parent) if isinstance(p, int)), default=0)
    prefix = path_of(parent[start:])

    def named(name: str) -> str:
        return f"'{prefix}.{name}'" if prefix else f"'{name}'"

    nested = {f"{section}.{name}": name for section, sub in _sections(fields) for name in sub}
    exact = [dotted for dotted, name in nested.items() if name == key]
    if exact:  # a section's key written one level up
        return f"did you mean {named(exact[0])}?"
    close = suggest(key, fields)
    if not close and prefix:  # in the right section, a little further off
        close = suggest(key, fields, cutoff=0.5)
    if not close:  # a misspelt section key written one level up
        close = [
            next(d for d, n in nested.items() if n == c) for c in suggest(key, nested.values())
        ]
    return f"did you mean {named(close[0])}?" if close else ""
