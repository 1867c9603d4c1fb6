"""Figures of the optimizer arena: race curves, loss-surface paths (animated), the path's
gap to the minimum, and the learning-rate finder. Pure: plain data in, go.Figure out.

Each record carries its optimizer's colour (from the optimizer registry, so an optimizer
keeps its colour on every chart); a second contestant with the same optimizer keeps the
colour and gets another line style.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .style import base_layout, png_data_uri

DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = ("circle", "square", "diamond", "triangle-up", "pentagon", "star")
SURFACE_SCALE = [[0.0, "#ffffff"], [1.0, "#8d99a6"]]       # neutral, so coloured paths stand out
SURFACE_LINE = "#6b7785"
N_LEVELS = 30               # contour bands of the loss surface
MAX_FRAMES = 40


def line_style(color: str, repeat: int = 0) -> dict:
    """The optimizer's colour, line style by how many earlier lines share it."""
    return {"color": color, "dash": DASHES[repeat % len(DASHES)], "symbol": SYMBOLS[repeat % len(SYMBOLS)]}


@dataclass(frozen=True)
class Curve:
    """One contestant's curves, as the race figure needs them."""
    name: str
    color: str                   # the optimizer's colour (engine.optim.OPTIMIZERS[name].color)
    repeat: int                  # 0 for the first contestant with this optimizer, 1 for the next ...
    evals: dict                  # RunView.evals columns
    status: str                  # training | done | diverged
    message: str = ""


# ---------------------------------------------------------------- race
METRICS = {   # metric -> (train column, test column, axis title, log axis)
    "loss": ("train_loss", "test_loss", "loss (lower is better)", True),
    "acc": ("train_acc", "test_acc", "accuracy (%)", False),
}
X_AXES = {"step": "training step (batches seen)", "time_s": "training time (seconds, wall clock)"}


def race_figure(curves: Sequence[Curve], metric: str = "loss", x: str = "step",
                height: int = 400) -> go.Figure:
    """Train (left) and test (right) `metric` of every contestant against steps or seconds;
    an X marks where a contestant diverged."""
    tr_col, te_col, ytitle, log = METRICS[metric]
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=("on the training set", "on the test set (unseen data)"))
    scale = 100.0 if metric == "acc" else 1.0
    marked = False
    for c in curves:
        st = line_style(c.color, c.repeat)
        xs = c.evals.get(x, [])
        for col, key in ((1, tr_col), (2, te_col)):
            ys = [None if v is None else v * scale for v in c.evals.get(key, [])]
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=c.name, legendgroup=c.name, showlegend=col == 1,
                line=dict(color=st["color"], dash=st["dash"], width=2.2),
                hovertemplate=f"{c.name}<br>%{{y:.4g}}<extra></extra>"), row=1, col=col)
            if c.status == "diverged" and xs:
                last = next((i for i in range(len(ys) - 1, -1, -1) if ys[i] is not None), None)
                if last is not None:
                    fig.add_trace(go.Scatter(
                        x=[xs[last]], y=[ys[last]], mode="markers", name="diverged here",
                        legendgroup="diverged", showlegend=not marked,
                        marker=dict(symbol="x", size=14, color=st["color"], line=dict(width=2, color="black")),
                        hovertemplate=f"{c.name} diverged after this point<extra></extra>"), row=1, col=col)
                    marked = True
    title = {"loss": "Loss", "acc": "Accuracy"}[metric] + " of every contestant"
    base_layout(fig, title, "", ytitle, height)
    fig.update_xaxes(title_text=X_AXES[x])
    fig.update_yaxes(title_text=ytitle, row=1, col=1)
    fig.update_yaxes(title_text=None, row=1, col=2)
    if log:
        fig.update_yaxes(type="log", dtick="D2", tickformat=".2~g")
    else:
        fig.update_yaxes(range=[0, 101])
    fig.update_layout(hovermode="x unified", margin=dict(t=60, b=10),
                      legend=dict(orientation="h", yanchor="top", y=-0.2, xanchor="left", x=0))
    fig.update_annotations(font_size=12)
    return fig


# ---------------------------------------------------------------- loss surfaces
@dataclass(frozen=True)
class PathData:
    name: str
    color: str                   # the optimizer's colour
    repeat: int
    xy: np.ndarray               # (n, 2)
    values: np.ndarray           # (n,)
    diverged_at: int | None = None


