"""Autoencoder: an encoder squeezes each example into a short code; a decoder rebuilds the
example from it; both train to make the rebuilt example match the input (no labels needed).

The spec names two networks, `encoder` (an example -> its code) and `decoder` (a code -> the
example, or its pixels flat), each with its own optimizer: one `backward()` of the shared loss
fills both networks' gradients and both optimizers step, which with the same settings is the
same update as one optimizer over both, and lets a page give the decoder its own learning rate.
`spec.autoencoder` holds the kind, the code size and beta; `spec.loss` picks one of AE_LOSSES.

Variational (Kingma & Welling 2014): the encoder outputs 2 x latent_dim numbers, a mean and a
log-variance per code number; the code is drawn as mean + exp(logvar / 2) * eps (the
reparameterisation, so the draw has a gradient), and the loss adds beta x KL(q(z|x) || N(0, I)).

Evaluations: the reconstruction loss on fixed training and test examples (the VAE's from the
mean code), the KL, and the code's quality as a number: k-nearest-neighbour accuracy of the test
codes against the training codes (labels from the dataset), beside the same accuracy of the
first principal components of the raw pixels (PCA at the same size) and the loss of predicting
the mean training example.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..build import budget, build_model, infer_shapes
from ..data import Dataset
from ..layers import dims
from ..optim import LOSSES, LossInfo, make_optimizer
from ..spec import AutoencoderSpec, LayerSpec, RunSpec
from . import SeveralOptimizers, Task, register

TASK = "autoencoder"
ENCODER, DECODER = "encoder", "decoder"
EVAL_N = 1000                # training and test examples each evaluation scores (and codes it draws)
K = 5                        # neighbours the kNN accuracy of the codes votes with


@dataclass(frozen=True)
class ReconLoss:
    """How far a rebuilt example is from its input, summed over its values (the VAE's
    convention, so the KL term's weight beta means the same for every image size)."""
    name: str
    label: str
    per_example: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]   # (decoder out, x) flat -> (B,)
    show: Callable[[torch.Tensor], torch.Tensor]                        # decoder out -> the rebuilt example
    help: str
    code: str                                                            # export: per_example over out, x


AE_LOSSES = {l.name: l for l in (
    ReconLoss("recon_bce", "Binary cross-entropy per pixel (for [0, 1] pixels)",
              lambda out, x: F.binary_cross_entropy_with_logits(out, x, reduction="none").sum(1), torch.sigmoid,
              "The decoder outputs one logit per pixel; sigmoid of it is the pixel's brightness and the loss is "
              "-log of the chance it gives the true brightness. For images scaled to [0, 1].",
              "F.binary_cross_entropy_with_logits(out, x, reduction='none').sum(1)"),
    ReconLoss("recon_mse", "Squared error per value",
              lambda out, x: ((out - x) ** 2).sum(1), lambda out: out,
              "The decoder outputs the values themselves; the loss is the squared distance to the input, "
              "summed over its values. For any scaling.", "((out - x) ** 2).sum(1)"),
)}
for _loss in AE_LOSSES.values():
    LOSSES.register(LossInfo(_loss.name, _loss.label, lambda out, x, f=_loss.per_example: f(out, x).mean(),
                             _loss.help, tasks=(TASK,)))


def recon_loss(spec: RunSpec, data: Dataset | None = None) -> ReconLoss:
    """The spec's loss; auto is BCE for data in [0, 1] (pixels), squared error otherwise."""
    if spec.loss != "auto":
        return AE_LOSSES[spec.loss]
    return AE_LOSSES["recon_bce" if data is not None and unit_range(data) else "recon_mse"]


def unit_range(data: Dataset) -> bool:
    return bool(data.x_train.min() >= 0 and data.x_train.max() <= 1)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, 1)) per example, summed over the code's numbers, in closed
    form: 0.5 * sum(exp(logvar) + mu^2 - 1 - logvar). (B, L) -> (B,)."""
    return 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(1)


def code_size(ae: AutoencoderSpec) -> int:
    """Numbers the encoder outputs: the code, or a mean and a log-variance for each of its numbers."""
    return ae.latent_dim * (2 if ae.kind == "variational" else 1)


def knn_accuracy(ref: torch.Tensor, ref_labels: torch.Tensor, codes: torch.Tensor, labels: torch.Tensor,
                 k: int = K) -> float:
    """Share of `codes` whose k nearest `ref` codes (Euclidean) vote for their own label; a tie
    goes to the label of the nearer neighbours."""
    k = min(k, len(ref))
    near = torch.cdist(codes, ref).topk(k, largest=False).indices          # (N, k) nearest first
    votes = torch.zeros(len(codes), int(ref_labels.max()) + 1, device=codes.device)
    weight = 1 + 1e-3 * torch.arange(k, 0, -1, device=codes.device, dtype=votes.dtype)   # ties: nearer wins
    votes.scatter_add_(1, ref_labels[near], weight.expand(len(codes), k))
    return float((votes.argmax(1) == labels).float().mean())


def pca_codes(x_train: np.ndarray, x_test: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n principal components of the raw values (fitted on the training split): the
    linear code of the same size an autoencoder should beat."""
    a, b = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    mean = a.mean(0)
    _, _, vt = np.linalg.svd(a - mean, full_matrices=False)
    axes = vt[:min(n, len(vt))].T
    return (a - mean) @ axes, (b - mean) @ axes


