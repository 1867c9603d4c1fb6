"""A GAN run as a standalone PyTorch script: the same data, the two nn.Sequential networks with
the same initial weights, the same optimizers and loss, and the plain alternating loop."""
from __future__ import annotations

import math

from .data import load_dataset
from .export import _data_code, _packages, helper_source, model_source
from .init import script_code
from .optim import OPTIMIZERS
from .spec import RunSpec
from .tasks.gan import DISCRIMINATOR, GENERATOR, gan_loss


def gan_script(spec: RunSpec) -> str:
    data = load_dataset(spec.data, spec.seed)
    loss, g = gan_loss(spec), spec.gan
    shape = data.input_shape
    nets = spec.net(GENERATOR), spec.net(DISCRIMINATOR)
    helpers = helper_source(nets[0].layers + nets[1].layers)
    noise = (f"torch.randn(n, {g.latent_dim}, generator=rng)" if g.noise == "gaussian"
             else f"torch.rand(n, {g.latent_dim}, generator=rng) * 2 - 1")
    penalty = ""
    if loss.penalty and g.gp_weight > 0:
        penalty = f'''
        eps = torch.rand((len(real),) + (1,) * (real.dim() - 1), generator=gen)
        mix = (eps * real + (1 - eps) * fake).requires_grad_(True)
        grad, = torch.autograd.grad(D(mix).sum(), mix, create_graph=True)
        d_loss = d_loss + {g.gp_weight} * ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()   # gradient penalty'''
    return f'''"""{spec.name or "A GAN"} - exported from the deep-learning playground's GAN lab.

Data: {spec.data.name} (seed {spec.seed}). The generator turns {g.latent_dim}-dimensional {g.noise} noise into
samples shaped {shape}; the discriminator scores samples; loss: {loss.label}. Same seed, same initial
weights as the playground. Run: python this_file.py
Needs: {", ".join(["torch", "numpy", *_packages(spec)])}.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEED = {spec.seed}
TEST_FRACTION = {spec.data.test_fraction}
N_SAMPLES = {spec.data.n_samples}
BATCH_SIZE = {spec.batch_size}
STEPS = {spec.steps or spec.epochs * max(1, math.ceil(len(data.x_train) / (spec.batch_size * g.d_steps)))}
D_STEPS = {g.d_steps}                 # discriminator updates per generator update
SHAPE = {shape}


{_data_code(spec)}
{f"{chr(10)}{helpers}{chr(10)}{chr(10)}" if helpers else ""}
x_train, _, x_test, _ = (torch.as_tensor(a) for a in load_data())
torch.manual_seed(SEED)                      # same initial weights as the playground
G = {model_source(nets[0].layers, (g.latent_dim,))}
{script_code(spec.init, "G")}D = {model_source(nets[1].layers, shape)}
{script_code(spec.init, "D")}opt_g = {OPTIMIZERS[nets[0].optim.name].code(nets[0].optim, "G.parameters()")}
opt_d = {OPTIMIZERS[nets[1].optim.name].code(nets[1].optim, "D.parameters()")}
gen = torch.Generator().manual_seed(SEED)    # batches and noise, in the playground's order
fixed = torch.Generator().manual_seed(SEED + 1)


def noise(n, rng=gen):
    return {noise}


FIXED_NOISE = noise(512, fixed)              # the noise every evaluation generates from


def generate(z):
    return G(z).reshape(len(z), *SHAPE)


def mmd2(x, y):
    """Squared maximum mean discrepancy with gaussian kernels (as the playground measures it)."""
    d = torch.cdist(x, x)
    median = d[torch.triu_indices(len(x), len(x), 1).unbind()].median()
    total = 0.0
    for h in (median / 16, median / 4, median):
        k = lambda a, b: torch.exp(-torch.cdist(a, b) ** 2 / (2 * h * h)).mean()
        total += k(x, x) + k(y, y) - 2 * k(x, y)
    return max(float(total), 0.0)


perm, pos = None, len(x_train)
for step in range(1, STEPS + 1):
    for _ in range(D_STEPS):
        if pos >= len(x_train):
            perm, pos = torch.randperm(len(x_train), generator=gen), 0
        real = x_train[perm[pos:pos + BATCH_SIZE]]
        pos += BATCH_SIZE
        with torch.no_grad():
            fake = generate(noise(len(real)))
        r, f = D(real).squeeze(-1), D(fake).squeeze(-1)
        d_loss = {loss.d_code}{penalty}
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
    f = D(generate(noise(BATCH_SIZE))).squeeze(-1)
    g_loss = {loss.g_code}
    opt_g.zero_grad(set_to_none=True)
    g_loss.backward()
    opt_g.step()
    if step % max(1, STEPS // 10) == 0 or step == STEPS:
        with torch.no_grad():
            distance = mmd2(x_test[:512].flatten(1), generate(FIXED_NOISE).flatten(1))
        print(f"step {{step}}  D loss {{d_loss.item():.4f}}  G loss {{g_loss.item():.4f}}  MMD2 {{distance:.4f}}")

torch.save(G.state_dict(), "generator.pt")
print("saved generator.pt")
'''
