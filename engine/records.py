"""Typed records the live views publish (torch-free: numpy arrays and numbers), read by the
pages and the viz/ figure builders: the Playground's views, the Sequences & text page's and the
error any failing view becomes. The probes recorder's records live in engine/probes/records.py."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ViewError:
    """What a view that raised is published as, so the page can say so and training goes on."""
    message: str                        # "ZeroDivisionError: division by zero"


@dataclass(frozen=True)
class Boundary:
    """The model's output over the input plane of 2-D data, with the raw data points."""
    kind: str                           # probability (P(class 1)) | class (argmax) | regression (the value)
    axis: np.ndarray                    # (G,) float32 grid values, the same on both axes
    z: np.ndarray                       # (G, G) float32, row = x2, column = x1
    extent: float                       # the plane is [-extent, extent]^2
    n_classes: int                      # classes of the data (0 for regression)
    points_train: np.ndarray            # (N, 2) float32 raw training points
    y_train: np.ndarray                 # (N,) class indices or targets
    points_test: np.ndarray             # (M, 2) float32 raw test points
    y_test: np.ndarray                  # (M,)


@dataclass(frozen=True)
class Column:
    """One column of the neuron picture: the input features, a hidden block or the output."""
    name: str                           # "input" | "hidden 1" ... | "output"
    labels: tuple[str, ...]             # one per unit: "x1", "h1.3", "out.1"
    maps: np.ndarray                    # (units, G, G) float32, each unit's output over the grid


@dataclass(frozen=True)
class Neurons:
    """What every unit of a small MLP computes over a coarse grid (TensorFlow Playground's picture)."""
    axis: np.ndarray                    # (G,) float32 grid values, the same on both axes
    extent: float                       # the plane is [-extent, extent]^2
    columns: tuple[Column, ...]         # input, hidden blocks, output
    weights: tuple[np.ndarray, ...]     # per Linear: (out, in) float32, between columns i and i + 1
    biases: tuple[np.ndarray | None, ...]   # per Linear: (out,) float32, or None without a bias
    layers: tuple[int, ...] = ()        # per Linear: its index in the layer stack (the diagram edits it)


@dataclass(frozen=True)
class Images:
    """A fixed set of test images with the model's predictions."""
    images: np.ndarray                  # (K, H, W) or (K, H, W, 3) float32 in [0, 1]
    true: tuple[int, ...]               # (K,) true labels
    pred: tuple[int, ...]               # (K,) predicted labels
    confidence: tuple[float, ...]       # (K,) predicted probability of the predicted label
    class_names: tuple[str, ...]        # the dataset's class names


# ---------------------------------------------------------------- the Sequences & text page
# (engine/sequence_views.py). `version` is the version of the view's settings the record was
# made with, so the page can tell a record for the settings it shows from an older one.
@dataclass(frozen=True)
class Samples:
    """Texts a language model drew, one character at a time."""
    step: int                           # training steps taken when they were drawn
    version: int
    temperature: float
    top_k: int                          # 0 = every character may be drawn
    seed: int
    texts: tuple[str, ...]
    known: tuple[bool, ...]             # per text: it is one of the training texts (a copied name)


@dataclass(frozen=True)
class NextChars:
    """P(next character | context) of a language model."""
    step: int
    version: int
    typed: str                          # what the user typed
    context: str                        # the characters the model read (after the start mark, if any)
    dropped: str                        # typed characters left out: not in the vocabulary, or too many
    vocab: tuple[str, ...]              # vocab[i] is id i's text; vocab[0] is padding
    probs: np.ndarray                   # (V,) float32 the model's probabilities (temperature 1)
    drawn: np.ndarray                   # (V,) float32 what the sampler draws from: temperature, top-k, no pad
    temperature: float
    top_k: int
    end_mark: bool                      # vocab[1] '.' ends a text (names)


@dataclass(frozen=True)
class Forecast:
    """One held-out window of a series, its true continuation and the model's forecast."""
    step: int
    version: int
    index: int                          # which held-out window
    n_windows: int                      # how many there are
    window: np.ndarray                  # (W,) float32 the values the model reads
    truth: np.ndarray                   # (H,) float32 the next H values
    forecast: np.ndarray                # (H,) float32 the model's prediction of them


@dataclass(frozen=True)
class SequenceClasses:
    """Class probabilities of one token sequence: a typed word, or the first held-out one."""
    step: int
    version: int
    typed: str                          # what the user typed ('' = the held-out example is shown)
    text: str                           # the characters the model read
    dropped: str                        # typed characters left out: not in the vocabulary, or too many
    true: int | None                    # the true class of a held-out example; None for a typed one
    class_names: tuple[str, ...]
    probs: np.ndarray                   # (C,) float32, sums to 1


