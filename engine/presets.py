"""Bundled presets: RunSpec JSON files in assets/presets/, by file stem."""
from __future__ import annotations

from pathlib import Path

from .spec import RunSpec, from_json

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"


PLAYGROUND_GROUPS = ("2d", "tabular", "images", "files")   # the data the Playground and the arena train
                                                           #   (sequences have their own page)


def preset_names(groups: tuple[str, ...] | None = None) -> list[str]:
    """The presets' names; with `groups`, only those whose dataset is of one of these groups."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.json"))
    if groups is None:
        return names
    from .data import DATASETS
    return [n for n in names if DATASETS[load_preset(n).data.name].group in groups]


def load_preset(name: str) -> RunSpec:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no preset {name!r} (presets: {', '.join(preset_names())})")
    return from_json(path.read_text())


def all_presets(groups: tuple[str, ...] | None = None) -> dict[str, RunSpec]:
    return {n: load_preset(n) for n in preset_names(groups)}
