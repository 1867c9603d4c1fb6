"""Refresh the README's pictures from the browser tests' screenshots.

`python docs/pictures.py` copies the top of each page's screenshot (what a 1400x1000 window shows
first) from screenshots/ into docs/images/, halved and palette-packed to keep the repository
small; `--run` first runs the browser tests that save them (`python -m pytest tests/browser`).
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHOTS, IMAGES = ROOT / "screenshots", ROOT / "docs" / "images"
VIEW = (1400, 1000)               # the browser tests' window (tests/browser/conftest.py)
# picture in docs/images -> the screenshot it is cut from
PICTURES = {
    "start": "start.png",
    "playground": "playground.png",
    "inside": "inside_filters.png",
    "arena": "arena_race.png",
    "regularise": "regularise_trained.png",
    "transfer": "transfer_compared.png",
    "runs": "runs.png",
    "draw": "draw.png",
    "explain": "explain.png",
    "compress": "compress.png",
    "sequences": "sequences_names_lstm.png",
    "gan": "gan_ring.png",
    "autoencoder": "autoencoder_mnist.png",
    "conv_lab": "conv_lab.png",
    "activations": "activations.png",
    "backprop": "backprop.png",
}


def refresh() -> list[str]:
    """Write every picture whose screenshot exists; return the names of those that do not."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    missing = []
    for name, shot in PICTURES.items():
        if not (SHOTS / shot).exists():
            missing.append(shot)
            continue
        with Image.open(SHOTS / shot) as im:
            top = im.convert("RGB").crop((0, 0, min(im.width, VIEW[0]), min(im.height, VIEW[1])))
            top = top.resize((top.width // 2, top.height // 2), Image.LANCZOS)
            top.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(IMAGES / f"{name}.png", optimize=True)
    return missing


if __name__ == "__main__":
    if "--run" in sys.argv:
        subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/browser"], cwd=ROOT)
    if missing := refresh():
        sys.exit(f"no screenshot for: {', '.join(missing)} (run the browser tests first, or pass --run)")
    print(f"wrote {len(PICTURES)} pictures to {IMAGES.relative_to(ROOT)}")