# ---------------------------------------------------------------- inside a sequence model, for one example
# (engine/sequence_views.py: InsideView). `tokens` are what the model reads at each step, as text:
# "·" is padding, "." the start mark of names, "␣" a space; a series shows its values.
@dataclass(frozen=True)
class HiddenStates:
    """The first recurrent layer's state at each step (LSTMVis's picture), and its gates."""
    label: str                          # "LSTM"
    tokens: tuple[str, ...]             # (T,)
    states: np.ndarray                  # (units, T) float32: each unit's output after each step
    gates: dict[str, np.ndarray]        # gate name -> (units, T) float32; {} for a plain RNN
    n_units: int                        # units of the layer (the arrays may show only the first ones)


@dataclass(frozen=True)
class Connectivity:
    """Which input steps each prediction depends on (Distill, "Memorization in RNNs"): the size of
    the gradient of the prediction's score with respect to each step's input vector."""
    tokens: tuple[str, ...]             # (T,)
    positions: tuple[int, ...]          # (P,) the step each prediction is made at (after reading it)
    targets: tuple[str, ...]            # (P,) what each score is for: "r" (the true next character), a class
    strength: np.ndarray                # (P, T) float32 |d score_p / d input_s|; 0 after a causal model's step
    causal: bool                        # prediction p cannot see steps after positions[p]


@dataclass(frozen=True)
class AttentionMaps:
    """Every attention layer's weights for one example, per head: row = query step, column = key step."""
    tokens: tuple[str, ...]             # (T,)
    layers: tuple[str, ...]             # (L,) "attention 1"
    weights: tuple[np.ndarray, ...]     # (L,) of (heads, T, T) float32, each row sums to 1
    causal: tuple[bool, ...]            # (L,) zero above the diagonal


@dataclass(frozen=True)
class EmbeddingPoints:
    """The learned token vectors projected to 2-D by PCA, with each token's nearest neighbours."""
    labels: tuple[str, ...]             # (V,) each token as text
    points: np.ndarray                  # (V, 2) float32 on the first two principal axes
    explained: tuple[float, float]      # share of the variance each axis holds
    dim: int                            # length of each learned vector
    neighbours: tuple[tuple[int, ...], ...]     # (V, k) the nearest other tokens by cosine, nearest first
    similarity: tuple[tuple[float, ...], ...]   # (V, k) their cosine similarities


@dataclass(frozen=True)
class TimeGradients:
    """How much gradient of a loss reaches the first recurrent layer's state at each earlier step."""
    label: str                          # "LSTM"
    tokens: tuple[str, ...]             # (T,)
    positions: tuple[int, ...]          # (P,) the step whose loss it is (Connectivity's positions)
    norms: np.ndarray                   # (P, T) float32 |d loss_p / d h_t|


@dataclass(frozen=True)
class Inside:
    """Inside the model for one example: each view, or None with the sentence why it does not apply."""
    step: int
    version: int
    typed: str                          # what the user typed ('' = a held-out example)
    example: str                        # which example: "held-out name 1", "“mar” (typed)"
    dropped: str                        # typed characters left out: not in the vocabulary, or too many
    message: str                        # a problem with the typed text ('' when none)
    states: HiddenStates | None
    connectivity: Connectivity | None
    attention: AttentionMaps | None
    embedding: EmbeddingPoints | None
    gradients: TimeGradients | None
    why_not: dict[str, str]             # view name ("states", ...) -> why it is not shown

# ---------------------------------------------------------------- the GAN lab (engine/gan_views.py)
@dataclass(frozen=True)
class GanPlane:
    """A 2-D GAN at one step: real and generated points over the discriminator's output, the
    way the generator's loss pushes each generated point, and how it maps the noise plane."""
    step: int
    extent: float                       # the plane is [-extent, extent]^2
    axis: np.ndarray                    # (G,) float32 grid values, the same on both axes
    scores: np.ndarray                  # (G, G) float32 the discriminator's output, row = x2, column = x1
    score_label: str                    # "P(real)" for the log losses, "score" otherwise
    real: np.ndarray                    # (N, 2) float32 held-out real points
    fake: np.ndarray                    # (M, 2) float32 generated points, from the run's fixed noise
    push: np.ndarray                    # (M, 2) float32 minus the generator loss's gradient at each fake point
    latent_lines: tuple[np.ndarray, ...]   # each (P, 2): one line of the noise grid, mapped through the generator
    modes: np.ndarray | None            # (K, 2) centres of a mixture target's modes, or None


