"""The Playground's Deploy panel in a browser: export the paused run to every format (each checked
against PyTorch), refuse weights for another network naming the tensor, load the right ones."""
import io

import torch

from engine.build import build_model
from engine.presets import load_preset

from .conftest import assert_no_exception, open_page, shot, wait_idle


def _weights(tmp_path, name, units):
    spec = load_preset("tf_playground")
    layers = list(spec.layers)
    layers[0] = type(layers[0]).make("linear", units=units)
    if units != 4:
        layers[2] = type(layers[2]).make("linear", units=2)
    model = build_model(tuple(layers), (2,))
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    path = tmp_path / name
    path.write_bytes(buf.getvalue())
    return path


def test_export_to_onnx_and_load_weights(page, app_url, tmp_path):
    open_page(page, app_url)
    page.get_by_role("button", name="Step").first.click()
    wait_idle(page)
    page.get_by_role("tab", name="Share & export").click()
    page.get_by_role("button", name="Prepare the files").click()
    page.wait_for_function("() => document.body.innerText.includes('Each file was loaded back')", timeout=60_000)
    assert page.get_by_role("button", name="Download ONNX (playground.onnx)").count() == 1
    upload = page.locator("[data-testid='stFileUploaderDropzoneInput']").last
    upload.set_input_files(str(_weights(tmp_path, "other.pt", 6)))
    page.wait_for_function("() => document.body.innerText.includes('other.pt was not loaded')", timeout=30_000)
    assert "tensor 0.weight is (6, 2) in the file but (4, 2) in this network" in page.inner_text("body")
    upload.set_input_files(str(_weights(tmp_path, "same.pt", 4)))
    page.wait_for_function("() => document.body.innerText.includes('Loaded the weights from')", timeout=30_000)
    wait_idle(page)
    assert_no_exception(page)
    shot(page, "playground_deploy")
