"""The course map: every concept the playground teaches, the page (and preset) that shows it,
and one sentence of what to look for. Data only, plus `open_concept`, which sets a page's
session state to a preset before the start page switches to it (app_pages/start.py draws it).

A concept whose page file does not exist yet (a page still being built) is left out by
`available`, so the map grows as pages land.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from engine.presets import load_preset

ROOT = Path(__file__).resolve().parent.parent
PLAYGROUND, INSIDE, ARENA = "app_pages/playground.py", "app_pages/inside.py", "app_pages/arena.py"
SEQUENCES, GAN = "app_pages/sequences.py", "app_pages/gan.py"


@dataclass(frozen=True)
class Concept:
    name: str
    page: str            # the page file, as app.py registers it
    look_for: str        # one sentence: what to look for there
    preset: str = ""     # the preset to open it with ("" : the page as it is)


CONCEPTS: tuple[Concept, ...] = (
    Concept("Neurons and activations", "app_pages/activations.py",
            "Move the input and watch each function squash it: where its slope goes flat, the gradient vanishes."),
    Concept("A single neuron", PLAYGROUND,
            "One Linear layer draws a straight boundary: it can split the two clusters, never a circle.",
            "logistic_regression"),
    Concept("Gradient descent", PLAYGROUND,
            "Press Step a few times: each step moves the boundary a little downhill on the loss; "
            "a larger learning rate takes bigger steps, too large and the loss explodes.", "tf_playground"),
    Concept("Backpropagation", "app_pages/backprop.py",
            "Follow one example forward, then each gradient backward by the chain rule, checked against autograd."),
    Concept("Hidden layers (MLPs)", PLAYGROUND,
            "XOR needs a hidden layer: each hidden neuron draws one line and the output combines them.",
            "xor_2_sigmoid"),
    Concept("Weight initialisation", PLAYGROUND,
            "Train this deep tanh net, then set Initialisation to PyTorch default and train again: the same "
            "network, another start, another result.", "tf_playground_spiral_6x8"),
    Concept("What a network computes inside", INSIDE,
            "Each layer's activations, weights and gradient flow while it trains: look for layers that go quiet."),
    Concept("Convolution", "app_pages/conv_lab.py",
            "Slide a kernel over an image: every output cell is one patch times the kernel, summed."),
    Concept("Pooling", "app_pages/conv_lab.py",
            "Max pooling keeps the strongest response in each window: the map shrinks and small shifts stop mattering."),
    Concept("CNNs on digits", PLAYGROUND,
            "A few conv layers read handwritten digits better than an MLP with more weights: compare test accuracy.",
            "mnist_cnn"),
    Concept("Metrics", PLAYGROUND,
            "Read the confusion matrix and per-class precision and recall under the boundary, not only accuracy.",
            "mlp_digits"),
    Concept("Optimizers", ARENA,
            "Race SGD, momentum and Adam on the same problem: who gets down first, who overshoots."),
    Concept("Regularisation", PLAYGROUND,
            "On the Training tab add L2 and noise on the Data tab: the test loss stays closer to the train loss.",
            "tf_playground"),
    Concept("Overfitting, augmentation and early stopping", "app_pages/regularise.py",
            "A big network on 100 digits: train accuracy hits 100% while test stays near 77%; switch on "
            "augmentation and early stopping and watch the red run's gap shrink."),
    Concept("Comparing runs", "app_pages/runs.py",
            "Every finished run is kept with its spec: overlay their curves and reopen any of them."),
    Concept("Using a trained model", "app_pages/draw.py",
            "Draw a digit and watch the class probabilities change stroke by stroke."),
    Concept("Explaining a prediction", "app_pages/explain.py",
            "Saliency, integrated gradients and occlusion: which pixels made the network decide."),
    Concept("Pruning and quantisation", "app_pages/compress.py",
            "Prune weights, quantise to int8 or distil: see how much smaller the model gets for how little accuracy."),
    Concept("Recurrent networks (RNN, LSTM)", SEQUENCES,
            "An LSTM forecasts a noisy sine from its past: watch the forecast lock onto the wave.",
            "sines_lstm_forecast"),
    Concept("Memory over many steps (RNN vs LSTM)", SEQUENCES,
            "Race a plain RNN, a GRU and an LSTM at the bottom of the page: at a lag of 30 only the LSTM's gates "
            "carry the letter across.", "delay_rnn_vs_lstm"),
    Concept("Embeddings and attention (transformers)", SEQUENCES,
            "A tiny transformer learns names one character at a time: see where each character's attention goes.",
            "names_transformer_char_lm"),
    Concept("GANs", GAN,
            "A generator and a discriminator play against each other: watch the fake points find the eight modes.",
            "ring8_gan"),
    Concept("Mode collapse", GAN,
            "The same GAN settled on a few modes only: the generator found what fools the discriminator and stays.",
            "ring8_gan_collapse"),
    Concept("Autoencoders", "app_pages/autoencoder.py",
            "Squeeze the data through a narrow code and back: what the code keeps is what the reconstruction shows."),
    Concept("Transfer and self-supervised learning", "app_pages/transfer.py",
            "Pretrain without labels, then freeze or fine-tune: the chart shows what it buys when labels are few."),
)


def available() -> list[Concept]:
    """The concepts whose page exists (a page still being built is left out)."""
    return [c for c in CONCEPTS if (ROOT / c.page).is_file()]


def _playground(name: str) -> None:
    from ui import playground as pg
    pg.replace_spec(load_preset(name), f"Loaded the preset **{name}** from the course map.")


def _sequences(name: str) -> None:
    st.session_state["seq_preset"] = name
    st.session_state["seq_epochs"] = load_preset(name).epochs


def _gan(name: str) -> None:
    from ui import gan
    st.session_state["gan_preset"] = name
    gan.set_spec(load_preset(name), redraw=True)


OPENERS = {PLAYGROUND: _playground, SEQUENCES: _sequences, GAN: _gan}   # pages a preset can be opened on


def open_concept(c: Concept) -> None:
    """Set the session so that c's page opens with c's preset (the caller then switches page)."""
    from ui.state import init_defaults
    init_defaults()                      # a cold Course map ran without them (app.py, ui/warm.py)
    if c.preset:
        OPENERS[c.page](c.preset)
