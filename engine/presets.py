"""Bundled presets: RunSpec JSON files in assets/presets/, by file stem."""
from __future__ import annotations

from pathlib import Path

from .spec import RunSpec, from_json

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name: str) -> RunSpec:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no preset {name!r} (presets: {', '.join(preset_names())})")
    return from_json(path.read_text())


def all_presets() -> dict[str, RunSpec]:
    return {n: load_preset(n) for n in preset_names()}