# ---------------------------------------------------------------- check
def _stack_problems(spec: RunSpec, role: str, in_shape: tuple, want: tuple, what: str, n_train: int,
                    flat_ok: bool, fix: str) -> list[str]:
    net = spec.net(role)
    rows = infer_shapes(net.layers, in_shape, tokens=False)
    if not rows:
        return [f"{role}: the network needs at least one layer"]
    if errors := [f"{role}: {r.error}" for r in rows if r.error]:
        return errors
    out = rows[-1].out_shape
    if out != want and not (flat_ok and out == (math.prod(want),)):
        return [f"{role}: the last layer ({rows[-1].label}) outputs {dims(out)}, but the {role} must output "
                f"{what}, {dims(want)}" + (f" (or {math.prod(want)} values, reshaped)" if flat_ok else "")
                + f"; {fix}"]
    one = RunSpec.make(net.layers, batch_size=spec.batch_size)
    return [f"{role}: {p}" for p in budget(one, rows, n_train)]


def check(spec: RunSpec, data: Dataset) -> list[str]:
    """Every problem of an autoencoder spec on this data: each network's shapes and budget, the
    loss's range, the data."""
    if data.token_input:
        return ["data: an autoencoder here rebuilds numbers (pixels, features), not token ids; pick an image "
                "dataset"]
    ae, shape, n = spec.autoencoder, data.input_shape, len(data.x_train)
    size = code_size(ae)
    what = (f"a mean and a log-variance for each of the {ae.latent_dim} code numbers" if ae.kind == "variational"
            else f"the code ({ae.latent_dim} numbers)")
    found = _stack_problems(spec, ENCODER, shape, (size,), what, n, False,
                            f"end with a Linear layer of {size} units")
    found += _stack_problems(spec, DECODER, (ae.latent_dim,), shape, "an example shaped like the data", n, True,
                             f"end with a Linear layer of {math.prod(shape)} units")
    if recon_loss(spec, data).name == "recon_bce" and not unit_range(data):
        found.append(f"loss: binary cross-entropy needs values in [0, 1], but this data runs from "
                     f"{data.x_train.min():.3g} to {data.x_train.max():.3g}; set the preprocessing to unit [0, 1] "
                     "or use the squared error")
    return found


def default_networks(data: Dataset, group: str) -> dict[str, tuple[LayerSpec, ...]]:
    """An MLP each way for the default code (2 numbers): 256 and 64 units for images, 16 for
    small tables; the decoder's flat output is reshaped to the image."""
    n = math.prod(data.input_shape)
    wide, narrow = (256, 64) if n > 16 else (16, 16)
    flat = (LayerSpec.make("flatten"),) if len(data.input_shape) > 1 else ()
    hidden = lambda a, b: (LayerSpec.make("linear", units=a), LayerSpec.make("relu"),
                           LayerSpec.make("linear", units=b), LayerSpec.make("relu"))
    size = code_size(AutoencoderSpec())
    return {ENCODER: flat + hidden(wide, narrow) + (LayerSpec.make("linear", units=size),),
            DECODER: hidden(narrow, wide) + (LayerSpec.make("linear", units=n),)}


ARCHITECTURES = {"mlp": "MLP (Linear layers)", "conv": "conv (Conv2d down, ConvTranspose2d up)"}
CONV_CHANNELS = (16, 32)     # the conv encoder's channels after each stride-2 layer (the decoder: reversed)


def architecture(spec: RunSpec) -> str:
    """"conv" when the encoder has a Conv2d layer, else "mlp"."""
    return "conv" if any(l.kind == "conv2d" for l in spec.net(ENCODER).layers) else "mlp"


