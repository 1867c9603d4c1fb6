"""GAN: a generator turns noise into samples; a discriminator learns to tell them from real
data; each trains against the other (Goodfellow et al. 2014).

The spec names two networks, `generator` (noise (latent_dim,) -> a sample) and
`discriminator` (a sample -> one score), each with its own optimizer; `spec.gan` holds the
noise, the discriminator steps per generator step and the gradient penalty's weight;
`spec.loss` picks one of GAN_LOSSES. One step of the run is `d_steps` discriminator updates
then one generator update; `only` (set by the Trainer's step command) takes just one side.

Evaluations score the generator's samples from fixed noise against the held-out real data:
the distance (MMD^2, engine/distances.py), for the mixture targets how many modes they
cover, and for digits how sure a digit classifier trained on the real ones is of them.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from .. import torch_internals as internals
from ..build import budget, build_model, infer_shapes
from ..data import Dataset
from ..data.targets import MODE_STD, modes_of
from ..distances import DistanceToReal, bandwidths, mode_counts, modes_covered
from ..layers import dims
from ..optim import LOSSES, LossInfo, make_optimizer
from ..spec import LayerSpec, NetworkSpec, RunSpec
from . import SeveralOptimizers, Task, register

TASK = "gan"
GENERATOR, DISCRIMINATOR = "generator", "discriminator"
EVAL_N = 512                 # generated and held-out real samples each evaluation compares
COLLAPSE_AFTER = 0.2         # collapse is judged once this share of the run is trained ...
COLLAPSE_SPREAD = 0.25       # ... as samples spread less than this share of the real data's spread,
COLLAPSE_IN_MODES = 0.5      #     or, on a mixture, at least this share of them on its modes but
                             #     at most half of the modes covered


@dataclass(frozen=True)
class GanLoss:
    """A GAN objective: what each network minimises, from the discriminator's raw scores
    on real (r) and generated (f) samples."""
    name: str
    label: str
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]     # (r, f) -> the discriminator's loss
    g: Callable[[torch.Tensor], torch.Tensor]                   # f -> the generator's loss
    help: str
    d_code: str                                                 # export: the same, as source over r, f
    g_code: str
    probability: bool = True         # the score is a logit: D(x) = sigmoid(score) is P(real)
    penalty: bool = False            # adds the gradient penalty (spec.gan.gp_weight)


_D_LOG = "F.softplus(-r).mean() + F.softplus(f).mean()"          # -log D(x) - log(1 - D(G(z)))
GAN_LOSSES = {l.name: l for l in (
    GanLoss("non_saturating", "Non-saturating (log D)",
            lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), lambda f: F.softplus(-f).mean(),
            "The discriminator's cross-entropy; the generator maximises log D(G(z)), which keeps its "
            "gradient strong while the discriminator wins (the loss GANs are usually trained with).",
            _D_LOG, "F.softplus(-f).mean()"),
    GanLoss("minimax", "Original minimax",
            lambda r, f: F.softplus(-r).mean() + F.softplus(f).mean(), lambda f: -F.softplus(f).mean(),
            "The generator minimises log(1 - D(G(z))), the game as first written: its gradient vanishes "
            "when the discriminator is sure, so a strong discriminator stalls it.",
            _D_LOG, "-F.softplus(f).mean()"),
    GanLoss("least_squares", "Least squares (LSGAN)",
            lambda r, f: 0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean(), lambda f: 0.5 * ((f - 1) ** 2).mean(),
            "Scores pulled to 1 for real and 0 for generated samples by squared error; gradients do not "
            "vanish far from the boundary.",
            "0.5 * ((r - 1) ** 2).mean() + 0.5 * (f ** 2).mean()", "0.5 * ((f - 1) ** 2).mean()", False),
    GanLoss("hinge", "Hinge",
            lambda r, f: F.relu(1 - r).mean() + F.relu(1 + f).mean(), lambda f: -f.mean(),
            "The discriminator wants real scores above 1 and generated below -1; the generator raises its "
            "samples' scores.", "F.relu(1 - r).mean() + F.relu(1 + f).mean()", "-f.mean()", False),
    GanLoss("wgan_gp", "Wasserstein + gradient penalty",
            lambda r, f: f.mean() - r.mean(), lambda f: -f.mean(),
            "The critic's score gap estimates the earth mover's distance; a penalty keeps its gradient "
            "norm near 1 between real and generated samples.", "f.mean() - r.mean()", "-f.mean()", False, True),
)}
for _loss in GAN_LOSSES.values():
    LOSSES.register(LossInfo(_loss.name, _loss.label, _loss.d, _loss.help, tasks=(TASK,)))


def gan_loss(spec: RunSpec) -> GanLoss:
    return GAN_LOSSES["non_saturating" if spec.loss == "auto" else spec.loss]


def gradient_penalty(critic: torch.nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     gen: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): mean of (|grad_x critic(x)| - 1)^2 at points x
    drawn uniformly on the segments between real and generated samples."""
    eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=gen).to(real.device)
    x = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad, = torch.autograd.grad(critic(x).sum(), x, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# ---------------------------------------------------------------- check
def _network_problems(spec: RunSpec, role: str, net: NetworkSpec, in_shape: tuple, want: tuple,
                      n_train: int, flat_ok: bool) -> list[str]:
    rows = infer_shapes(net.layers, in_shape, tokens=False)
    if not rows:
        return [f"{role}: the network needs at least one layer"]
    if errors := [f"{role}: {r.error}" for r in rows if r.error]:
        return errors
    out = rows[-1].out_shape
    if out != want and not (flat_ok and out == (math.prod(want),)):
        what = "a sample shaped like the data" if role == GENERATOR else "one score per sample"
        return [f"{role}: the last layer ({rows[-1].label}) outputs {dims(out)}, but the {role} must output "
                f"{what}, {dims(want)}" + (f" (or {math.prod(want)} values, reshaped)" if flat_ok else "")
                + f"; end with a Linear layer of {math.prod(want)} units"]
    one = RunSpec.make(net.layers, batch_size=spec.batch_size)
    return [f"{role}: {p}" for p in budget(one, rows, n_train)]


def check(spec: RunSpec, data: Dataset) -> list[str]:
    """Every problem of a GAN spec on this data: each network's shapes and budget, the data."""
    if data.token_input:
        return ["data: a GAN here generates numbers (points, pixels), not token ids; pick a 2-D target or "
                "an image dataset"]
    shape = data.input_shape
    return (_network_problems(spec, GENERATOR, spec.net(GENERATOR), (spec.gan.latent_dim,), shape,
                              len(data.x_train), True)
            + _network_problems(spec, DISCRIMINATOR, spec.net(DISCRIMINATOR), shape, (1,), len(data.x_train), False))


def default_networks(data: Dataset, group: str) -> dict[str, tuple[LayerSpec, ...]]:
    """GAN Lab's sizes for 2-D points; wider ones for images (a flat generator output is reshaped)."""
    n = math.prod(data.input_shape)
    width = 64 if n <= 8 else 256
    mlp = lambda out: (LayerSpec.make("linear", units=width), LayerSpec.make("relu"),
                       LayerSpec.make("linear", units=width), LayerSpec.make("relu"), LayerSpec.make("linear", units=out))
    gen = mlp(n) + ((LayerSpec.make("tanh"),) if len(data.input_shape) == 3 else ())
    disc = ((LayerSpec.make("flatten"),) if len(data.input_shape) == 3 else ()) + mlp(1)
    return {GENERATOR: gen, DISCRIMINATOR: disc}


# ---------------------------------------------------------------- the judge of digits
@functools.lru_cache(maxsize=4)
def _judge(key: tuple, x: bytes, y: bytes, shape: tuple, x_test: bytes, y_test: bytes):
    from sklearn.linear_model import LogisticRegression
    as_x = lambda b: np.frombuffer(b, np.float32).reshape(-1, math.prod(shape))
    clf = LogisticRegression(max_iter=2000).fit(as_x(x), np.frombuffer(y, np.int64))
    return clf, float(clf.score(as_x(x_test), np.frombuffer(y_test, np.int64)))


def digit_judge(data: Dataset):
    """A classifier of the real images (logistic regression on the pixels, trained on the
    training split): the 'does it look like a digit' check. Returns (classifier, its held-out
    accuracy); (None, nan) for data without classes."""
    if len(data.input_shape) != 3 or not data.class_names:
        return None, math.nan
    return _judge(id(data), data.x_train.tobytes(), data.y_train.tobytes(), data.input_shape,
                  data.x_test.tobytes(), data.y_test.tobytes())


# ---------------------------------------------------------------- the run
class GanRun(SeveralOptimizers):
    """Two networks, two optimizers, one dataset; stepped deterministically."""

    def __init__(self, spec: RunSpec, data: Dataset, device: torch.device):
        from ..run import _SEED_LOCK, eval_cadence
        self.spec, self.data, self.device = spec, data, device
        self.loss = gan_loss(spec)
        self.shape = data.input_shape
        g = spec.gan
        with _SEED_LOCK:
            torch.manual_seed(spec.seed)
            self.G = build_model(spec.net(GENERATOR).layers, (g.latent_dim,), spec.init).to(device)
            self.D = build_model(spec.net(DISCRIMINATOR).layers, self.shape, spec.init).to(device)
        self.opt_g = make_optimizer(self.G.parameters(), spec.net(GENERATOR).optim)
        self.opt_d = make_optimizer(self.D.parameters(), spec.net(DISCRIMINATOR).optim)
        self.optimizers = (self.opt_g, self.opt_d)
        # each optimizer's own update without its profiling wrapper (engine.run does the same)
        self._raw_step = {id(o): internals.unwrapped(type(o).step) for o in self.optimizers}
        self.real = torch.as_tensor(data.x_train, device=device)
        self.n_train = len(self.real)
        self.batch_size = min(spec.batch_size, self.n_train)
        self.steps_per_epoch = max(1, math.ceil(self.n_train / (self.batch_size * g.d_steps)))
        self.total_steps = spec.steps or spec.epochs * self.steps_per_epoch
        # an evaluation costs about as much as a forward pass of 4 x EVAL_N examples (the distance's kernels)
        self.eval_every = spec.eval_every or eval_cadence(self.steps_per_epoch, self.batch_size, 4 * EVAL_N,
                                                          self.total_steps)
        self._gen = torch.Generator().manual_seed(spec.seed)              # batches and noise
        fixed = torch.Generator().manual_seed(spec.seed + 1)
        self.fixed_noise = self.noise(EVAL_N, fixed)                        # the samples every view shows
        self.eval_real = torch.as_tensor(data.x_test[:EVAL_N], device=device)
        self.distance = DistanceToReal(self.eval_real.flatten(1), bandwidths(self.eval_real.flatten(1)))
        self.floor = self.distance(self.real[:EVAL_N].flatten(1))   # two real samples: as close as it gets
        self.modes = modes_of(spec.data.name)
        self.judge, self.judge_acc = digit_judge(data)
        self.only: str | None = None          # GENERATOR or DISCRIMINATOR: the next steps train only that one
        self.step_count = 0

    @property
    def networks(self) -> dict[str, torch.nn.Module]:
        """role -> network (the run history saves both)."""
        return {GENERATOR: self.G, DISCRIMINATOR: self.D}

    # ------------------------------------------------------------ Steppable
    def noise(self, n: int, gen: torch.Generator | None = None) -> torch.Tensor:
        shape = (n, self.spec.gan.latent_dim)
        z = torch.randn(shape, generator=gen) if self.spec.gan.noise == "gaussian" else torch.rand(shape, generator=gen) * 2 - 1
        return z.to(self.device)

    def generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's samples for noise z, shaped like the data."""
        return self.G(z).reshape(len(z), *self.shape)

    def d_step(self) -> torch.Tensor:
        """One discriminator update on a real batch and a generated one (the generator untouched)."""
        real = self.next_batch(self.real)
        with torch.no_grad():
            fake = self.generate(self.noise(len(real), self._gen))
        loss = self.loss.d(self.D(real).squeeze(-1), self.D(fake).squeeze(-1))
        if self.loss.penalty and self.spec.gan.gp_weight > 0:
            loss = loss + self.spec.gan.gp_weight * gradient_penalty(self.D, real, fake, self._gen)
        self._update(self.opt_d, loss)
        return loss.detach()

    def g_step(self) -> torch.Tensor:
        """One generator update: its samples' scores through the discriminator (whose weights
        do not move; its gradients are cleared before its own next update)."""
        loss = self.loss.g(self.D(self.generate(self.noise(self.batch_size, self._gen))).squeeze(-1))
        self._update(self.opt_g, loss)
        return loss.detach()

    def _update(self, opt: torch.optim.Optimizer, loss: torch.Tensor) -> None:
        """opt.zero_grad(set_to_none=True); loss.backward(); opt.step(): the same numbers, the
        update without the wrapper's profiling when nothing hooks the optimizer."""
        opt.zero_grad(set_to_none=True)
        internals.backward(loss)
        if internals.optimizer_hooked(opt):
            opt.step()
        else:
            with torch.no_grad():
                self._raw_step[id(opt)](opt)

    def step(self) -> torch.Tensor:
        """d_steps discriminator updates, then one generator update (or only one side, see
        `only`); returns the last discriminator loss (the generator's when only it trained)."""
        if not (self.G.training and self.D.training):
            self.G.train(), self.D.train()
        loss = None
        if self.only != GENERATOR:
            for _ in range(self.spec.gan.d_steps):
                loss = self.d_step()
        if self.only != DISCRIMINATOR:
            g = self.g_step()
            loss = g if loss is None else loss
        self.step_count += 1
        return loss

    # ------------------------------------------------------------ evaluation
    @torch.no_grad()
    def samples(self, z: torch.Tensor | None = None) -> torch.Tensor:
        self.G.eval()
        return self.generate(self.fixed_noise if z is None else z)

    @torch.no_grad()
    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """The discriminator's output: P(real) for the log losses, its raw score otherwise."""
        self.D.eval()
        s = self.D(x).squeeze(-1)
        return torch.sigmoid(s) if self.loss.probability else s

    def evaluate(self, full: bool = False) -> dict:
        fake = self.samples()
        with torch.no_grad():
            self.D.eval()
            r, f = self.D(self.eval_real).squeeze(-1), self.D(fake).squeeze(-1)
            show = torch.sigmoid if self.loss.probability else (lambda s: s)
            row = {"step": self.step_count, "epoch": round(self.epoch, 4), "lr": self.lr,
                   "d_loss": float(self.loss.d(r, f)), "g_loss": float(self.loss.g(f)),
                   "d_real": float(show(r).mean()), "d_fake": float(show(f).mean()),
                   "distance": self.distance(fake.flatten(1)),
                   "distance_floor": self.floor}
        flat_real, flat_fake = self.eval_real.flatten(1), fake.flatten(1)
        spread = lambda x: float((x - x.mean(0)).norm(dim=1).mean())
        row["spread"] = spread(flat_fake) / max(spread(flat_real), 1e-9)
        if self.modes is not None:
            counts = mode_counts(fake.cpu().numpy(), self.modes, MODE_STD)
            row |= {"modes_covered": modes_covered(counts, len(fake)), "modes_total": len(self.modes),
                    "in_modes": float(counts.sum() / len(fake))}
        if self.judge is not None:
            p = self.judge.predict_proba(flat_fake.cpu().numpy())
            seen = np.bincount(p.argmax(1), minlength=p.shape[1])
            row |= {"judge_confidence": float(p.max(1).mean()), "judge_acc": self.judge_acc,
                    "classes_seen": int((seen >= 0.01 * len(p)).sum())}
        row["collapsed"] = int(collapsed(row, self.total_steps))
        return row


def collapsed(row: dict, total_steps: int) -> bool:
    """Mode collapse, judged once COLLAPSE_AFTER of the run is trained: samples spread less
    than COLLAPSE_SPREAD of the real data's, or, on a mixture, samples that sit on its modes
    (COLLAPSE_IN_MODES of them) but on at most half of them. Samples spread between the modes
    are blurry, not collapsed."""
    if row["step"] < COLLAPSE_AFTER * total_steps:
        return False
    few_modes = ("modes_total" in row and row["modes_covered"] <= row["modes_total"] // 2
                 and row["in_modes"] >= COLLAPSE_IN_MODES)
    return few_modes or row["spread"] < COLLAPSE_SPREAD


def diagnosis(row: dict) -> str:
    """One sentence on the generator's state from an evaluation row; '' when nothing to say."""
    if not row.get("collapsed"):
        return ""
    if "modes_total" in row:
        return (f"Mode collapse: the generated samples cover only {row['modes_covered']} of the "
                f"{row['modes_total']} modes. The generator found a few outputs the discriminator accepts and "
                "stays there; try the non-saturating or Wasserstein loss, a lower discriminator learning rate, "
                "or more noise dimensions.")
    return (f"Mode collapse: the generated samples spread only {row['spread']:.0%} as widely as the real "
            "ones, so the generator makes nearly the same output for every noise vector.")


def _build(spec: RunSpec, data: Dataset, device: torch.device) -> GanRun:
    return GanRun(spec, data, device)


def _views():
    from ..gan_views import gan_views
    return gan_views()


def _export(spec: RunSpec) -> str:
    from ..gan_export import gan_script
    return gan_script(spec)


register(Task(TASK, "GAN", "A generator learns to make samples a discriminator cannot tell from real data.",
              "any", _build, check, default_networks, roles=(GENERATOR, DISCRIMINATOR), views=_views,
              export=_export))
