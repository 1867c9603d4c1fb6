"""Inside the network's "Feature maps" section, CNN Explainer's click through a trained conv
layer: click a map (or a cell of it) and see the filter that made it, the patch it slid over
and that one cell's arithmetic, on the run's own weights (the recorder's ConvCell,
engine/probes/cell.py). The figures are the Convolution lab's (viz.conv_lab) and viz.inside's.

State (defaults in ui.state): inside_cell is the cell asked for, (layer, map, row, column)
(maps and channels counted from 1 on the page, rows and columns from 0, as in the
Convolution lab); it and its boxes (inside_cell_*_box) follow the record, which clamps the
request to what exists. It is not a widget's key, so callbacks find it on any page."""
from __future__ import annotations

from typing import Callable

import numpy as np
import streamlit as st

from ui import builder
from ui.live import safe_callback
from viz import conv_lab as cv
from viz import inside as vz

S = st.session_state
NO_CHART_BAR = {"displayModeBar": False}
ERROR = "inside_cell_error"            # why the last click or choice could not be applied ('' when none)
safe = safe_callback(lambda message: S.__setitem__(ERROR, message))


BOXES = ("inside_cell_layer_box", "inside_cell_map_box", "inside_cell_row_box", "inside_cell_col_box")


def apply(rec) -> None:
    """Tell the recorder (engine.probes.Recorder, thread-safe) which cell to explain."""
    if rec is not None:
        layer, fmap, row, col = S["inside_cell"]
        rec.set_cell(layer, int(fmap) - 1, row, col)


def _follow_record(cell) -> None:
    """The choice and its boxes show the cell the record explains (the request, clamped), before
    the boxes are drawn."""
    S["inside_cell"] = (cell.layer, cell.map + 1, cell.row, cell.col)
    for box, value in zip(BOXES, S["inside_cell"]):
        S[box] = value
    S["inside_cell_channel"] = min(max(1, int(S["inside_cell_channel"] or 1)), len(cell.cells))


def _picked(chart: str) -> dict | None:
    points = S[chart].selection.points if S.get(chart) else []
    return points[0] if points else None


