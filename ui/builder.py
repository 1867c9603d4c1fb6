"""Network-builder widgets, generated from the layer registry's Params.

The stack operations (insert, move, duplicate, delete) are pure functions on tuples, so
the same call edits the layer specs and the parallel list of widget ids. The widgets read
their start values from the spec (seeded into session_state once per key) and report
changes through callbacks; a new layer kind in engine.layers appears here without changes.
"""
from __future__ import annotations

from typing import Any, Callable, Sequence, TypeVar

import streamlit as st

from engine.build import LayerInfo
from engine.layers import LAYERS, LayerKind, Param
from engine.spec import LayerSpec

T = TypeVar("T")

GROUP_LABELS = {"dense": "Dense", "conv": "Convolution", "pool": "Pooling", "activation": "Activation",
                "shape": "Shape", "regularisation": "Regularisation", "sequence": "Sequence",
                "attention": "Attention"}
SEQUENCE_GROUPS = ("sequence", "attention")      # need (steps, features) or token data: not the Playground's


# ---------------------------------------------------------------- pure stack operations
def insert(seq: Sequence[T], pos: int, item: T) -> tuple[T, ...]:
    """`item` placed at index `pos` (clamped to the ends)."""
    pos = max(0, min(pos, len(seq)))
    return (*seq[:pos], item, *seq[pos:])


def move(seq: Sequence[T], i: int, delta: int) -> tuple[T, ...]:
    """Item i swapped with its neighbour i+delta; unchanged at the ends."""
    j = i + delta
    if not (0 <= i < len(seq) and 0 <= j < len(seq)):
        return tuple(seq)
    out = list(seq)
    out[i], out[j] = out[j], out[i]
    return tuple(out)


def duplicate(seq: Sequence[T], i: int, copy: T | None = None) -> tuple[T, ...]:
    """Item i repeated right after itself (or `copy` put there, e.g. a fresh id)."""
    return insert(seq, i + 1, seq[i] if copy is None else copy)


def delete(seq: Sequence[T], i: int) -> tuple[T, ...]:
    return tuple(x for j, x in enumerate(seq) if j != i)


def kind_options(exclude: Sequence[str] = ()) -> list[str]:
    """Layer kinds ordered by group, for the 'add layer' menu; kinds of the `exclude` groups left out."""
    order = list(GROUP_LABELS)
    kinds = [k for k in LAYERS if LAYERS[k].group not in exclude]
    return sorted(kinds, key=lambda k: (order.index(LAYERS[k].group) if LAYERS[k].group in order else 99,
                                        list(LAYERS).index(k)))


def kind_label(name: str) -> str:
    k = LAYERS[name]
    return f"{k.label}  ·  {GROUP_LABELS.get(k.group, k.group)}"


def shape_text(shape: tuple[int, ...] | None) -> str:
    if shape is None:
        return "—"
    return " × ".join(map(str, shape))


# ---------------------------------------------------------------- widgets
def seed(key: str, value: Any, widget: Callable | None = None, options: Any = None) -> dict:
    """Start a widget at `value` the first time its key is seen (later: the user's value).
    Returns the widget's own default argument set to `value` too, to pass to the widget: the
    browser starts a widget it draws late (a control in a tab that mounts after a rerun) from
    that default, and sends it back as a change; with Streamlit's defaults a click on Train
    once turned 1,000 epochs into 1 and every layer into 1 unit without bias. (Session state
    still wins; .streamlit/config.toml silences Streamlit's note that both are set.)"""
    if key not in st.session_state:
        st.session_state[key] = value
    if widget in (st.selectbox, st.radio):
        options = list(options)
        return {"index": options.index(value) if value in options else 0}
    if widget is st.multiselect:
        return {"default": list(value)}
    return {"value": value} if widget is not None else {}


def clicked(key: str) -> bool:
    """True in a button's on_click when the button was really clicked. Streamlit also calls
    the callback of a button that a browser message reports again after the button left the
    page (a message that crossed a rerun), with the button's value False."""
    return st.session_state.get(key) is True


REFUSED = "refused"      # session key: a number box's key -> the sentence saying what it refused


def number_box(label: str, lo: float, hi: float, key: str, value: float, *, on_change: Callable | None = None,
               args: tuple = (), **kw: Any) -> float:
    """A number box that takes whatever is typed and, when it is outside lo..hi, keeps the
    value it had and says under it what was refused. (With min_value/max_value the browser
    turns such a number red and drops it without a word; the range was only in the tooltip.)
    on_change(*args) is called for numbers in range only."""
    start = seed(key, value, st.number_input)
    kept = st.session_state[key]
    st.number_input(label, key=key, on_change=_in_range, args=(key, label, lo, hi, kept, on_change, args),
                    **start, **kw)
    if message := st.session_state[REFUSED].get(key):
        st.error(message, icon=":material/block:")
    return st.session_state[key]