def _frame_steps(n_steps: int) -> list[int]:
    return sorted(set(np.linspace(0, n_steps, min(MAX_FRAMES, n_steps) + 1).round().astype(int).tolist()))


def _status_text(paths: Sequence[PathData], step: int) -> str:
    lines = [f"<b>step {step}</b>"]
    for p in paths:
        i = min(step, len(p.values) - 1)
        color = line_style(p.color, p.repeat)["color"]
        tail = f" (flew off at step {p.diverged_at})" if p.diverged_at and step >= len(p.values) - 1 else ""
        short = p.name.split(" (")[0]
        lines.append(f"<span style='color:{color}'>&#9679;</span> <b>{short}</b><br>"
                     f"&nbsp;&nbsp;&nbsp;f = {p.values[i]:.4g}{tail}")
    return "<br>".join(lines)


def _trail(xy: np.ndarray, i: int, coarse: int = 40, fine: int = 12) -> np.ndarray:
    """The path up to point i, thinned for animation frames: at most `coarse` evenly spread
    points, then the last `fine` points exactly (the faint full path underneath keeps every step)."""
    head = xy[:max(0, i + 1 - fine)]
    if len(head) > coarse:
        head = head[np.linspace(0, len(head) - 1, coarse).round().astype(int)]
    return np.round(np.concatenate([head, xy[max(0, i + 1 - fine):i + 1]]), 5)


def _moving(p: PathData, step: int, full: bool = False) -> list[dict]:
    """The path so far and its current point at `step`, as plain trace dicts. `full`: the
    styled traces of the figure itself; otherwise the bare x / y a frame changes (frames are
    many, and animation keeps every other property of the trace)."""
    i = min(step, len(p.xy) - 1)
    trail = p.xy[:i + 1] if full else _trail(p.xy, i)
    line = dict(type="scatter", x=trail[:, 0], y=trail[:, 1])
    dot = dict(type="scatter", x=[round(float(p.xy[i, 0]), 5)], y=[round(float(p.xy[i, 1]), 5)],
               customdata=[[i, float(f"{p.values[i]:.4g}")]])
    if full:
        st = line_style(p.color, p.repeat)
        line.update(mode="lines", line=dict(color=st["color"], dash=st["dash"], width=2.5))
        dot.update(mode="markers", marker=dict(color=st["color"], symbol=st["symbol"], size=11,
                                               line=dict(color="white", width=1.5)),
                   hovertemplate=f"{p.name}<br>step %{{customdata[0]}}<br>"
                                 "(%{x:.3f}, %{y:.3f})<br>f = %{customdata[1]:.4g}<extra></extra>")
    return [line, dot]


def _hex(color: str) -> np.ndarray:
    return np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)], np.float64)


def contour_levels(zc: np.ndarray, n: int = N_LEVELS) -> dict:
    """The contour's bands: start, end and size, shared by the contour and its picture."""
    lo, hi = float(np.nanmin(zc)), float(np.nanmax(zc))
    raw = (hi - lo) / n if hi > lo else 1.0
    power = 10 ** math.floor(math.log10(raw))
    size = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)        # a round step
    start = math.ceil(lo / size) * size
    return {"start": start, "end": max(start, math.floor(hi / size) * size), "size": size}


