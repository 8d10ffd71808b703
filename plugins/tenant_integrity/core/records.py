"""Record: a frozen dataclass that crosses a process boundary — an XCom, a JSON file, a summary column — and comes
back as the same type, nested records included (to_dict / from_dict). Every typed result of the package is one."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import TypeVar

T = TypeVar("T")


class Record:
    """to_dict / from_dict for a frozen dataclass whose fields are plain values, dicts, tuples or such types."""

    def to_dict(self) -> dict:
        """JSON-shaped: nested results as dicts, tuples as lists (what an XCom or json.dumps keeps)."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls: type[T], data: dict) -> T:
        hints = typing.get_type_hints(cls)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
        return cls(**{name: _read(hints[name], value) for name, value in data.items()})


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _read(hint, value):
    """Rebuild `value` (JSON-shaped) as `hint` says: nested results, dicts and tuples of them, optionals."""
    if value is None:
        return None
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        kinds = [a for a in args if a is not type(None)]
        return _read(kinds[0], value) if len(kinds) == 1 else value
    if isinstance(hint, type) and issubclass(hint, Record):
        return value if isinstance(value, hint) else hint.from_dict(value)
    if dataclasses.is_dataclass(hint):
        return value if isinstance(value, hint) else hint(**value)
    if origin is dict:
        return {k: _read(args[1], v) for k, v in value.items()}
    if origin is tuple:
        return tuple(_read(args[0], v) for v in value)
    return value
