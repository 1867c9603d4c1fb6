"""The one place that sets session defaults. Pages read st.session_state; they do not
scatter `if key not in st.session_state` checks."""
from __future__ import annotations

from typing import Any, Callable

import streamlit as st

from engine.teach.backprop import start_params
from ui.arena import ARENA_DEFAULTS
from ui.compress import COMPRESS_DEFAULTS
from ui.transfer import TRANSFER_DEFAULTS
from ui.autoencoder import AE_DEFAULTS
from ui.gan import GAN_DEFAULTS
from ui.explain import EXPLAIN_DEFAULTS
from ui.runs import RUNS_DEFAULTS
from ui.regularise import REG_DEFAULTS
from ui.sequences import SEQ_DEFAULTS

def _playground_spec():
    from ui.playground import default_spec           # ui.playground needs the session's helpers first
    return default_spec()


# key -> default value, or a zero-argument factory for values built on first use
DEFAULTS: dict[str, Any | Callable[[], Any]] = {
    # Playground (ui/playground.py): the spec being edited and its widget bookkeeping
    "pg_spec": lambda: _playground_spec(),       # 2-D data: trains until paused
    "pg_speed": "full",          # the speed chosen (ui.playground.SPEEDS); its slider is pg_speed_slider
    "pg_gen": 0,                 # bumped when the spec is replaced as a whole
    "pg_ids": list,              # a stable widget id per layer
    "pg_next_id": 0,
    "pg_previous": None,         # the last run's curves, drawn faded
    "pg_url_done": False,        # the link's ?spec= was read
    "pg_notice": "",             # one-time message (preset loaded, network adapted)
    "pg_errors": list,           # messages shown once (a change that failed, a bad link)
    "pg_spec_errors": list,      # why the uploaded spec file was not used
    "pg_msg_spec": None,         # the spec the notice and errors were told for
    "pg_csv_errors": list,
    "pg_deploy": None,           # the paused run's model in every format (engine.deploy.Exported)
    "pg_lr_applied": None,
    "pg_x_axis": "step",
    "pg_log_scale": False,
    "pg_show_test": False,
    "pg_discretize": False,
    "pg_diagram_gen": 0,         # the network diagram's chart key (a new one clears its selection)
    "pg_pick": None,             # the diagram's clicked neuron ("neuron", column, unit) or weight ("weight", block, out, in)
    "pg_diagram_edited": False,  # a diagram click changed the network: the whole page draws again
    "refused": dict,             # a number box's key -> what it refused (ui.builder.number_box)
    # Learn pages (app_pages/conv_lab.py, activations.py, backprop.py): widget values
    "conv_source": "mnist", "conv_digit": 1500, "conv_photo": "china", "conv_channel": "gray",
    "conv_size": 48, "conv_shape_seed": 0, "conv_kernel": "sobel_x",
    "conv_custom3": "0 -1 0\n-1 4 -1\n0 -1 0", "conv_custom5": "\n".join(["1/25 " * 5] * 5),
    "conv_stride": 1, "conv_padding": 1, "conv_pad_mode": "zeros", "conv_dilation": 1, "conv_relu": False,
    "conv_row": 10, "conv_col": 17, "conv_pool_kind": "max", "conv_pool_size": 2, "conv_pool_stride": 2,
    "conv_pool_row": 5, "conv_pool_col": 8,
    "act_names": lambda: ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "silu", "softplus"],
    "act_range": (-6.0, 6.0), "act_slope": 0.1, "act_threshold": 0.01,
    "act_vector": "2, 1, 0.1, -1", "act_temperature": 1.0,
    "bp_x1": 0.5, "bp_x2": -1.0, "bp_t": 2.0, "bp_w1": 0.3, "bp_w2": -0.2, "bp_b": 0.1, "bp_lr": 0.05,
    "bp_seed": 3, "bp_xor_lr": 2.0, "bp_loss": "mse", "bp_example": 1,
    "bp_net": start_params, "bp_history": list, "bp_steps": 0,
    # Optimizer arena (ui/arena.py): contestants, race, surfaces, lr finder
    **ARENA_DEFAULTS,
    # Runs (ui/runs.py): the filter, the runs compared, the run acted on
    **RUNS_DEFAULTS,
    # Inside the network (app_pages/inside.py): section shown and its choices
    "inside_preset": "mnist_cnn", "inside_section": "Activations", "inside_example_mode": "pick",
    "inside_example": 0, "inside_filter_layer": None, "inside_filter_channel": -1, "inside_kind": "weights",
    "inside_draw_s": dict,       # seconds drawing each section took (sets the refresh pace)
    # ... its Feature maps section (ui/inside_cell.py): the conv output cell asked for, (layer, map from 1,
    # row, column) with None for the recorder's pick (its boxes are inside_cell_*_box), the input channel shown
    "inside_cell": (None, 1, None, None), "inside_cell_channel": 1, "inside_cell_error": "",
    # Sequences & text (ui/sequences.py): the preset, its epochs and the views' settings
    **SEQ_DEFAULTS,
    # GAN lab (ui/gan.py): the spec being edited, its widget generation, the views' choices
    **GAN_DEFAULTS,
    # Autoencoders (ui/autoencoder.py): the spec being edited, its widget generation, the chosen code-plane point
    **AE_DEFAULTS,
    # Explain a prediction (ui/explain.py): which run, which example, the methods' settings
    **EXPLAIN_DEFAULTS,
    # Compress a model (ui/compress.py): which run, the pruning, quantization and distillation settings
    **COMPRESS_DEFAULTS,
    # Overfitting & augmentation (ui/regularise.py): the augmentation widgets and the switched run's switches
    **REG_DEFAULTS,
    # Few labels (ui/transfer.py): the source, frozen layers, body lr factor, labels; the comparison's settings
    **TRANSFER_DEFAULTS,
}


def init_defaults() -> None:
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = default() if callable(default) else default