def contour_picture(zc: np.ndarray, upsample: int = 4) -> np.ndarray:
    """The filled contour as an (H, W, 3) uint8 picture, top row = highest y: `zc` (rows = y
    ascending) upsampled bilinearly, cut into the contour's bands, each band coloured by its
    place between the lowest and highest value on SURFACE_SCALE, with a faint line where two
    bands meet."""
    z = np.asarray(zc, np.float64)
    rows, cols = z.shape
    yi, xi = np.linspace(0, rows - 1, (rows - 1) * upsample + 1), np.linspace(0, cols - 1, (cols - 1) * upsample + 1)
    y0, x0 = np.minimum(yi.astype(int), rows - 2), np.minimum(xi.astype(int), cols - 2)
    fy, fx = (yi - y0)[:, None], (xi - x0)[None, :]
    z = ((1 - fy) * ((1 - fx) * z[y0][:, x0] + fx * z[y0][:, x0 + 1])
         + fy * ((1 - fx) * z[y0 + 1][:, x0] + fx * z[y0 + 1][:, x0 + 1]))
    lv, zmin, zmax = contour_levels(zc), float(np.nanmin(zc)), float(np.nanmax(zc))
    band = np.floor((z - lv["start"]) / lv["size"])                  # -1 below the first level, 0, 1, ...
    middle = np.clip(lv["start"] + (band + 0.5) * lv["size"], zmin, zmax)
    share = (middle - zmin) / (zmax - zmin) if zmax > zmin else np.zeros_like(middle)
    lo, hi = _hex(SURFACE_SCALE[0][1]), _hex(SURFACE_SCALE[-1][1])
    rgb = lo + share[..., None] * (hi - lo)
    edge = np.zeros(band.shape, bool)
    edge[:, :-1] |= band[:, :-1] != band[:, 1:]
    edge[:-1, :] |= band[:-1, :] != band[1:, :]
    rgb[edge] = 0.5 * rgb[edge] + 0.5 * _hex(SURFACE_LINE)
    return np.flipud(np.round(rgb)).astype(np.uint8)


