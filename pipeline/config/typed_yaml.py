"""The typed-YAML machinery of params.yaml: strict loading (a key given twice is an error), `--set`
overrides on the raw YAML, and validation of the raw values against dataclasses, each problem one line that
names its key."""
from __future__ import annotations

import dataclasses
import re
import types
import typing
from pathlib import Path

import yaml


class ParamsError(ValueError):
    """params.yaml (or an override) does not match the schema."""


def read_yaml(path: Path) -> dict:
    """The file's mapping of sections, or a ParamsError naming the file (and line) and the problem."""
    try:
        raw = _safe_load_unique(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: file not found") from None
    except UnicodeDecodeError as err:
        raise ParamsError(f"{path}: not a UTF-8 text file ({err.reason} at byte {err.start})") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ParamsError(f"{path}:{where} not valid YAML ({_yaml_problem(err)})") from None
    if not isinstance(raw, dict):
        raise ParamsError(f"{path}: expected a mapping of sections at the top level")
    return raw


def apply_override(raw: dict, override: str, path: Path) -> None:
    key, sep, value = override.partition("=")
    if not sep or not key:
        raise ParamsError(f"--set {override!r}: expected section.key=value")
    *parents, leaf = key.split(".")
    node = raw
    for part in parents:
        if not isinstance(node.get(part), dict):
            raise ParamsError(f"--set {override!r}: {path} has no section {key.rsplit('.', 1)[0]!r}")
        node = node[part]
    if leaf not in node:
        raise ParamsError(f"--set {override!r}: unknown key {key!r} in {path}")
    try:
        parsed = _safe_load_unique(value)
    except yaml.YAMLError as err:  # an unclosed bracket, or a tag such as !!python/object that safe_load refuses
        raise ParamsError(f"--set {override!r}: the value is not valid YAML ({_yaml_problem(err)})") from None
    # YAML 1.1 reads 1e-3 (no dot) as a string; on the command line it means the number.
    if isinstance(parsed, str) and re.fullmatch(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+", parsed):
        parsed = float(parsed)
    # A text key keeps the text as written: YAML reads `off` and `yes` as booleans and `2018` as a number.
    if isinstance(node[leaf], str) and isinstance(parsed, (bool, int, float)):
        parsed = value
    node[leaf] = parsed


def check_section(data, keys: list[str], where: str, path: Path) -> None:
    """A section is a mapping with exactly these keys."""
    section = where or "top level"
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: {section} must be a mapping, got {describe(data)}")
    for key in data:
        if key not in keys:
            raise ParamsError(f"{path}: unknown key {join(where, key)!r} in section {section!r} "
                              f"(known: {', '.join(keys)})")
    for key in keys:
        if key not in data:
            raise ParamsError(f"{path}: missing key {join(where, key)!r} in section {section!r}")


def build(cls, data, where: str, path: Path):
    """Validate `data` against type `cls`; `where` is the dotted key for messages."""
    origin = typing.get_origin(cls)
    if hasattr(cls, "from_yaml"):  # a section whose keys are not fixed fields (a training profile's kinds)
        return cls.from_yaml(data, where, path)
    if dataclasses.is_dataclass(cls):
        hints = typing.get_type_hints(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        check_section(data, names, where, path)
        built = cls(**{name: build(hints[name], data[name], join(where, name), path) for name in names})
        problems = built.problems() if hasattr(built, "problems") else []  # a section's own range checks
        if problems:
            raise ParamsError("; ".join(join(where, problem) for problem in problems))
        return built
    if origin is dict:
        key_type, value_type = typing.get_args(cls)
        if not isinstance(data, dict):
            raise ParamsError(f"{path}: {where!r} must be a mapping, got {describe(data)}")
        return {build(key_type, k, where, path): build(value_type, v, join(where, str(k)), path)
                for k, v in data.items()}
    if origin is list or cls is list:
        if not isinstance(data, list):
            raise ParamsError(f"{path}: {where!r} must be a list, got {describe(data)}")
        if cls is list:  # a list of any YAML values
            return list(data)
        (item_type,) = typing.get_args(cls)
        return [build(item_type, v, f"{where}[{i}]", path) for i, v in enumerate(data)]
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(cls)
        if data is None and type(None) in options:
            return None
        (inner,) = [t for t in options if t is not type(None)]
        return build(inner, data, where, path)
    if cls is float and isinstance(data, int) and not isinstance(data, bool):
        return float(data)
    # bool is a subclass of int: `seed: yes` must not pass as an int.
    if isinstance(data, cls) and not (cls is int and isinstance(data, bool)):
        return data
    raise ParamsError(f"{path}: {where!r} must be {cls.__name__}, got {describe(data)}")


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load's loader, except that a key given twice in one mapping is an error (PyYAML keeps the
    last one without a word, and a forgotten earlier line would silently not apply), and that booleans are
    YAML 1.2's true and false only, as DVC reads params.yaml: `tracking_uri: off` is the text "off"."""

    yaml_implicit_resolvers = {first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
                               for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = self.construct_object(key_node)
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"key {key!r} given twice",
                                                            key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


_UniqueKeyLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                       list("tTfF"))


def _safe_load_unique(text: str):
    loader = _UniqueKeyLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _yaml_problem(err: yaml.YAMLError) -> str:
    """The problem in one line (a YAMLError's own text goes on with the position on further lines)."""
    return getattr(err, "problem", None) or str(err).splitlines()[0]


def join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def describe(value) -> str:
    return f"{type(value).__name__} {value!r}"
