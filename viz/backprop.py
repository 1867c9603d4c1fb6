"""Backprop walk-through figures and tables: pure functions (numbers in, go.Figure / rows out).

Network diagrams: nodes show their forward values and their gradient, edges show the
weight and dl/dweight; an edge is orange for a positive weight, blue for a negative one,
and thicker the larger |weight|.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from engine.teach.backprop import LOSSES, NeuronStep, XorPass

from .style import BLUE, DIVERGING, ORANGE, base_layout

NODE_COLOR = "#f4f4f4"
LOSS_COLOR = "#fde2e2"


@dataclass(frozen=True)
class Node:
    name: str
    x: float
    y: float
    text: str                 # HTML lines shown next to the node
    color: str = NODE_COLOR
    text_at: str = "above"    # above | below | left | right


@dataclass(frozen=True)
class Edge:
    src: str
    dst: str
    weight: float             # colour and width
    text: str                 # label (HTML)
    at: float = 0.5           # where along the edge the label sits, 0 = src, 1 = dst


def graph_figure(nodes: list[Node], edges: list[Edge], title: str, height: int = 430) -> go.Figure:
    """A small computation graph with labelled nodes and edges."""
    pos = {n.name: (n.x, n.y) for n in nodes}
    fig = go.Figure()
    wmax = max([abs(e.weight) for e in edges] + [1e-9])
    shown: set[str] = set()
    for e in edges:
        (x0, y0), (x1, y1) = pos[e.src], pos[e.dst]
        sign = "positive weight" if e.weight >= 0 else "negative weight"
        fig.add_trace(go.Scatter(x=[x0, x1], y=[y0, y1], mode="lines", name=sign, legendgroup=sign,
                                 showlegend=sign not in shown, hoverinfo="skip",
                                 line=dict(color=ORANGE if e.weight >= 0 else BLUE,
                                           width=1.5 + 5 * abs(e.weight) / wmax)))
        shown.add(sign)
        if not e.text:
            continue
        fig.add_annotation(x=x0 + e.at * (x1 - x0), y=y0 + e.at * (y1 - y0), text=e.text, showarrow=False,
                           font=dict(size=13), bgcolor="rgba(255,255,255,0.92)", bordercolor="#bbb",
                           borderwidth=1, borderpad=2)
    fig.add_trace(go.Scatter(x=[n.x for n in nodes], y=[n.y for n in nodes], mode="markers+text",
                             text=[f"<b>{n.name}</b>" for n in nodes], textposition="middle center",
                             textfont=dict(size=15), name="node (value, gradient)", hoverinfo="skip",
                             marker=dict(size=50, color=[n.color for n in nodes], line=dict(color="#333", width=2))))
    for n in nodes:
        dy = {"above": 0.2, "below": -0.2}.get(n.text_at, 0.0)
        dx = {"right": 0.2, "left": -0.2}.get(n.text_at, 0.0)
        fig.add_annotation(x=n.x + dx, y=n.y + dy, text=n.text, showarrow=False, font=dict(size=13),
                           xanchor={"right": "left", "left": "right"}.get(n.text_at, "center"),
                           yanchor={"above": "bottom", "below": "top"}.get(n.text_at, "middle"),
                           align="left", bgcolor="rgba(255,250,235,0.95)", bordercolor="#d9c89e", borderpad=3)
    ys = [n.y for n in nodes]
    xs = [n.x for n in nodes]
    base_layout(fig, title, "", "", height=height)
    left = 1.1 if any(n.text_at == "left" for n in nodes) else 0.25
    fig.update_xaxes(visible=False, range=[min(xs) - left, max(xs) + 0.75])
    fig.update_yaxes(visible=False, range=[min(ys) - 0.6, max(ys) + 0.6])
    fig.update_layout(hovermode=False, legend=dict(y=-0.02, yanchor="top", x=0, xanchor="left"),
                      margin=dict(l=10, r=10, t=40, b=10), plot_bgcolor="white", dragmode=False)
    return fig


def _f(v: float, d: int = 4) -> str:
    return f"{float(v) + 0.0:.{d}f}".replace("-", "−")        # + 0.0: no "−0" for a negative zero


def _g(v: float) -> str:
    """A gradient: 4 decimals, or 2 significant digits when it is tiny (never a bare −0.0000)."""
    if v == 0:
        return "0"
    return _f(v) if abs(v) >= 1e-3 else f"{v:.1e}".replace("-", "−")


def _p(v: float, d: int = 4) -> str:
    """Negative numbers in brackets, for products written out."""
    return f"({_f(v, d)})" if v < 0 else _f(v, d)


# ---------------------------------------------------------------- one neuron
def neuron_figure(s: NeuronStep) -> go.Figure:
    g = s.grads
    nodes = [
        Node("x1", 0, 1, f"x1 = {_f(s.x1, 2)}", text_at="left"),
        Node("x2", 0, 0, f"x2 = {_f(s.x2, 2)}", text_at="left"),
        Node("1", 0, -1, "constant 1<br>(carries the bias)", text_at="left"),
        Node("y", 2, 0, f"y = {_f(s.y)}<br>∂L/∂y = 2(y − t) = {_g(s.dL_dy)}"),
        Node("L", 3.3, 0, f"L = (y − t)² = {_f(s.loss)}<br>target t = {_f(s.t, 2)}", color=LOSS_COLOR),
    ]
    edges = [
        Edge("x1", "y", s.w1, f"w1 = {_f(s.w1, 3)}<br>∂L/∂w1 = {_g(g['w1'])}"),
        Edge("x2", "y", s.w2, f"w2 = {_f(s.w2, 3)}<br>∂L/∂w2 = {_g(g['w2'])}"),
        Edge("1", "y", s.b, f"b = {_f(s.b, 3)}<br>∂L/∂b = {_g(g['b'])}"),
        Edge("y", "L", 1.0, ""),
    ]
    return graph_figure(nodes, edges, "One neuron: forward values and gradients", height=400)


def neuron_rows(s: NeuronStep) -> list[dict]:
    """The chain rule per parameter: dL/dp = dL/dy · dy/dp, then p − lr · dL/dp."""
    rows = []
    for p, dy_dp, name in (("w1", s.dy_dw1, "x1"), ("w2", s.dy_dw2, "x2"), ("b", s.dy_db, "1")):
        g = s.grads[p]
        rows.append({
            "parameter p": p,
            "∂L/∂p = ∂L/∂y · ∂y/∂p": f"2(y − t) · {name}",
            "with the numbers": f"{_f(s.dL_dy)} × {_p(dy_dp, 3)} = {_f(g)}",
            "update: p − lr · ∂L/∂p": f"{_f(getattr(s, p))} − {s.lr:g} × {_p(g)} = {_f(s.updated[p])}",
        })
    return rows


# ---------------------------------------------------------------- XOR network
def xor_figure(p: XorPass, n: int) -> go.Figure:
    """The 2-2-1 network on example n: node values and deltas, edge weights and dl/dw."""
    net, x, h, o = p.net, p.x[n], p.h[n], p.o[n]
    nodes = [
        Node("x1", 0, 1, f"x1 = {_f(x[0], 0)}"),
        Node("x2", 0, 0, f"x2 = {_f(x[1], 0)}", text_at="below"),
    ]
    for j, (yy, where) in enumerate(((1, "above"), (0, "below"))):
        nodes.append(Node(f"h{j + 1}", 1.15, yy,
                          f"z = {_f(p.z_h[n, j])} (bias b{j + 1} = {_f(net.b[j], 3)})<br>"
                          f"h = σ(z) = {_f(h[j])}<br>δ = ∂l/∂z = {_g(p.delta_h[n, j])}", text_at=where))
    nodes.append(Node("o", 2.3, 0.5, f"z = {_f(p.z_o[n])} (bias c = {_f(net.c, 3)})<br>o = σ(z) = {_f(o)}<br>"
                                    f"δ = ∂l/∂z = {_g(p.delta_o[n])}"))
    loss_text = "(o − t)²" if p.loss_kind == "mse" else "−[t ln o + (1−t) ln(1−o)]"
    nodes.append(Node("loss", 3.2, 0.5, f"target t = {_f(p.t[n], 0)}<br>l = {loss_text}<br>= {_f(p.losses[n])}",
                      color=LOSS_COLOR, text_at="below"))
    edges = []
    for j in range(2):
        for i in range(2):
            straight = i == j
            edges.append(Edge(f"x{i + 1}", f"h{j + 1}", net.W[j, i],
                              f"w{j + 1}{i + 1} = {_f(net.W[j, i], 3)}<br>∂l/∂w{j + 1}{i + 1} = {_g(p.g_W[n, j, i])}",
                              at=0.5 if straight else 0.27))
        edges.append(Edge(f"h{j + 1}", "o", net.v[j],
                          f"v{j + 1} = {_f(net.v[j], 3)}<br>∂l/∂v{j + 1} = {_g(p.g_v[n, j])}"))
    edges.append(Edge("o", "loss", 1.0, ""))
    title = f"Forward and backward for input ({x[0]:.0f}, {x[1]:.0f}), target {p.t[n]:.0f}"
    return graph_figure(nodes, edges, title, height=470)


def xor_chain_rows(p: XorPass, n: int) -> list[dict]:
    """Backward through example n, node by node, each line a chain-rule product."""
    o, t, v = p.o[n], p.t[n], p.net.v
    if p.loss_kind == "mse":
        first = ("∂l/∂o", "2(o − t)", f"2 × ({_f(o)} − {_f(t, 0)})")
    else:
        first = ("∂l/∂o", "(o − t) / (o(1 − o))", f"({_f(o)} − {_f(t, 0)}) / ({_f(o)} × {_f(1 - o)})")
    rows = [first + (p.dl_do[n],),
            ("∂o/∂z_o", "o(1 − o)  (sigmoid′)", f"{_f(o)} × {_f(1 - o)}", p.do_dz[n]),
            ("δ_o = ∂l/∂z_o", "∂l/∂o · ∂o/∂z_o", f"{_f(p.dl_do[n])} × {_p(p.do_dz[n])}", p.delta_o[n])]
    for j in range(2):
        rows.append((f"∂l/∂v{j + 1}", f"δ_o · h{j + 1}", f"{_f(p.delta_o[n])} × {_p(p.h[n, j])}", p.g_v[n, j]))
    rows.append(("∂l/∂c", "δ_o · 1", f"{_f(p.delta_o[n])}", p.g_c[n]))
    for j in range(2):
        rows.append((f"∂l/∂h{j + 1}", f"δ_o · v{j + 1}", f"{_f(p.delta_o[n])} × {_p(v[j])}", p.dl_dh[n, j]))
        rows.append((f"δ_h{j + 1} = ∂l/∂z_h{j + 1}", f"∂l/∂h{j + 1} · h{j + 1}(1 − h{j + 1})",
                     f"{_f(p.dl_dh[n, j])} × {_p(p.dh_dz[n, j])}", p.delta_h[n, j]))
        for i in range(2):
            rows.append((f"∂l/∂w{j + 1}{i + 1}", f"δ_h{j + 1} · x{i + 1}",
                         f"{_f(p.delta_h[n, j])} × {_f(p.x[n, i], 0)}", p.g_W[n, j, i]))
        rows.append((f"∂l/∂b{j + 1}", f"δ_h{j + 1} · 1", f"{_f(p.delta_h[n, j])}", p.g_b[n, j]))
    return [{"quantity": q, "chain rule": r, "with the numbers": nums, "value": round(float(val), 6)}
            for q, r, nums, val in rows]


def xor_update_rows(p: XorPass, lr: float) -> list[dict]:
    """Per parameter: each example's gradient, their mean (the batch gradient) and the update."""
    names = ["w11", "w12", "w21", "w22", "b1", "b2", "v1", "v2", "c"]
    per_example = np.concatenate([p.g_W.reshape(4, 4), p.g_b, p.g_v, p.g_c[:, None]], axis=1)   # (4, 9)
    old = p.net.flat()
    new = p.updated(lr).flat()
    rows = []
    for k, name in enumerate(names):
        row = {"parameter": name, "value": round(old[k], 4)}
        for n in range(4):
            row[f"({p.x[n, 0]:.0f},{p.x[n, 1]:.0f})"] = round(float(per_example[n, k]), 5)
        row["mean ∂L/∂p"] = round(float(per_example[:, k].mean()), 5)
        row["new value"] = round(new[k], 4)
        rows.append(row)
    return rows


