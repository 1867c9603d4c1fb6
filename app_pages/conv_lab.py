"""Convolution lab: slide a kernel over an image, then pool; explain one output cell, number by number."""
from __future__ import annotations

import numpy as np
import streamlit as st

from engine.teach import conv
from ui.state import init_defaults
from viz import conv_lab as vz

init_defaults()          # idempotent; lets the page run on its own (page tests)
S = st.session_state
SOURCES = {"mnist": "MNIST digit", "photo": "Photo (scikit-learn sample)", "shape": "Generated shape",
           "upload": "Upload your own image"}
SIZES = [16, 24, 32, 48, 64, 96]
CUSTOM = {"custom3": ("Custom 3x3", 3), "custom5": ("Custom 5x5", 5)}


@st.cache_data(max_entries=4, show_spinner=False)
def _upload(data: bytes, size: int) -> np.ndarray:
    return conv.read_upload(data, size)


def _input_image() -> tuple[np.ndarray | None, str]:
    """The chosen image (H, W) in [0, 1] and a one-line description; None after an error shown."""
    src = S.conv_source
    if src == "mnist":
        img, label = conv.mnist_digit(S.conv_digit)
        return img, f"MNIST digit #{S.conv_digit} (a {label}), 28x28 pixels"
    if src == "photo":
        img = conv.photo(S.conv_photo, S.conv_channel, S.conv_size)
        return img, f"the {S.conv_photo} photo, {S.conv_channel} channel, {img.shape[0]}x{img.shape[1]} pixels"
    if src == "shape":
        img, name = conv.shape_image(S.conv_shape_seed)
        return img, f"a generated {name}, 28x28 pixels"
    file = S.get("conv_file")
    if file is None:
        st.info("Choose an image file above (PNG or JPEG, at most 5 MB); until then there is nothing to convolve.")
        return None, ""
    try:
        img = _upload(file.getvalue(), S.conv_size)
    except conv.ConvError as e:
        st.error(f"Could not use {file.name}: {e}.")
        return None, ""
    return img, f"{file.name} in grayscale, {img.shape[0]}x{img.shape[1]} pixels"


def _kernel() -> tuple[np.ndarray | None, str]:
    name = S.conv_kernel
    if name in CUSTOM:
        label, size = CUSTOM[name]
        try:
            return conv.parse_kernel(S[f"conv_{name}"], size), label
        except conv.ConvError as e:
            st.error(f"The custom kernel cannot be read: {e}.")
            return None, label
    return conv.KERNELS[name].array(), conv.KERNELS[name].label


def _clamp(key: str, hi: int) -> None:
    """Keep a chosen row/column inside a map that the settings may have shrunk."""
    S[key] = int(min(max(S[key], 0), hi))


def _on_click(chart: str, row_key: str, col_key: str) -> None:
    points = S[chart].selection.points if S.get(chart) else []
    if points:
        S[row_key], S[col_key] = int(points[0]["y"]), int(points[0]["x"])


st.title("Convolution lab")
st.caption("A convolution slides a small grid of weights (the kernel) over an image; each output pixel is "
           "the sum of the pixels under the kernel times its weights. CNNs learn these weights.")

# ---------------------------------------------------------------- controls
c_in, c_k, c_set = st.columns([1.1, 1, 1.2])
with c_in:
    st.subheader("1. Input")
    st.selectbox("Image", list(SOURCES), format_func=SOURCES.get, key="conv_source",
                 help="The picture the kernel slides over; all are turned into one channel of brightness 0..1.")
    if S.conv_source == "mnist":
        st.number_input("Digit number (0-4999)", 0, 4999, key="conv_digit",
                        help="Which of the 5,000 handwritten MNIST digits to use.")
    elif S.conv_source == "photo":
        a, b = st.columns(2)
        a.selectbox("Photo", list(conv.PHOTOS), key="conv_photo",
                    help="scikit-learn's two sample photos: a temple in China and a flower.")
        b.selectbox("Channel", conv.CHANNELS, key="conv_channel",
                    help="Gray mixes red, green and blue; a colour channel keeps only that colour's brightness. "
                         "A conv layer sees each channel as a separate grid.")
    elif S.conv_source == "shape":
        st.number_input("Shape seed", 0, 10_000, key="conv_shape_seed",
                        help="Each seed draws a different circle, square, triangle or line.")
    else:
        st.file_uploader("Image file", type=["png", "jpg", "jpeg", "gif", "bmp", "webp"], key="conv_file",
                         max_upload_size=conv.MAX_UPLOAD_BYTES // (1024 * 1024),
                         help="Your own picture (at most 5 MB). It is checked, turned gray and shrunk; "
                              "nothing is stored.")
    if S.conv_source in ("photo", "upload"):
        st.select_slider("Image size (pixels on the long side)", SIZES, key="conv_size",
                         help="The photo is shrunk so every pixel stays visible and the page stays fast.")