def show(rec, changed: Callable[[], None]) -> None:
    """The section for one ProbeRecord; `changed()` applies a new choice (and refreshes a run
    that is not training, so this rerun draws it)."""
    cell = rec.cell
    if cell is None:
        st.info("This network has no Conv2d layer, so it has no feature maps to click. Start the MNIST CNN preset "
                "(or add a Conv2d layer on the Playground).", icon=":material/lightbulb:")
        return
    _follow_record(cell)
    if S[ERROR]:
        st.error(S[ERROR])
        S[ERROR] = ""
    convs = {l.index: l for l in rec.layers if l.type == "Conv2d"}
    act = next((a for a in rec.activations if a.layer == cell.layer and a.values.ndim == 3), None)

    @safe
    def on_box() -> None:
        S["inside_cell"] = tuple(S[box] for box in BOXES)
        changed()

    @safe
    def on_maps() -> None:                           # a click on the mosaic: map and cell
        p = _picked("inside_cell_maps")
        if act is not None and p is not None and (at := vz.mosaic_cell(act, p.get("x", -1), p.get("y", -1))):
            S["inside_cell"] = (cell.layer, at[0] + 1, at[1], at[2])
            changed()

    @safe
    def on_fmap() -> None:                           # a click on the chosen map: the cell
        p = _picked("inside_cell_fmap")
        if p is not None and isinstance(p.get("x"), (int, float)) and isinstance(p.get("y"), (int, float)):
            S["inside_cell"] = (cell.layer, cell.map + 1, int(round(p["y"])), int(round(p["x"])))
            changed()

    h, w = cell.fmap.shape
    c = st.columns([2, 1, 1, 1, 1], vertical_alignment="bottom")
    c[0].selectbox("Conv layer", list(convs), key="inside_cell_layer_box", on_change=on_box,
                   format_func=lambda i: f"layer {convs[i].label}",
                   help="Each Conv2d layer slides its own filters over its input; later ones read the maps "
                        "of earlier ones.")
    with c[1]:
        builder.number_box(f"Feature map (1-{cell.n_maps})", 1, cell.n_maps, "inside_cell_map_box", cell.map + 1,
                           on_change=on_box, step=1,
                           help="One map per filter: the filter's response at every place of the input.")
    with c[2]:
        builder.number_box("Output row", 0, h - 1, "inside_cell_row_box", cell.row, on_change=on_box, step=1,
                           help=f"Which cell of the map to explain (0 is the top, {h - 1} the bottom).")
    with c[3]:
        builder.number_box("Output column", 0, w - 1, "inside_cell_col_box", cell.col, on_change=on_box, step=1,
                           help=f"Which cell of the map to explain (0 is the left, {w - 1} the right).")
    with c[4]:
        builder.number_box(f"Input channel (1-{len(cell.cells)})", 1, len(cell.cells), "inside_cell_channel",
                           S["inside_cell_channel"], step=1, disabled=len(cell.cells) == 1,
                           help="A filter has one kernel per input channel (1 for a grey image, one per map of "
                                "the previous layer); its products are shown for this one, the sum covers all.")
    if act is not None:
        st.plotly_chart(vz.feature_maps_figure(act, cell.map), key="inside_cell_maps", on_select=on_maps,
                        selection_mode="points", config=NO_CHART_BAR)
        st.caption(f"Test example #{cell.example} through layer {cell.label}: each tile is one filter's map. "
                   "Click a tile (at any cell) to see the filter that made it and how that cell was computed.")
    ch = int(S["inside_cell_channel"]) - 1
    a, b, d = st.columns(3)
    with a:
        st.plotly_chart(vz.cell_input_figure(cell, ch), key="inside_cell_input", config=NO_CHART_BAR)
        what = "the image" if cell.layer == 0 else "the previous layer's maps"
        st.caption(f"The layer's input ({what}). Red squares: the patch the filter multiplies for the chosen cell.")
    with b:
        kernel = cv.kernel_figure(cell.kernel[ch], f"Filter {cell.map + 1}, channel {ch + 1}: its weights")
        if cell.kernel.shape[-1] > 3:                # learned weights are small: 2 decimals fit a cell of 5x5
            kernel.update_traces(texttemplate="%{z:.2f}" if cell.kernel.shape[-1] <= 5 else None,
                                 textfont_size=10, selector=dict(type="heatmap"))
        st.plotly_chart(kernel, key="inside_cell_kernel", config=NO_CHART_BAR)
        st.caption(f"The trained weights of filter {cell.map + 1} (orange adds, blue subtracts); bias {cell.bias:+.4f}.")
    with d:
        st.plotly_chart(cv.output_figure(cell.fmap, (cell.row, cell.col), f"Feature map {cell.map + 1} "
                                         "(before any activation)"),
                        key="inside_cell_fmap", on_select=on_fmap, selection_mode="points", config=NO_CHART_BAR)
        st.caption("The map this filter made; the black square is the chosen cell. Click another cell.")
    t = cell.cells[ch]
    k = cell.kernel.shape[-1]
    each = f"for each of the {cell.n_in} input channels; add those sums" if cell.n_in > 1 else "then add"
    st.markdown(f"**How cell (row {cell.row}, column {cell.col}) of map {cell.map + 1} is computed**: multiply "
                f"the {k}x{k} patch by the kernel and add the products, {each} and the bias.")
    patch = np.array([term.value for term in t.terms]).reshape(k, k)            # (k, k), padding as 0
    st.plotly_chart(cv.products_figure(patch, cell.kernel[ch], t.total, f"Channel {ch + 1}: patch × kernel = products",
                                       gray=cell.layer == 0 and patch.min() >= 0 and patch.max() <= 1),
                    key="inside_cell_products", config=NO_CHART_BAR)
    st.caption("Each input value under the kernel times the weight on top of it; the products add up to this "
               "channel's share of the cell.")
    x, y = st.columns([3, 1.2])
    x.code(vz.cell_sum_text(cell), language=None)
    y.metric("Cell by hand", f"{cell.total:.4f}", help="Every channel's sum of products, plus the bias, in float64.")
    y.metric("The layer computed", f"{cell.value:.4f}",
             help="The value the trained Conv2d layer itself output at this cell (torch's conv2d, float32).")
