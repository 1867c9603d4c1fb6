"""The spec a page with several networks edits (the GAN lab's generator and discriminator, the
autoencoder's encoder and decoder), each network with the Playground's layer cards and its own
optimizer.

State (the page's defaults): `<prefix>_spec` is the spec being edited and `<prefix>_error` a
failed change, said once; every widget's key starts with `<prefix><gen>_`, where
`<prefix>_gen` is bumped whenever the spec is replaced or a stack changes shape, so the widgets
are drawn afresh from the new spec (a message from the browser that crossed the change names an
old key and is ignored).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

import streamlit as st

from engine.build import LayerInfo
from engine.optim import OPTIMIZERS
from engine.spec import LayerSpec, NetworkSpec, RunSpec
from ui import builder, live

LEARNING_RATES = (1e-5, 3e-5, 1e-4, 2e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1)


def with_optim(s: RunSpec, role: str, name: str, value: Any) -> RunSpec:
    """`s` with one field of the network `role`'s optimizer set."""
    net = s.networks[role]
    return s.with_(networks={**s.networks, role: replace(net, optim=replace(net.optim, **{name: value}))})


def with_layers(s: RunSpec, role: str, layers: tuple) -> RunSpec:
    return s.with_(networks={**s.networks, role: replace(s.networks[role], layers=tuple(layers))})


class NetworksEditor:
    """The session state, keys and callbacks of one page's spec; `set_path(spec, path, value)`
    is the page's own rule for a field at a path such as ("loss",) or (role, "optim", "lr")."""

    def __init__(self, prefix: str, set_path: Callable[[RunSpec, tuple, Any], RunSpec]):
        self.prefix, self.set_path = prefix, set_path
        self.safe = live.safe_callback(self.report)            # a callback that never raises

    # ------------------------------------------------------------ state
    def report(self, message: str) -> None:
        st.session_state[f"{self.prefix}_error"] = message

    def spec(self) -> RunSpec:
        return st.session_state[f"{self.prefix}_spec"]

    def key(self, name: str) -> str:
        return f"{self.prefix}{st.session_state[f'{self.prefix}_gen']}_{name}"

    def current(self, widget_key: str) -> bool:
        return widget_key.startswith(f"{self.prefix}{st.session_state[f'{self.prefix}_gen']}_")

    def set_spec(self, s: RunSpec, redraw: bool = False) -> None:
        st.session_state[f"{self.prefix}_spec"] = s
        if redraw:
            st.session_state[f"{self.prefix}_gen"] += 1

    # ------------------------------------------------------------ callbacks (the script thread)
    def on_field(self, path: tuple, widget_key: str, redraw: bool = False) -> None:
        @self.safe
        def apply() -> None:
            if self.current(widget_key) and (value := st.session_state[widget_key]) is not None:
                self.set_spec(self.set_path(self.spec(), path, value), redraw=redraw)
        apply()

    def on_stack(self, role: str) -> Callable[[str, int, str], None]:
        @self.safe
        def act(action: str, i: int, button_key: str) -> None:
            if not (self.current(button_key) and builder.clicked(button_key)):
                return
            s = self.spec()
            layers = s.net(role).layers
            layers = {"up": lambda: builder.move(layers, i, -1), "down": lambda: builder.move(layers, i, +1),
                      "duplicate": lambda: builder.duplicate(layers, i),
                      "delete": lambda: builder.delete(layers, i) if len(layers) > 1 else layers}[action]()
            self.set_spec(with_layers(s, role, layers), redraw=True)
        return act

    def on_layer_param(self, role: str) -> Callable[[int, str, str], None]:
        @self.safe
        def change(i: int, name: str, widget_key: str) -> None:
            s = self.spec()
            layers = s.net(role).layers
            if not self.current(widget_key) or i >= len(layers):
                return
            layer = layers[i]
            new = LayerSpec(layer.kind, {**layer.params, name: st.session_state[widget_key]})
            self.set_spec(with_layers(s, role, (*layers[:i], new, *layers[i + 1:])))
        return change

    def on_add_layer(self, role: str, button_key: str) -> None:
        @self.safe
        def add() -> None:
            if not (self.current(button_key) and builder.clicked(button_key)):
                return
            s = self.spec()
            kind = st.session_state[self.key(f"{role}_add")]
            self.set_spec(with_layers(s, role, (*s.net(role).layers, LayerSpec.make(kind))), redraw=True)
        add()

    # ------------------------------------------------------------ widgets
    def field(self, widget, label: str, path: tuple, value, *args, redraw: bool = False, **kw):
        """A widget bound to the spec field at `path`: starts at `value`, writes back through on_field."""
        k = self.key("_".join(path))
        start = builder.seed(k, value, widget, args[0] if args else None)
        return widget(label, *args, key=k, on_change=self.on_field, args=(path, k, redraw), **start, **kw)

    def number(self, label: str, path: tuple, value, lo, hi, redraw: bool = False, **kw) -> None:
        """A number box bound to the spec field at `path`; a number out of range is refused next to it."""
        k = self.key("_".join(path))
        builder.number_box(label, lo, hi, k, value, on_change=self.on_field, args=(path, k, redraw), **kw)

    def network(self, role: str, net: NetworkSpec, rows: list[LayerInfo] | None, lr_help: str, caption: str,
                rates: tuple[float, ...] = LEARNING_RATES) -> None:
        """One network: its optimizer and learning rate, then (when its shapes are known: `rows`)
        the caption, a card per layer and 'add a layer'."""
        c1, c2 = st.columns(2)
        with c1:
            self.field(st.selectbox, "Optimizer", (role, "optim", "name"), net.optim.name, list(OPTIMIZERS),
                       format_func=lambda n: OPTIMIZERS[n].label, help=OPTIMIZERS[net.optim.name].help)
        with c2:
            self.field(st.select_slider, "Learning rate", (role, "optim", "lr"), net.optim.lr,
                       sorted({*rates, net.optim.lr}), format_func=lambda v: f"{v:g}", help=lr_help)
        if rows is None:
            return
        st.caption(caption)
        for i, layer in enumerate(net.layers):
            builder.layer_card(i, len(net.layers), layer, rows[i] if i < len(rows) else None,
                               self.key(f"{role}_L{i}"), self.on_stack(role), self.on_layer_param(role))
        c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
        kinds = builder.kind_options(exclude=builder.SEQUENCE_GROUPS)
        k = self.key(f"{role}_add")
        c1.selectbox("Add a layer at the end", kinds, key=k, format_func=builder.kind_label,
                     **builder.seed(k, "linear", st.selectbox, kinds))
        bk = self.key(f"{role}_add_button")
        c2.button("Add", key=bk, on_click=self.on_add_layer, args=(role, bk), width="stretch")