def conv_networks(data: Dataset) -> dict[str, tuple[LayerSpec, ...]]:
    """A conv encoder and decoder for images: two Conv2d 3x3 stride 2 (each halves the map,
    rounding up: 28 -> 14 -> 7), a Linear to the code; back, a Linear to the smallest maps,
    Unflatten, and two ConvTranspose2d 3x3 stride 2 whose output padding makes each double back
    to the size before (7 -> 14 -> 28), the last to the image's channels (logits or values)."""
    if len(data.input_shape) != 3:
        raise ValueError("a conv autoencoder needs images (channels × height × width); pick an image dataset")
    c, h, w = data.input_shape
    sizes = [(h, w)]
    for _ in CONV_CHANNELS:
        sizes.append(tuple((n + 1) // 2 for n in sizes[-1]))           # stride 2, kernel 3, padding 1
    L = LayerSpec.make
    enc: list[LayerSpec] = []
    for ch in CONV_CHANNELS:
        enc += [L("conv2d", channels=ch, kernel=3, stride=2, padding=1), L("relu")]
    enc += [L("flatten"), L("linear", units=code_size(AutoencoderSpec()))]
    (hs, ws), top = sizes[-1], CONV_CHANNELS[-1]
    dec = [L("linear", units=top * hs * ws), L("relu"), L("unflatten", channels=top, height=hs, width=ws)]
    outs = (*CONV_CHANNELS[-2::-1], c)                                   # 16, then the image's channels
    for i, ch in enumerate(outs):
        target = sizes[-2 - i][0]
        dec.append(L("convtranspose2d", channels=ch, kernel=3, stride=2, padding=1,
                     output_padding=target - 2 * sizes[-1 - i][0] + 1))  # (n-1)*2 - 2 + 2 + op + 1 = target
        if i < len(outs) - 1:
            dec.append(L("relu"))
    return {ENCODER: tuple(enc), DECODER: tuple(dec)}


def networks_for(data: Dataset, group: str, arch: str) -> dict[str, tuple[LayerSpec, ...]]:
    """The default encoder and decoder of an architecture (ARCHITECTURES) for this data."""
    return conv_networks(data) if arch == "conv" else default_networks(data, group)


def fit_code(spec: RunSpec, **changes) -> RunSpec:
    """The spec with spec.autoencoder changed (kind, latent_dim, beta) and the encoder's last
    Linear layer sized to the new code (a decoder's first layer takes any input size)."""
    ae = replace(spec.autoencoder, **changes)
    layers = spec.net(ENCODER).layers
    last = max((i for i, l in enumerate(layers) if l.kind == "linear"), default=None)
    if last is not None:
        layers = (*layers[:last], LayerSpec(layers[last].kind, {**layers[last].params, "units": code_size(ae)}),
                  *layers[last + 1:])
    enc = replace(spec.net(ENCODER), layers=layers)
    return spec.with_(autoencoder=ae, networks={**spec.networks, ENCODER: enc})


# ---------------------------------------------------------------- the run
class AutoencoderRun(SeveralOptimizers):
    """An encoder and a decoder, one optimizer each, one dataset; stepped deterministically."""

    def __init__(self, spec: RunSpec, data: Dataset, device: torch.device):
        from ..run import _SEED_LOCK, eval_cadence
        self.spec, self.data, self.device = spec, data, device
        self.ae = spec.autoencoder
        self.variational = self.ae.kind == "variational"
        self.loss = recon_loss(spec, data)
        self.shape = data.input_shape
        with _SEED_LOCK:
            torch.manual_seed(spec.seed)
            self.encoder = build_model(spec.net(ENCODER).layers, self.shape).to(device)
            self.decoder = build_model(spec.net(DECODER).layers, (self.ae.latent_dim,)).to(device)
        self.opt_e = make_optimizer(self.encoder.parameters(), spec.net(ENCODER).optim)
        self.opt_d = make_optimizer(self.decoder.parameters(), spec.net(DECODER).optim)
        self.optimizers = (self.opt_e, self.opt_d)
        self.x = torch.as_tensor(data.x_train, device=device)
        self.x_test = torch.as_tensor(data.x_test, device=device)
        self.labelled = data.task == "classification"
        self.y = torch.as_tensor(data.y_train, device=device) if self.labelled else None
        self.y_test = torch.as_tensor(data.y_test, device=device) if self.labelled else None
        self.n_train = len(self.x)
        self.batch_size = min(spec.batch_size, self.n_train)
        self.steps_per_epoch = max(1, math.ceil(self.n_train / self.batch_size))
        self.total_steps = spec.steps or spec.epochs * self.steps_per_epoch
        self.eval_every = spec.eval_every or eval_cadence(self.steps_per_epoch, self.batch_size,
                                                          self.n_train + 2 * EVAL_N, self.total_steps)
        self._gen = torch.Generator().manual_seed(spec.seed)               # batches and the VAE's draws
        self.baselines = self._baselines()
        self.step_count = 0

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        """role -> network (the run history saves both)."""
        return {ENCODER: self.encoder, DECODER: self.decoder}

    # ------------------------------------------------------------ Steppable
    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean code, log-variance) of a VAE, (code, None) of a plain autoencoder. (B, ...) -> (B, L)."""
        h = self.encoder(x)
        if self.variational:
            return h[:, :self.ae.latent_dim], h[:, self.ae.latent_dim:]
        return h, None

    def losses(self, x: torch.Tensor, sample: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """(reconstruction loss, KL) per example, (B,) each; a VAE's code is drawn when `sample`,
        else its mean (evaluations)."""
        mu, logvar = self.encode(x)
        z = mu
        if logvar is not None and sample:
            eps = torch.randn(mu.shape, generator=self._gen).to(self.device)
            z = mu + (0.5 * logvar).exp() * eps                           # the reparameterisation
        recon = self.loss.per_example(self.decoder(z).flatten(1), x.flatten(1))
        kl = kl_divergence(mu, logvar) if logvar is not None else torch.zeros_like(recon)
        return recon, kl

    def step(self) -> torch.Tensor:
        """One update of both networks on one batch: reconstruction + beta x KL, averaged."""
        if not (self.encoder.training and self.decoder.training):
            self.encoder.train(), self.decoder.train()
        recon, kl = self.losses(self.next_batch(self.x), sample=True)
        loss = (recon + self.ae.beta * kl).mean() if self.variational else recon.mean()
        self.opt_e.zero_grad(set_to_none=True)
        self.opt_d.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_e.step()
        self.opt_d.step()
        self.step_count += 1
        return loss.detach()

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def codes(self, x: torch.Tensor) -> torch.Tensor:
        """The codes (a VAE's mean codes) of examples, in evaluation mode. (B, ...) -> (B, L)."""
        self.encoder.eval()
        return self.encode(x)[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """The rebuilt examples of codes, shaped like the data. (B, L) -> (B, ...)."""
        self.decoder.eval()
        return self.loss.show(self.decoder(z)).reshape(len(z), *self.shape)

    @torch.no_grad()
    def _baselines(self) -> dict:
        """The numbers to beat: the loss of always predicting the mean training example, and the
        kNN accuracy of PCA codes of the raw values at the code's size."""
        mean = self.x.mean(0, keepdim=True).flatten(1)
        if self.loss.name == "recon_bce":                                 # a logit whose sigmoid is the mean
            m = mean.clamp(1e-4, 1 - 1e-4)
            mean = torch.log(m / (1 - m))
        x = self.x_test[:EVAL_N].flatten(1)
        out = {"mean_loss": float(self.loss.per_example(mean.expand_as(x), x).mean())}
        if self.labelled:
            a, b = pca_codes(self.data.x_train, self.data.x_test[:EVAL_N], self.ae.latent_dim)
            out["pca_knn_acc"] = knn_accuracy(torch.as_tensor(a), torch.as_tensor(self.data.y_train),
                                              torch.as_tensor(b), torch.as_tensor(self.data.y_test[:EVAL_N]))
        return out

    def evaluate(self, full: bool = False) -> dict:
        with torch.no_grad():
            self.encoder.eval(), self.decoder.eval()
            row = {"step": self.step_count, "epoch": round(self.epoch, 4), "lr": self.lr}
            for split, x in (("train", self.x[:EVAL_N]), ("test", self.x_test[:EVAL_N])):
                recon, kl = self.losses(x, sample=False)
                row[f"{split}_recon_loss"] = float(recon.mean())
                if self.variational:
                    row[f"{split}_kl"] = float(kl.mean())
                row[f"{split}_loss"] = float((recon + self.ae.beta * kl).mean() if self.variational else recon.mean())
            row |= self.baselines
            if self.labelled:
                row["knn_acc"] = knn_accuracy(self.codes(self.x), self.y, self.codes(self.x_test[:EVAL_N]),
                                              self.y_test[:EVAL_N])
        return row


def _build(spec: RunSpec, data: Dataset, device: torch.device) -> AutoencoderRun:
    return AutoencoderRun(spec, data, device)


def _views():
    from ..autoencoder_views import autoencoder_views
    return autoencoder_views()


def _export(spec: RunSpec) -> str:
    from ..autoencoder_export import autoencoder_script
    return autoencoder_script(spec)


register(Task(TASK, "Autoencoder", "An encoder squeezes each example into a short code and a decoder rebuilds it; "
              "no labels needed.", "classification", _build, check, default_networks, roles=(ENCODER, DECODER),
              views=_views, export=_export))