def surface_figure(xs: np.ndarray, ys: np.ndarray, zc: np.ndarray, paths: Sequence[PathData], *,
                   title: str, axis_names: tuple[str, str] = ("x", "y"), color_title: str = "f",
                   minima: Sequence[tuple[float, float]] = (), start: tuple[float, float] | None = None,
                   saddles: Sequence[tuple[float, float]] = (),
                   height: int = 600) -> go.Figure:
    """Contour of the surface with each optimizer's path from the start, animated step by step
    (Play / slider); the figure opens on the last step. `zc` is what the colours show.
    `minima` get a star and `saddles` a cross, drawn over the paths so a path ending on one
    does not hide it.

    The same contour is also a picture under the plot (layout image): while plotly.js plays
    frames it redraws only the scatter traces and drops the contour until the animation ends;
    the picture keeps the surface in view."""
    fig = go.Figure()
    fig.add_trace(go.Contour(x=xs, y=ys, z=np.asarray(zc, np.float32), colorscale=SURFACE_SCALE,
                             autocontour=False, contours=dict(coloring="fill", showlines=True, **contour_levels(zc)),
                             line=dict(width=0.5, color=SURFACE_LINE),
                             colorbar=dict(title=dict(text=color_title, side="right"), thickness=12, x=0.76,
                                           xanchor="left", len=1.0),
                             name="surface", showlegend=False,
                             hovertemplate=f"{axis_names[0]} %{{x:.2f}}, {axis_names[1]} %{{y:.2f}}<br>"
                                           f"{color_title} %{{z:.3g}}<extra></extra>"))
    if start is not None:
        fig.add_trace(go.Scatter(x=[start[0]], y=[start[1]], mode="markers", name="start",
                                 marker=dict(symbol="circle-open", size=14, color="black", line=dict(width=2.5)),
                                 hovertemplate="start (%{x:.3f}, %{y:.3f})<extra></extra>"))
    for p in paths:                                     # faint whole path: where it is going
        st = line_style(p.color, p.repeat)
        fig.add_trace(go.Scatter(x=p.xy[:, 0], y=p.xy[:, 1], mode="lines", legendgroup=p.name,
                                 showlegend=False, opacity=0.3, hoverinfo="skip",
                                 line=dict(color=st["color"], dash=st["dash"], width=1.5)))
    n_steps = max((len(p.xy) - 1 for p in paths), default=0)
    first_moving = len(fig.data)
    for p in paths:
        line, dot = _moving(p, n_steps, full=True)
        fig.add_trace(go.Scatter(line, name=p.name, legendgroup=p.name, showlegend=True, hoverinfo="skip"))
        fig.add_trace(go.Scatter(dot, name=p.name, legendgroup=p.name, showlegend=False))
    moving = list(range(first_moving, len(fig.data)))
    if minima:
        fig.add_trace(go.Scatter(x=[m[0] for m in minima], y=[m[1] for m in minima], mode="markers",
                                 name="minimum" if len(minima) == 1 else "minima",
                                 marker=dict(symbol="star", size=16, color="gold", line=dict(color="black", width=1)),
                                 hovertemplate="minimum (%{x:.3f}, %{y:.3f})<extra></extra>"))
    if saddles:
        fig.add_trace(go.Scatter(x=[m[0] for m in saddles], y=[m[1] for m in saddles], mode="markers",
                                 name="saddle point (not a minimum)",
                                 marker=dict(symbol="x-thin-open", size=16, color="black", line=dict(width=3)),
                                 hovertemplate="saddle point (%{x:.3f}, %{y:.3f}): the slope is 0, but it is "
                                               "a minimum along one direction and a maximum along the other"
                                               "<extra></extra>"))
    steps = _frame_steps(n_steps) if n_steps else [0]
    status = dict(x=0.84, y=1.0, xref="paper", yref="paper", xanchor="left", yanchor="top",
                  align="left", showarrow=False, bgcolor="rgba(255,255,255,0.9)",
                  bordercolor="#888", borderwidth=1, font=dict(size=12))
    frames = [dict(data=[t for p in paths for t in _moving(p, s)], traces=moving, name=str(s),
                   layout=dict(annotations=[dict(status, text=_status_text(paths, s))]))
              for s in steps]
    fig = go.Figure(data=fig.data, layout=fig.layout, frames=frames, _validate=False)  # many: skip validation
    base_layout(fig, title, axis_names[0], axis_names[1], height)
    anim = {"frame": {"duration": 60, "redraw": True}, "transition": {"duration": 0}, "mode": "immediate"}
    fig.update_layout(
        hovermode="closest",
        images=[dict(source=png_data_uri(contour_picture(zc)), xref="x", yref="y", x=float(xs[0]), y=float(ys[-1]),
                     sizex=float(xs[-1] - xs[0]), sizey=float(ys[-1] - ys[0]), xanchor="left", yanchor="top",
                     sizing="stretch", layer="below")],
        annotations=[dict(status, text=_status_text(paths, n_steps))] if paths else [],
        xaxis=dict(range=[float(xs[0]), float(xs[-1])], domain=[0, 0.74], showgrid=False, zeroline=False),
        yaxis=dict(range=[float(ys[0]), float(ys[-1])], showgrid=False, zeroline=False),   # under the surface anyway
        # under the Play controls: a legend above the plot wraps into the title once its row is full
        legend=dict(orientation="h", yanchor="top", y=-0.3, xanchor="left", x=0),
        margin=dict(t=50, b=10),
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.16, xanchor="left", yanchor="top",
                          showactive=False, pad=dict(t=0, r=8),
                          buttons=[dict(label="▶ Play", method="animate",
                                        args=[[str(s) for s in steps], {**anim, "fromcurrent": False}]),
                                   dict(label="❚❚ Pause", method="animate",
                                        args=[[None], {**anim, "frame": {"duration": 0, "redraw": False}}])])],
        sliders=[dict(active=len(steps) - 1, x=0.16, y=-0.12, len=0.58, xanchor="left", yanchor="top",
                      currentvalue=dict(prefix="step ", font=dict(size=13, color="#333"), xanchor="right"), pad=dict(t=0),
                      font=dict(color="rgba(0,0,0,0)"), ticklen=3,
                      steps=[dict(label=str(s), method="animate",
                                  args=[[str(s)], {**anim, "frame": {"duration": 0, "redraw": True}}])
                             for s in steps])])
    fig.update_layout(margin=dict(b=170))
    return fig


def surface_3d_figure(xs: np.ndarray, ys: np.ndarray, zc: np.ndarray, paths: Sequence[PathData],
                      path_zc: Sequence[np.ndarray], *, title: str, axis_names: tuple[str, str],
                      color_title: str, height: int = 560) -> go.Figure:
    """The surface in 3-D with the paths drawn on it (drag to rotate). `path_zc` is each
    path's height in the same units as `zc`."""
    fig = go.Figure(go.Surface(x=xs, y=ys, z=zc, colorscale=SURFACE_SCALE, opacity=0.8, showscale=False,
                               name="surface", hovertemplate="%{x:.2f}, %{y:.2f}: %{z:.3g}<extra></extra>"))
    lift = 0.02 * float(np.nanmax(zc) - np.nanmin(zc))
    for p, zp in zip(paths, path_zc):
        st = line_style(p.color, p.repeat)
        fig.add_trace(go.Scatter3d(x=p.xy[:, 0], y=p.xy[:, 1], z=np.asarray(zp) + lift, mode="lines",
                                   name=p.name, line=dict(color=st["color"], width=6, dash=st["dash"]),
                                   hovertemplate=f"{p.name}<br>%{{x:.3f}}, %{{y:.3f}}<extra></extra>"))
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), height=height, template="plotly_white",
                      margin=dict(l=0, r=0, t=50, b=0),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0),
                      scene=dict(xaxis_title=axis_names[0], yaxis_title=axis_names[1], zaxis_title=color_title,
                                 camera=dict(eye=dict(x=0.4, y=-1.3, z=2.0))))
    return fig


