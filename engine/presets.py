"""Bundled presets: RunSpec JSON files in assets/presets/, by file stem."""
from __future__ import annotations

from pathlib import Path

from .spec import RunSpec, from_json

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"


PLAYGROUND_GROUPS = ("2d", "tabular", "images", "files")   # the data the Playground and the arena train
                                                           #   (sequences have their own page)
SUPERVISED = ("classification", "regression")              # ... and the tasks they train (GANs: the GAN lab)


def preset_names(groups: tuple[str, ...] | None = None, tasks: tuple[str, ...] | None = None) -> list[str]:
    """The presets' names; with `groups`, only those whose dataset is of one of these groups;
    with `tasks`, only those of one of these tasks."""
    names = sorted(p.stem for p in PRESET_DIR.glob("*.json"))
    if groups is None and tasks is None:
        return names
    from .data import DATASETS
    specs = {n: load_preset(n) for n in names}
    return [n for n, s in specs.items() if (groups is None or DATASETS[s.data.name].group in groups)
            and (tasks is None or s.task in tasks)]


def load_preset(name: str) -> RunSpec:
    path = PRESET_DIR / f"{name}.json"
    if not path.is_file():
        raise KeyError(f"no preset {name!r} (presets: {', '.join(preset_names())})")
    return from_json(path.read_text())


def all_presets(groups: tuple[str, ...] | None = None, tasks: tuple[str, ...] | None = None) -> dict[str, RunSpec]:
    return {n: load_preset(n) for n in preset_names(groups, tasks)}