@dataclass(frozen=True)
class GanImages:
    """An image GAN at one step: samples from fixed noise and a walk between two noise vectors."""
    step: int
    samples: np.ndarray                 # (K, H, W) float32 in [0, 1], from the run's fixed noise
    labels: tuple[str, ...]             # per sample: what a digit classifier sees ("7 · 93%"), or ()
    walk: np.ndarray                    # (S, H, W) float32 in [0, 1], noise a to noise b in S even steps


# ---------------------------------------------------------------- autoencoders (engine/autoencoder_views.py)
@dataclass(frozen=True)
class AeReconstructions:
    """Fixed test examples (one of each class first) next to what the autoencoder rebuilds of them."""
    step: int
    inputs: np.ndarray                  # (K, H, W) float32 in [0, 1]
    outputs: np.ndarray                 # (K, H, W) float32 in [0, 1], from the (mean) code
    labels: tuple[str, ...]             # (K,) each example's class name
    losses: np.ndarray                  # (K,) float32 each example's reconstruction loss


@dataclass(frozen=True)
class AeLatent:
    """The test examples' codes on a plane (the code itself when it has 2 numbers, else its first
    two principal axes), with the decoder's images over a grid of that plane. A plane point (u, v)
    is the code centre + u * axes[0] + v * axes[1]."""
    step: int
    dim: int                            # numbers in the code
    points: np.ndarray                  # (N, 2) float32 test codes on the plane
    labels: np.ndarray                  # (N,) int64 their classes
    class_names: tuple[str, ...]
    centre: np.ndarray                  # (dim,) float32 the plane's origin in code space
    axes: np.ndarray                    # (2, dim) float32 the plane's directions
    explained: tuple[float, float] | None   # share of the codes' variance on each axis (PCA), None for 2 numbers
    grid_u: np.ndarray                  # (G,) float32 plane coordinates of the grid's columns ...
    grid_v: np.ndarray                  # (G,) float32 ... and rows
    grid: np.ndarray | None             # (G, G, H, W) float32 in [0, 1] decoded images, row = v, column = u


@dataclass(frozen=True)
class AeTraversal:
    """One code number varied at a time, the others held at the test codes' mean."""
    step: int
    dims: tuple[int, ...]               # (D,) which code numbers (0-based)
    values: np.ndarray                  # (D, S) float32 the values each takes, mean - 2 std to mean + 2 std
    images: np.ndarray                  # (D, S, H, W) float32 in [0, 1]


# ---------------------------------------------------------------- the Explain page (engine/explain.py)
@dataclass(frozen=True)
class Curve:
    """A deletion or insertion curve: the target's probability as the most important pixels
    (by one map) are replaced by the baseline (deletion) or put back onto it (insertion)."""
    fraction: np.ndarray                # (K,) float32 share of the pixels removed / added, 0 to 1
    prob: np.ndarray                    # (K,) float32 mean probability of the target class
    acc: np.ndarray                     # (K,) float32 share of the examples still predicted as the target
    auc: float                          # area under prob (0-1): low is good for deletion, high for insertion


@dataclass(frozen=True)
class Attribution:
    """One method's map for one image, with the checks that apply to it."""
    method: str                         # saliency | ig | smoothgrad | occlusion | gradcam
    label: str                          # "Integrated Gradients"
    attr: np.ndarray                    # (C, H, W) float32, the input's shape (Grad-CAM: its map / C per channel)
    heat: np.ndarray                    # (H, W) float32 attr summed over channels: what is drawn and ranked
    signed: bool                        # the map has negative values (evidence against the class)
    completeness_gap: float | None      # IG: |sum(attr) - (f(x) - f(b))| / |f(x) - f(b)|; None elsewhere
    inside_share: float | None          # shapes: share of sum(|heat|) on the object's pixels; None elsewhere
    deletion: Curve
    insertion: Curve


@dataclass(frozen=True)
class Sanity:
    """The model-randomisation check: layers re-initialised one more at a time from the output
    down, and each method's map compared with the trained model's (Spearman rank correlation of |heat|)."""
    layers: tuple[str, ...]             # "up to layer 8: Linear 4", ... in the order they were randomised
    correlation: dict[str, np.ndarray]  # method -> (L,) float32 in [-1, 1]; NaN where a map became constant