def loss_figure(history: list[float], loss_kind: str, max_points: int = 2000) -> go.Figure:
    """The batch loss against the step; long histories are thinned to at most ~max_points."""
    every = max(1, -(-len(history) // max_points))
    steps = list(range(0, len(history), every))
    if steps and steps[-1] != len(history) - 1:
        steps.append(len(history) - 1)                # always show the latest loss
    fig = go.Figure(go.Scatter(x=steps, y=[history[i] for i in steps],
                               mode="lines" if len(history) > 30 else "lines+markers",
                               name=f"batch loss ({LOSSES[loss_kind].split(' ')[0]})",
                               line=dict(color=ORANGE, width=2.5),
                               hovertemplate="step %{x}<br>loss %{y:.5f}<extra></extra>"))
    base_layout(fig, "Loss over training steps", "training step", "loss L (mean of the 4 examples)", height=360)
    fig.update_layout(showlegend=True, hovermode="closest")
    fig.update_xaxes(range=[-0.02 * max(10, len(history)), max(10, len(history) - 1)])
    fig.update_yaxes(rangemode="tozero")
    return fig


def boundary_figure(axis: np.ndarray, out: np.ndarray, x: np.ndarray, t: np.ndarray) -> go.Figure:
    """The network's output o over the plane (orange ~ 1, blue ~ 0), the o = 0.5 line and the 4 points."""
    fig = go.Figure()
    fig.add_trace(go.Heatmap(x=axis, y=axis, z=out, colorscale=DIVERGING, zmin=0, zmax=1, name="output o",
                             colorbar=dict(title=dict(text="output o", side="right"), thickness=12),
                             hovertemplate="x1 %{x:.2f}, x2 %{y:.2f}<br>o = %{z:.3f}<extra></extra>"))
    fig.add_trace(go.Contour(x=axis, y=axis, z=out, contours=dict(start=0.5, end=0.5, coloring="lines"),
                             colorscale=[[0, "#222"], [1, "#222"]], line=dict(width=2.5, dash="dash"),
                             showscale=False, name="o = 0.5 boundary",
                             showlegend=True, hoverinfo="skip"))
    for cls, color in ((0, BLUE), (1, ORANGE)):
        m = t == cls
        fig.add_trace(go.Scatter(x=x[m, 0], y=x[m, 1], mode="markers+text", name=f"XOR = {cls}",
                                 text=[str(cls)] * int(m.sum()), textfont=dict(color="white", size=13),
                                 marker=dict(size=24, color=color, line=dict(color="white", width=3)),
                                 hovertemplate=f"({'%{x:.0f}'}, {'%{y:.0f}'}) → {cls}<extra></extra>"))
    base_layout(fig, "Decision boundary: where the network says 1", "input x1", "input x2", height=360)
    fig.update_yaxes(scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    fig.update_layout(hovermode="closest", legend=dict(y=-0.18, yanchor="top", x=0, xanchor="left"),
                      height=400)
    return fig
