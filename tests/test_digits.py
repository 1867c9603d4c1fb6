"""Drawn and photographed digits prepared as MNIST's were, and predicted by a trained network."""
import base64
import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.data.images import mnist_images
from engine.digits import DigitError, center_of_mass, explain, from_photo, mnist_like, model_input, read_drawing
from engine.presets import load_preset
from engine.tasks import build_run


def _digits(n=60):
    x, y = mnist_images()
    idx = np.random.default_rng(1).choice(len(x), n, replace=False)
    return x[idx, 0].astype(np.float32) / 255.0, y[idx]


def _drawn(a: np.ndarray, scale: float, dy: int, dx: int) -> np.ndarray:
    """A real digit as someone might draw it on a 280x280 canvas: bigger, off centre."""
    side = int(280 * scale)
    big = np.asarray(Image.fromarray(a).resize((side, side), Image.Resampling.BILINEAR), np.float32)
    canvas = np.zeros((280, 280), np.float32)
    canvas[dy:dy + side, dx:dx + side] = big
    return canvas


def test_a_mnist_digit_is_its_own_mnist_like_version_and_its_centre_of_mass_is_the_middle():
    x, _ = _digits(40)
    assert max(np.abs(mnist_like(a) - a).mean() for a in x) < 0.002       # MNIST: 20x20 box, centred by mass
    for a in x[:5]:
        cy, cx = center_of_mass(mnist_like(_drawn(a, 0.5, 100, 20)))
        assert abs(cy - 14) < 0.6 and abs(cx - 14) < 0.6
    assert mnist_like(np.zeros((50, 50))).sum() == 0


def test_a_drawn_digit_comes_back_close_to_the_original_and_the_trained_cnn_reads_it():
    x, y = _digits(60)
    drawn = [mnist_like(_drawn(a, s, dy, dx)) for a, (s, dy, dx) in
             zip(x, [(0.6, 30, 70), (0.8, 10, 40), (0.45, 120, 120)] * 20)]
    gaps = [np.abs(d - a).mean() for d, a in zip(drawn, x)]
    assert np.mean(gaps) < 0.05 and max(gaps) < 0.12                       # measured: 0.035 mean
    run = build_run(load_preset("mnist_cnn"))
    for _ in range(run.total_steps):
        run.step()
    model = run.model.cpu().to(memory_format=torch.contiguous_format)
    preds = [explain(model, model_input(d, "auto"))["pred"] for d in drawn]
    assert np.mean(np.array(preds) == y) >= 0.9                             # the CNN's test accuracy: ~97%
    e = explain(model, model_input(drawn[0], "auto"))
    assert e["probs"].sum() == pytest.approx(1, abs=1e-5) and e["saliency"].shape == (28, 28)
    assert e["saliency"].max() == pytest.approx(1) and [o.shape for o in e["layers"]][0] == (32, 26, 26)


def test_drawings_and_photos_are_read_or_refused_with_a_sentence():
    buf = io.BytesIO()
    Image.fromarray((np.eye(50) * 255).astype(np.uint8)).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    img = read_drawing(url)
    assert img.shape == (50, 50) and img.max() == 1.0
    for bad in ("", "data:text/plain;base64,aGk=", "data:image/png;base64,!!!", "data:image/png;base64,aGVsbG8="):
        with pytest.raises(DigitError):
            read_drawing(bad)
    page = np.full((40, 40), 0.9, np.float32)
    page[10:30, 18:22] = 0.1                                                # dark ink on light paper
    ink = from_photo(page)
    assert ink[20, 20] == pytest.approx(1) and ink[0, 0] == 0
    with pytest.raises(DigitError, match="standardised"):
        model_input(np.zeros((28, 28)), "standardize")
    assert model_input(np.ones((28, 28)), "symmetric").max() == 1.0
