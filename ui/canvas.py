"""A small drawing canvas (Streamlit custom component v2, inline HTML/JS, no package, no
network): white ink on black like MNIST, mouse or touch; after each stroke it reports the
picture as a PNG data URL in its `image` state. Clear wipes it."""
from __future__ import annotations

import streamlit as st

SIZE = 280                      # CSS pixels; the digit is scaled to 20x20 afterwards anyway

HTML = f"""
<div class="digit-canvas">
  <canvas width="{SIZE}" height="{SIZE}" aria-label="drawing area: draw one digit"></canvas>
  <button type="button" class="clear">Clear</button>
</div>
"""
CSS = f"""
.digit-canvas {{ display: flex; flex-direction: column; gap: 0.5rem; align-items: flex-start; }}
.digit-canvas canvas {{ width: {SIZE}px; height: {SIZE}px; background: #000; border-radius: 6px;
  touch-action: none; cursor: crosshair; }}
.digit-canvas .clear {{ padding: 0.25rem 0.9rem; border-radius: 0.5rem; border: 1px solid #ccc;
  background: #fff; cursor: pointer; }}
"""
JS = """
export default function(component) {
  const { parentElement, setStateValue } = component;
  const canvas = parentElement.querySelector("canvas");
  if (canvas.dataset.ready) return;
  canvas.dataset.ready = "1";
  const ctx = canvas.getContext("2d");
  const wipe = () => { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, canvas.width, canvas.height); };
  wipe();
  ctx.strokeStyle = "#fff"; ctx.lineWidth = 20; ctx.lineCap = "round"; ctx.lineJoin = "round";
  let drawing = false;
  const at = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  canvas.addEventListener("pointerdown", (e) => { drawing = true; canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e); ctx.beginPath(); ctx.moveTo(x, y); ctx.lineTo(x + 0.1, y + 0.1); ctx.stroke(); });
  canvas.addEventListener("pointermove", (e) => { if (!drawing) return;
    const [x, y] = at(e); ctx.lineTo(x, y); ctx.stroke(); });
  const done = () => { if (!drawing) return; drawing = false; setStateValue("image", canvas.toDataURL("image/png")); };
  canvas.addEventListener("pointerup", done);
  canvas.addEventListener("pointerleave", done);
  parentElement.querySelector(".clear").addEventListener("click", () => { wipe(); setStateValue("image", ""); });
}
"""

_canvas = st.components.v2.component("digit_canvas", html=HTML, css=CSS, js=JS)


def digit_canvas(key: str) -> str:
    """Mount the canvas; the latest drawing as a PNG data URL ('' before the first stroke)."""
    result = _canvas(key=key, default={"image": ""}, on_image_change=lambda: None)
    return getattr(result, "image", "") or ""