@dataclass(frozen=True)
class ImageExplanation:
    """What a classifier saw in one test image, by several attribution methods."""
    index: int                          # test example
    image: np.ndarray                   # (H, W) or (H, W, 3) float32 in [0, 1], for drawing
    true: int
    pred: int
    target: int                         # the class explained
    probs: np.ndarray                   # (classes,) float32
    class_names: tuple[str, ...]
    baseline: str                       # zeros | blurred | mean
    f_x: float                          # the target's score (logit) at the image ...
    f_baseline: float                   # ... and at the baseline
    maps: tuple[Attribution, ...]
    mask: np.ndarray | None             # (H, W) bool the object's pixels (shapes), else None
    object_share: float | None          # mask's share of the image
    sanity: Sanity | None


@dataclass(frozen=True)
class FeatureExplanation:
    """Integrated Gradients per input feature for one example of a table."""
    index: int
    feature_names: tuple[str, ...]
    values: np.ndarray                  # (F,) float32 the example's (preprocessed) inputs
    attr: np.ndarray                    # (F,) float32 each feature's share of f(x) - f(baseline)
    true: int | float
    pred: int | float
    target: int
    target_name: str
    f_x: float
    f_baseline: float
    completeness_gap: float


@dataclass(frozen=True)
class GradientField:
    """The gradient of one class score over the plane of 2-D data (d score / d x1, d score / d x2)."""
    axis: np.ndarray                    # (G,) float32 grid values, the same on both axes
    score: np.ndarray                   # (G, G) float32 the score, row = x2, column = x1
    gx: np.ndarray                      # (G, G) float32 d score / d x1
    gy: np.ndarray                      # (G, G) float32 d score / d x2
    target_name: str
    extent: float
    points: np.ndarray                  # (N, 2) float32 raw test points
    labels: np.ndarray                  # (N,) int test classes
    class_names: tuple[str, ...] = ()


# ---------------------------------------------------------------- the Compress page (engine/compress.py)
@dataclass(frozen=True)
class Variant:
    """One version of a trained model, measured the same way as every other."""
    name: str                           # "pruned 80% (global, unstructured)"
    kind: str                           # original | pruned | fine-tuned | quantized | student | distilled
    accuracy: float                     # test accuracy, 0-1
    bytes: int                          # the state_dict saved by torch.save, then zlib-compressed (level 9)
    dense_bytes: int                    # ... the same file before compression
    nonzero: int                        # parameters (weights and biases) that are not exactly zero
    params: int                         # all parameters (a quantized weight counts as one each)
    latency_ms: float                   # median CPU time of one forward pass over `batch` test examples
    batch: int                          # examples per timed forward pass
    note: str = ""                      # what else to know ("conv layers stay float32")


@dataclass(frozen=True)
class SparsityCurve:
    """Test accuracy of the pruned model against the sparsity asked for (one scope and structure)."""
    sparsity: np.ndarray                # (K,) float32 share of the prunable weights set to zero, asked for
    measured: np.ndarray                # (K,) float32 share of them really zero afterwards
    accuracy: np.ndarray                # (K,) float32 test accuracy right after pruning
    finetuned: np.ndarray | None        # (K,) float32 ... after the short fine-tune (mask kept); None if 0 steps
    scope: str                          # global | layer
    structure: str                      # unstructured | channel
    finetune_steps: int


@dataclass(frozen=True)
class Distillation:
    """A small student trained with the teacher's soft targets, against the same student
    (same initial weights, same batches) trained alone on the hard labels, over seeds."""
    student: str                        # "Linear 16, ReLU, Linear 10"
    teacher_params: int
    student_params: int
    teacher_accuracy: float
    steps: np.ndarray                   # (K,) int steps at which the students were evaluated
    with_teacher: np.ndarray            # (S, K) float32 test accuracy per seed
    alone: np.ndarray                   # (S, K) float32 the same student without the teacher
    seeds: tuple[int, ...]
    temperature: float
    alpha: float                        # the soft loss's weight; the hard loss gets 1 - alpha
    train_examples: int                 # labelled training examples the students saw

    @property
    def gain(self) -> np.ndarray:
        """(S,) final accuracy with the teacher minus alone, per seed."""
        return self.with_teacher[:, -1] - self.alone[:, -1]


# ---------------------------------------------------------------- the Overfitting & augmentation page
# (engine/augment_views.py)
@dataclass(frozen=True)
class AugmentedBatch:
    """Images of the exact batch a training step saw, as loaded and as the network got them."""
    step: int                           # the step that trained on it (1 = the first)
    before: np.ndarray                  # (K, H, W) or (K, H, W, 3) float32 in [0, 1]
    after: np.ndarray                   # the same images augmented, on the same scale (clipped to [0, 1])
    labels: tuple[str, ...]             # (K,) each image's class; with mixup "3 · 72% + 8 · 28%"
    changes: tuple[str, ...]            # the augmentations that were on: "shift ±2 px", "rotate ±15°"