with c_k:
    st.subheader("2. Kernel")
    kernel_names = list(conv.KERNELS) + list(CUSTOM)
    st.selectbox("Kernel", kernel_names, key="conv_kernel",
                 format_func=lambda n: conv.KERNELS[n].label if n in conv.KERNELS else CUSTOM[n][0],
                 help="The grid of weights slid over the image. Each preset is a classic image filter; "
                      "a CNN learns its own.")
    if S.conv_kernel in CUSTOM:
        label, size = CUSTOM[S.conv_kernel]
        st.text_area(f"{label} weights ({size} lines of {size} numbers)", key=f"conv_{S.conv_kernel}",
                     height=90 if size == 3 else 140,
                     help="Type one row of the kernel per line, numbers separated by spaces; fractions "
                          "like 1/9 work.")
    else:
        st.caption(conv.KERNELS[S.conv_kernel].help)

with c_set:
    st.subheader("3. Settings")
    a, b = st.columns(2)
    a.number_input("Stride", 1, 4, key="conv_stride",
                   help="How many pixels the kernel moves between neighbouring outputs; 2 halves the output size.")
    b.number_input("Padding", 0, 4, key="conv_padding",
                   help="Pixels added around the image so the kernel can also sit on the border; "
                        "padding 1 keeps a 3x3 output the same size as the input.")
    a.selectbox("Padding mode", conv.PAD_MODES, key="conv_pad_mode",
                help="zeros: the added pixels are black (0). reflect: they mirror the image at its border.")
    b.number_input("Dilation", 1, 4, key="conv_dilation",
                   help="The gap between kernel taps: 2 spreads a 3x3 kernel over 5x5 pixels, "
                        "seeing more with the same 9 weights.")
    st.toggle("ReLU on the output", key="conv_relu",
              help="ReLU(x) = max(0, x): negative outputs become 0, as after most conv layers.")

image, image_text = _input_image()
kernel, kernel_label = _kernel()
if image is None or kernel is None:
    st.stop()

k = kernel.shape[0]
s = conv.ConvSettings(S.conv_stride, S.conv_padding, S.conv_pad_mode, S.conv_dilation)
problems = conv.check(image.shape, k, s)
if problems:
    for p in problems:
        st.error(f"These settings do not fit a {image.shape[0]}x{image.shape[1]} image: {p}.")
    st.stop()
fmap = conv.convolve(image, kernel, s, relu=S.conv_relu)         # (H', W')

# ---------------------------------------------------------------- output size
st.subheader("Output size")
st.latex(r"\text{out} = \left\lfloor \frac{\text{in} + 2p - d\,(k - 1) - 1}{s} \right\rfloor + 1"
         rf"\qquad k = {k},\ s = {s.stride},\ p = {s.padding},\ d = {s.dilation}")
st.markdown(f"- **height:** {conv.output_size_formula(image.shape[0], k, s.stride, s.padding, s.dilation)}\n"
            f"- **width:** {conv.output_size_formula(image.shape[1], k, s.stride, s.padding, s.dilation)}")
st.caption(f"Input: {image_text}. Output: {fmap.shape[0]}x{fmap.shape[1]} values.")

# ---------------------------------------------------------------- one output cell
_clamp("conv_row", fmap.shape[0] - 1)
_clamp("conv_col", fmap.shape[1] - 1)
a, b, _ = st.columns([1, 1, 3])
a.number_input("Output row", 0, fmap.shape[0] - 1, key="conv_row",
               help="Which output cell to explain (row 0 is the top). You can also click a cell of the output.")
b.number_input("Output column", 0, fmap.shape[1] - 1, key="conv_col",
               help="Which output cell to explain (column 0 is the left).")
i, j = S.conv_row, S.conv_col
cell = conv.explain_cell(image, kernel, i, j, s, relu=S.conv_relu)

c1, c2, c3 = st.columns([1.15, 0.8, 1.15])
with c1:
    st.plotly_chart(vz.input_figure(conv.pad(image, s.padding, s.pad_mode), s.padding,
                                    [(t.row, t.col) for t in cell.terms], image.shape,
                                    "Input" + (" with padding" if s.padding else "")), key="conv_in_chart")
    st.caption("Red squares: the pixels the kernel multiplies for the chosen output cell (its receptive field).")
with c2:
    st.plotly_chart(vz.kernel_figure(kernel, f"Kernel: {kernel_label}"), key="conv_k_chart")
    st.caption("Orange weights add the pixel under them, blue weights subtract it.")
with c3:
    st.plotly_chart(vz.output_figure(fmap, (i, j), "Output (feature map)" + (" after ReLU" if S.conv_relu else "")),
                    key="conv_out_chart", on_select=lambda: _on_click("conv_out_chart", "conv_row", "conv_col"),
                    selection_mode="points")
    st.caption("Orange: strong positive response, blue: negative, white: none. Click a cell to explain it.")

