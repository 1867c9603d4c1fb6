"""An autoencoder run as a standalone PyTorch script: the same data, the encoder and decoder as
nn.Sequential with the same initial weights, the same optimizers and loss, and the plain loop."""
from __future__ import annotations

import math

from .data import load_dataset
from .export import _data_code, _packages, helper_source, model_source
from .optim import OPTIMIZERS
from .spec import RunSpec
from .tasks.autoencoder import DECODER, ENCODER, EVAL_N, K, code_size, recon_loss


def autoencoder_script(spec: RunSpec) -> str:
    data = load_dataset(spec.data, spec.seed)
    loss, ae = recon_loss(spec, data), spec.autoencoder
    shape = data.input_shape
    enc, dec = spec.net(ENCODER), spec.net(DECODER)
    helpers = helper_source(enc.layers + dec.layers)
    vae = ae.kind == "variational"
    steps = spec.steps or spec.epochs * max(1, math.ceil(len(data.x_train) / spec.batch_size))
    return f'''"""{spec.name or "An autoencoder"} - exported from the deep-learning playground's Autoencoders page.

Data: {spec.data.name} (seed {spec.seed}). The encoder squeezes each example {shape} into a code of
{ae.latent_dim} numbers{" (it outputs a mean and a log-variance for each: a variational autoencoder)" if vae else ""};
the decoder rebuilds the example from it. Loss: {loss.label}, summed over the values{f" + {ae.beta} x KL" if vae else ""}.
Same seed, same initial weights and batch order as the playground. Run: python this_file.py
Needs: {", ".join(["torch", "numpy", *_packages(spec)])}.
"""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

SEED = {spec.seed}
TEST_FRACTION = {spec.data.test_fraction}
N_SAMPLES = {spec.data.n_samples}
BATCH_SIZE = {spec.batch_size}
STEPS = {steps}
LATENT = {ae.latent_dim}                 # numbers in the code
VARIATIONAL = {vae}
BETA = {ae.beta}                 # weight of the KL term (variational only)
SHAPE = {shape}


{_data_code(spec)}
{f"{chr(10)}{helpers}{chr(10)}{chr(10)}" if helpers else ""}
x_train, y_train, x_test, y_test = (torch.as_tensor(a) for a in load_data())
torch.manual_seed(SEED)                      # same initial weights as the playground
encoder = {model_source(enc.layers, shape)}   # outputs {code_size(ae)} numbers
decoder = {model_source(dec.layers, (ae.latent_dim,))}
opt_e = {OPTIMIZERS[enc.optim.name].code(enc.optim, "encoder.parameters()")}
opt_d = {OPTIMIZERS[dec.optim.name].code(dec.optim, "decoder.parameters()")}
gen = torch.Generator().manual_seed(SEED)    # batches and the VAE's draws, in the playground's order


def encode(x):
    """(mean code, log-variance), or (code, None) for a plain autoencoder."""
    h = encoder(x)
    return (h[:, :LATENT], h[:, LATENT:]) if VARIATIONAL else (h, None)


def losses(x, sample):
    """(reconstruction loss, KL) per example, each summed over its numbers."""
    mu, logvar = encode(x)
    z = mu
    if VARIATIONAL and sample:
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen)   # reparameterisation
    out, x = decoder(z).flatten(1), x.flatten(1)
    recon = {loss.code}
    kl = 0.5 * (logvar.exp() + mu ** 2 - 1 - logvar).sum(1) if VARIATIONAL else torch.zeros_like(recon)
    return recon, kl


def knn_accuracy(ref, ref_labels, codes, labels, k={K}):
    """Share of codes whose k nearest training codes vote for their label (ties: the nearer)."""
    near = torch.cdist(codes, ref).topk(k, largest=False).indices
    votes = torch.zeros(len(codes), int(ref_labels.max()) + 1)
    votes.scatter_add_(1, ref_labels[near], (1 + 1e-3 * torch.arange(k, 0, -1.0)).expand(len(codes), k))
    return float((votes.argmax(1) == labels).float().mean())


perm, pos = None, len(x_train)
for step in range(1, STEPS + 1):
    if pos >= len(x_train):
        perm, pos = torch.randperm(len(x_train), generator=gen), 0
    x = x_train[perm[pos:pos + BATCH_SIZE]]
    pos += BATCH_SIZE
    recon, kl = losses(x, sample=True)
    loss = (recon + BETA * kl).mean() if VARIATIONAL else recon.mean()
    opt_e.zero_grad(set_to_none=True)
    opt_d.zero_grad(set_to_none=True)
    loss.backward()
    opt_e.step()
    opt_d.step()
    if step % max(1, STEPS // 10) == 0 or step == STEPS:
        encoder.eval(), decoder.eval()
        with torch.no_grad():
            recon, kl = losses(x_test[:{EVAL_N}], sample=False)
            knn = knn_accuracy(encode(x_train)[0], y_train, encode(x_test[:{EVAL_N}])[0], y_test[:{EVAL_N}])
        encoder.train(), decoder.train()
        print(f"step {{step}}  test reconstruction {{recon.mean().item():.4f}}  KL {{kl.mean().item():.4f}}  "
              f"kNN accuracy {{knn:.3f}}")

torch.save({{"encoder": encoder.state_dict(), "decoder": decoder.state_dict()}}, "autoencoder.pt")
print("saved autoencoder.pt")
'''