def path_gap_figure(paths: Sequence[PathData], f_min: float, height: int = 300) -> go.Figure:
    """f - f_min against step for every path, log y: a straight line down is linear convergence."""
    fig = go.Figure()
    for p in paths:
        st = line_style(p.color, p.repeat)
        gap = np.maximum(np.asarray(p.values, float) - f_min, 1e-12)
        fig.add_trace(go.Scatter(x=np.arange(len(gap)), y=gap, mode="lines", name=p.name,
                                 line=dict(color=st["color"], dash=st["dash"], width=2),
                                 hovertemplate=f"{p.name}<br>step %{{x}}: %{{y:.3g}}<extra></extra>"))
    base_layout(fig, "Distance to the best value, step by step", "step",
                "f − f(minimum)  (log scale)", height)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_layout(hovermode="x unified")
    return fig


# ---------------------------------------------------------------- learning-rate finder
def lr_finder_figure(result: dict, height: int = 380) -> go.Figure:
    """Batch loss (faint) and smoothed loss against learning rate, log x, with the suggested
    range shaded and the suggestion marked."""
    lrs, raw, sm = result["lrs"], result["losses"], result["smoothed"]
    fig = go.Figure()
    fig.add_vrect(x0=result["low"], x1=result["high"], fillcolor="#2ca02c", opacity=0.15, line_width=0,
                  layer="below")
    fig.add_trace(go.Scatter(x=lrs, y=raw, mode="lines", name="batch loss", line=dict(color="#b0b7bf", width=1),
                             hovertemplate="lr %{x:.3g}: %{y:.4g}<extra>batch loss</extra>"))
    fig.add_trace(go.Scatter(x=lrs, y=sm, mode="lines", name="smoothed loss", line=dict(color="#1f77b4", width=2.5),
                             hovertemplate="lr %{x:.3g}: %{y:.4g}<extra>smoothed</extra>"))
    fig.add_trace(go.Scatter(x=[result["low"], result["high"]], y=[None, None], mode="lines",
                             name="suggested range (loss falls fastest)",
                             line=dict(color="#2ca02c", width=10), opacity=0.35, hoverinfo="skip"))
    i = int(np.argmin(np.abs(np.log(np.asarray(lrs)) - math.log(result["suggested"]))))
    fig.add_trace(go.Scatter(x=[result["suggested"]], y=[sm[i]], mode="markers",
                             name=f"suggested lr {result['suggested']:.2g}",
                             marker=dict(symbol="diamond", size=13, color="#2ca02c", line=dict(color="black", width=1)),
                             hovertemplate="suggested lr %{x:.3g}<extra></extra>"))
    j = int(np.argmin(sm))
    fig.add_trace(go.Scatter(x=[lrs[j]], y=[sm[j]], mode="markers",
                             name=f"lowest loss (lr {lrs[j]:.2g}: too high to keep)",
                             marker=dict(symbol="triangle-down", size=12, color="#d62728"),
                             hovertemplate="lowest smoothed loss at lr %{x:.3g}<extra></extra>"))
    base_layout(fig, "Learning-rate range test: loss as the learning rate grows",
                "learning rate (log scale)", "training loss (batch)", height)
    fig.update_xaxes(type="log", range=[math.log10(result["lr_min"]), math.log10(result["lr_max"])],
                     exponentformat="power")
    hi = max(sm) if sm else 1.0
    fig.update_yaxes(range=[0, min(max(raw), 1.25 * hi)])
    fig.update_layout(hovermode="x unified", margin=dict(t=80),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, xanchor="left", x=0))
    return fig
