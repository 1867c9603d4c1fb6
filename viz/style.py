"""One colour language for every page (TensorFlow Playground's orange/blue pair)."""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

# The default template is applied once, lazily; `template="plotly_white"` on each figure costs ~100 ms.
pio.templates.default = "plotly_white"

BLUE = "#0877bd"          # class 0, negative values
ORANGE = "#f59322"        # class 1, positive values
GREY = "#e8eaeb"
# diverging scale for decision boundaries, weights, kernels: blue (-) -> white -> orange (+)
DIVERGING = [[0.0, BLUE], [0.5, "#ffffff"], [1.0, ORANGE]]
SEQUENTIAL = "Viridis"
# qualitative palette for runs and optimizers; the same optimizer keeps its colour everywhere
QUALITATIVE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
OPTIMIZER_COLORS = {"sgd": "#1f77b4", "adagrad": "#2ca02c", "adadelta": "#8c564b",
                    "rmsprop": "#9467bd", "adam": "#d62728", "adamw": "#e377c2"}
CLASS_COLORS = [BLUE, ORANGE, "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                "#17becf", "#d62728"]
TRAIN_COLOR, TEST_COLOR = "#1f77b4", "#ff7f0e"


def base_layout(fig: go.Figure, title: str, x: str, y: str, height: int = 320) -> go.Figure:
    """Title, axis titles, compact margins and a horizontal legend: every chart starts here."""
    fig.update_layout(title=dict(text=title, x=0, xanchor="left"), height=height,
                      margin=dict(l=10, r=10, t=50, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1),
                      hovermode="x unified")
    fig.update_xaxes(title_text=x)
    fig.update_yaxes(title_text=y)
    return fig