def _number_text(v: float) -> str:
    return f"{v:,}" if isinstance(v, int) else f"{v:g}"


def _in_range(key: str, label: str, lo: float, hi: float, kept: float, on_change: Callable | None,
              args: tuple) -> None:
    value = st.session_state[key]
    if value is None or not lo <= value <= hi:
        typed = "An empty box" if value is None else _number_text(value)
        st.session_state[REFUSED][key] = (f"{typed} is out of range ({_number_text(lo)} to {_number_text(hi)}): "
                                          f"{label.lower()} stays {_number_text(kept)}.")
        st.session_state[key] = kept                  # the box shows the value still in use
        return
    st.session_state[REFUSED].pop(key, None)
    if on_change is not None:
        on_change(*args)


def param_widget(p: Param, value: Any, key: str, disabled: bool = False,
                 on_change: Callable | None = None, args: tuple = ()) -> Any:
    """One widget fitting the parameter's type and range; returns its value."""
    label = p.name.replace("_", " ")
    kw = dict(key=key, help=p.help, disabled=disabled, on_change=on_change, args=args)
    start = lambda widget: seed(key, value, widget, p.choices)     # session state + the widget's default
    if p.type is bool:
        return st.checkbox(label, **kw, **start(st.checkbox))
    if p.choices:
        return st.selectbox(label, p.choices, **kw, **start(st.selectbox))
    if p.type is int:
        return int(number_box(label, int(p.lo), int(p.hi), key, int(value), on_change=on_change, args=args,
                              step=1, help=p.help, disabled=disabled))
    if p.type is float:
        step = 0.05 if (p.hi or 1) <= 1 else 0.1
        return float(number_box(label, float(p.lo), float(p.hi), key, float(value), on_change=on_change,
                                args=args, step=step, format="%g", help=p.help, disabled=disabled))
    return st.text_input(label, **kw, **start(st.text_input))


def layer_card(i: int, n: int, layer: LayerSpec, info: LayerInfo | None, key: str,
               on_action: Callable[[str, int], None], on_param: Callable[[int, str, str], None],
               disabled: bool = False) -> None:
    """One layer as a bordered card: title with output shape, its parameter widgets, the
    move / duplicate / delete buttons and, when the layer does not fit, the engine's message.
    Buttons call on_action(action, i, button key); a parameter change calls on_param(i, name, widget key)."""
    kind: LayerKind = LAYERS[layer.kind]
    with st.container(border=True, key=f"{key}_card"):
        head, up, down, dup, rm = st.columns([8, 1, 1, 1, 1], vertical_alignment="center", gap="small")
        out = shape_text(info.out_shape) if info else "—"
        n_par = f" · {info.n_params:,} params" if info and info.n_params else ""
        mark = ":material/error: " if info is not None and info.error else ""
        head.markdown(f"{mark}**{i + 1}. {kind.label}** &nbsp; → `{out}`{n_par}", help=kind.help)
        up.button(":material/arrow_upward:", key=f"{key}_up", help="Move this layer one place earlier.",
                  on_click=on_action, args=("up", i, f"{key}_up"), disabled=disabled or i == 0, type="tertiary")
        down.button(":material/arrow_downward:", key=f"{key}_down", help="Move this layer one place later.",
                    on_click=on_action, args=("down", i, f"{key}_down"), disabled=disabled or i == n - 1, type="tertiary")
        dup.button(":material/content_copy:", key=f"{key}_dup", help="Duplicate this layer (the copy goes right after it).",
                   on_click=on_action, args=("duplicate", i, f"{key}_dup"), disabled=disabled, type="tertiary")
        rm.button(":material/delete:", key=f"{key}_del", help="Delete this layer.",
                  on_click=on_action, args=("delete", i, f"{key}_del"), disabled=disabled or n == 1, type="tertiary")
        if kind.params:
            cols = st.columns(min(3, len(kind.params)))
            for j, p in enumerate(kind.params):
                with cols[j % len(cols)]:
                    k = f"{key}_{p.name}"
                    param_widget(p, layer.params.get(p.name, p.default), k, disabled, on_param, (i, p.name, k))
        if info is not None and info.error:
            st.error(info.error, icon=":material/error:")
