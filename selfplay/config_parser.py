"""A RunConfig from YAML and `--section.key value` flags, and back to YAML.

Values are checked where they are read: an unknown key or a wrong type stops the run before anything
is loaded, with a message that names the key (and the file); selfplay/config.py checks what the
values mean together.
"""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import yaml

from .config import SECTIONS, ConfigError, RunConfig

def _coerce(value: Any, kind: Any, key: str) -> Any:
    """Check a YAML or CLI value against the field's declared type."""
    kind = {"str": str, "int": int, "float": float, "bool": bool, "list": list}.get(kind, kind)
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif kind is list:
        if isinstance(value, str):
            value = yaml.safe_load(value) if value.startswith("[") else [yaml.safe_load(v) for v in value.split(",") if v]
        if isinstance(value, list):
            return value
    elif kind is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
    raise ConfigError(f"{key}: expected {getattr(kind, '__name__', kind)}, got {value!r}")


def _fields(cls) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls)}


def from_dict(raw: dict, source: str = "config") -> RunConfig:
    """Build a RunConfig from nested mappings, rejecting unknown keys by name."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(raw).__name__}")
    top: dict[str, Any] = {}
    allowed_top = _fields(RunConfig)
    for key, value in raw.items():
        if key not in allowed_top:
            raise ConfigError(f"{key}: unknown key in {source}; allowed: {', '.join(allowed_top)}")
        if key in SECTIONS:
            cls = SECTIONS[key]
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: must be a mapping of keys")
            known = _fields(cls)
            section = {}
            for sub, sub_value in value.items():
                if sub not in known:
                    raise ConfigError(f"{key}.{sub}: unknown key in {source}; allowed: {', '.join(known)}")
                choices = known[sub].metadata.get("choices")
                coerced = _coerce(sub_value, known[sub].type, f"{key}.{sub}")
                if choices and coerced not in choices:
                    raise ConfigError(f"{key}.{sub}: {coerced!r} is not one of {', '.join(map(str, choices))}")
                section[sub] = coerced
            top[key] = cls(**section)
        else:
            top[key] = _coerce(value, allowed_top[key].type, key)
            choices = allowed_top[key].metadata.get("choices")
            if choices and top[key] not in choices:
                raise ConfigError(f"{key}: {top[key]!r} is not one of {', '.join(map(str, choices))}")
    return RunConfig(**top)


def to_dict(cfg: RunConfig) -> dict:
    return dataclasses.asdict(cfg)


def load_yaml(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"config file {path} is not valid YAML: {error}") from error
    return raw


def _set_dotted(raw: dict, dotted: str, value: str) -> None:
    parts = dotted.split(".")
    if len(parts) > 2:
        raise ConfigError(f"{dotted}: keys have the form section.key or key")
    target = raw
    if len(parts) == 2:
        target = raw.setdefault(parts[0], {})
        if not isinstance(target, dict):
            raise ConfigError(f"{parts[0]}: must be a mapping of keys")
    target[parts[-1]] = value


def build_parser(prog: str = "selfplay") -> argparse.ArgumentParser:
    """An argparse parser whose --help lists every field with its help text and default."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Self-play GRPO for a vision-language model. Values come from the defaults below "
                    "(the CPU job on a tiny offline model), then CONFIG.yaml, then --section.key overrides.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("config", nargs="?", help="YAML config file (default: the embedded CPU config).")
    parser.add_argument("--resume", nargs="?", const="auto", default=None,
                        help="Continue from the newest complete round, or from the round folder given "
                             "(the same as --checkpoint.resume).")
    for name, f in _fields(RunConfig).items():
        if name in SECTIONS:
            group = parser.add_argument_group(name)
            for sub, sf in _fields(SECTIONS[name]).items():
                default = sf.default if sf.default is not dataclasses.MISSING else sf.default_factory()
                group.add_argument(f"--{name}.{sub}", dest=f"{name}.{sub}", default=argparse.SUPPRESS,
                                   metavar=_metavar(sf), help=f"{sf.metadata['help']} (default: {default})")
        else:
            parser.add_argument(f"--{name}", dest=name, default=argparse.SUPPRESS, metavar=_metavar(f),
                                help=f"{f.metadata['help']} (default: {f.default})")
    return parser


def _metavar(f: dataclasses.Field) -> str:
    if f.metadata.get("choices"):
        return "{" + ",".join(map(str, f.metadata["choices"])) + "}"
    return {"list": "A,B", "bool": "BOOL"}.get(str(f.type), str(f.type).upper())


def parse_args(argv: list[str] | None = None) -> RunConfig:
    """Parse a command line into a validated config."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown option; run with --help for the list")
    raw = load_yaml(args.config) if args.config else {}
    source = args.config or "the command line"
    for dotted, value in vars(args).items():
        if dotted not in ("config", "resume"):
            _set_dotted(raw, dotted, value)
    if args.resume is not None:
        _set_dotted(raw, "checkpoint.resume", args.resume)
    return from_dict(raw, source)


def write_resolved(cfg: RunConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")