st.subheader(f"How output cell (row {i}, column {j}) is computed")
st.markdown(f"Multiply each of the {k * k} pixels in the receptive field by the kernel weight on top of it, "
            f"then add the {k * k} products" + (", then apply ReLU." if S.conv_relu else "."))
values = np.array([t.value for t in cell.terms]).reshape(k, k)            # (k, k) receptive field
st.plotly_chart(vz.products_figure(values, kernel, cell.total, "Receptive field × kernel = products"),
                key="conv_products_chart")
st.caption("Each pixel under the kernel is multiplied by the weight on top of it; adding the products "
           "gives the output value.")
t1, t2 = st.columns([3, 2])
t1.dataframe(vz.terms_table(cell.terms), hide_index=True, height=min(35 * (k * k + 1) + 3, 420))
with t2:
    st.metric("Sum of the products", f"{cell.total:.4f}",
              help="The convolution's output before any activation; there is no bias here.")
    if S.conv_relu:
        st.metric("After ReLU", f"{cell.value:.4f}", help="max(0, sum): negative sums become 0.")
    st.metric("Output cell from torch's conv2d", f"{fmap[i, j]:.4f}",
              help="The value torch.nn.functional.conv2d computed: the same number.")
st.markdown("**The whole sum, written out** (pixel × weight, row by row)")
st.code(cell.equation(3), language=None, wrap_lines=True)

# ---------------------------------------------------------------- pooling
st.divider()
st.subheader("4. Pooling the feature map")
st.caption("Pooling shrinks a feature map: each window of the map becomes one number, its maximum or its mean.")
a, b, e, c, d = st.columns(5)
a.selectbox("Pooling", conv.POOL_KINDS, key="conv_pool_kind", format_func={"max": "max", "avg": "average"}.get,
            help="max keeps the strongest response in each window; average keeps the mean.")
b.number_input("Window size", 2, 4, key="conv_pool_size",
               help="The window is size x size cells of the feature map.")
e.number_input("Pool stride", 1, 4, key="conv_pool_stride",
               help="How far the window moves between pooled cells; equal to the size, windows do not overlap.")
size, pstride = S.conv_pool_size, S.conv_pool_stride
if min(fmap.shape) < size:
    st.error(f"The feature map ({fmap.shape[0]}x{fmap.shape[1]}) is smaller than the {size}x{size} pooling "
             "window: choose a smaller window, or a smaller stride or more padding above.")
    st.stop()
pooled = conv.pool(fmap, S.conv_pool_kind, size, pstride)               # (H'', W'')
_clamp("conv_pool_row", pooled.shape[0] - 1)
_clamp("conv_pool_col", pooled.shape[1] - 1)
c.number_input("Pooled row", 0, pooled.shape[0] - 1, key="conv_pool_row",
               help="Which pooled cell to explain; its window is outlined on the feature map.")
d.number_input("Pooled column", 0, pooled.shape[1] - 1, key="conv_pool_col",
               help="Which pooled cell to explain (column 0 is the left).")
pi, pj = S.conv_pool_row, S.conv_pool_col
pcell = conv.explain_pool(fmap, pi, pj, S.conv_pool_kind, size, pstride)
st.markdown(f"Pooled size, the same formula with k = {size}, s = {pstride}, p = 0, d = 1:\n"
            f"- **height:** {conv.output_size_formula(fmap.shape[0], size, pstride)}\n"
            f"- **width:** {conv.output_size_formula(fmap.shape[1], size, pstride)}")
p1, p2, p3 = st.columns([1.15, 1.15, 0.9])
with p1:
    st.plotly_chart(vz.output_figure(fmap, (i, j), "Feature map (pooling input)",
                                     window=[(r, c_) for r, c_, _ in pcell.cells],
                                     window_name=f"window of pooled cell ({pi}, {pj})", clickable=False),
                    key="conv_fmap_chart")
    st.caption("Red squares: the cells that become the chosen pooled value.")
with p2:
    st.plotly_chart(vz.output_figure(pooled, (pi, pj), f"After {S.conv_pool_kind} pooling"),
                    key="conv_pool_chart", selection_mode="points",
                    on_select=lambda: _on_click("conv_pool_chart", "conv_pool_row", "conv_pool_col"))
    st.caption(f"Each pooled cell summarises a {size}x{size} window of the feature map. Click a cell to explain it.")
with p3:
    st.metric(f"Pooled cell ({pi}, {pj})", f"{pcell.value:.4f}",
              help="The max (or mean) of the window's values.")
    st.metric("From torch's pool2d", f"{pooled[pi, pj]:.4f}",
              help="What torch.nn.functional.max_pool2d / avg_pool2d computed: the same number.")
    st.code(pcell.equation(), language=None, wrap_lines=True)
