"""A trainer's options as ONE frozen dataclass whose fields carry their own help and resume rule.

Why: the command line, the defaults, the options.json of a run and the check made on resume all
describe the same options. Written once as fields, each is derived:
  - `defaults(cls)`      the options.json keys and their default values (lists for sequences);
  - `mutable(cls)`       the options that may change when a run is resumed (steps, logging...);
  - `add_flags(p, cls)`  the argparse flags, --name-with-dashes per field, help from the field;
  - `given(args, cls)`   what the user set on the command line (None = not given).
Free of torch (like the option modules that use it) so `main.py --help` stays quick.

Declare a field with `option(default, "help", mutable=..., flag=..., parse=..., choices=...)`;
`parse` defaults to the default's type, and sequence options parse a comma-separated list.
"""
from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

_HELP, _MUTABLE, _FLAG, _PARSE, _CHOICES = "help", "mutable", "flag", "parse", "choices"


def option(default: Any, help: str, *, mutable: bool = False, flag: bool = True,
           parse: Callable[[str], Any] | None = None, choices: Sequence[str] | None = None) -> Any:
    """A dataclass field of a trainer's options.

    mutable: may differ from the run's options.json on resume (the new value is kept).
    flag: offered on the command line (False: fixed by the trainer, still stored in options.json).
    parse: how a flag's text becomes the value (default: the default's type; sequences: names).
    """
    meta = {_HELP: help, _MUTABLE: mutable, _FLAG: flag, _PARSE: parse, _CHOICES: choices}
    if isinstance(default, (list, tuple)):
        return dataclasses.field(default=tuple(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def names(text: str) -> list[str]:
    """A comma-separated list of names (sensors, cameras, widths as text)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list of names")
    return items


def yes_no(text: str) -> bool:
    """A boolean flag's text: true/false (also yes/no, 1/0)."""
    value = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return value


def _json_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def defaults(cls: type) -> dict[str, Any]:
    """The options.json keys of `cls` with their defaults (sequences as lists, as JSON reads back)."""
    return {f.name: _json_value(f.default) for f in dataclasses.fields(cls)}


def mutable(cls: type) -> frozenset[str]:
    """The options of `cls` that may change when a run is resumed."""
    return frozenset(f.name for f in dataclasses.fields(cls) if f.metadata.get(_MUTABLE))


def to_json(options: Any) -> dict[str, Any]:
    """An options instance as its options.json dict."""
    return {f.name: _json_value(getattr(options, f.name)) for f in dataclasses.fields(options)}


def from_json(cls: type, values: Mapping[str, Any]) -> Any:
    """An instance of `cls` from an options dict (lists back to tuples; unknown keys ignored)."""
    known = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k in known})


def _flag_fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.metadata.get(_FLAG, True)]


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def add_flags(parser: argparse.ArgumentParser, cls: type) -> None:
    """One flag per command-line field of `cls`, each left None when not given, so a resumed run
    keeps its saved value and a new run takes the default shown in the help."""
    for f in _flag_fields(cls):
        parse = f.metadata.get(_PARSE)
        if parse is None:
            parse = names if isinstance(f.default, tuple) else type(f.default)
        text = f.metadata[_HELP]
        if f.default is not None:
            text += f" (default {_show(f.default)}"
            text += "; may change on resume)" if f.metadata.get(_MUTABLE) else ")"
        elif f.metadata.get(_MUTABLE):
            text += " (may change on resume)"
        parser.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, type=parse,
                            choices=f.metadata.get(_CHOICES), default=None, help=text)


def given(args: argparse.Namespace, cls: type) -> dict[str, Any]:
    """The command-line fields of `cls` as the user gave them (None = not given)."""
    return {f.name: getattr(args, f.name, None) for f in _flag_fields(cls)}
