"""Every number of the hand-written backprop walk-throughs against torch.autograd."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from engine.teach import backprop as bp
from engine.teach.backprop import XOR_T, XOR_X, XorNet


@pytest.mark.parametrize("vals", [(0.5, -1.0, 2.0, 0.3, -0.2, 0.1, 0.05), (1.5, 2.0, -1.0, -0.7, 0.4, 0.9, 0.2),
                                  (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.1)])
def test_neuron_step_matches_autograd(vals):
    x1, x2, t, w1, w2, b, lr = vals
    s = bp.NeuronStep(x1, x2, t, w1, w2, b, lr)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in (("w1", w1), ("w2", w2), ("b", b))}
    y = p["w1"] * x1 + p["w2"] * x2 + p["b"]
    y.retain_grad()
    loss = torch.nn.functional.mse_loss(y, torch.tensor(t, dtype=torch.float64))   # (y - t)^2
    loss.backward()
    assert s.y == pytest.approx(y.item(), abs=1e-12)
    assert s.loss == pytest.approx(loss.item(), abs=1e-12)
    assert s.dL_dy == pytest.approx(y.grad.item(), abs=1e-12)
    for k in ("w1", "w2", "b"):
        assert s.grads[k] == pytest.approx(p[k].grad.item(), abs=1e-12)
    opt = torch.optim.SGD(p.values(), lr=lr)
    opt.step()
    for k in ("w1", "w2", "b"):
        assert s.updated[k] == pytest.approx(p[k].item(), abs=1e-12)
    nxt = s.next()
    assert (nxt.w1, nxt.w2, nxt.b) == (s.updated["w1"], s.updated["w2"], s.updated["b"])


def _torch_net(net: XorNet):
    return {k: torch.tensor(np.array(v, dtype=np.float64), requires_grad=True)
            for k, v in (("W", net.W), ("b", net.b), ("v", net.v), ("c", net.c))}


def _torch_forward(p, x, t, kind):
    z_h = x @ p["W"].T + p["b"]
    h = torch.sigmoid(z_h)
    z_o = h @ p["v"] + p["c"]
    o = torch.sigmoid(z_o)
    for a in (z_h, h, z_o, o):
        a.retain_grad()
    if kind == "mse":
        losses = torch.nn.functional.mse_loss(o, t, reduction="none")
    else:
        losses = torch.nn.functional.binary_cross_entropy(o, t, reduction="none")
    return z_h, h, z_o, o, losses


@pytest.mark.parametrize("kind", list(bp.LOSSES))
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_xor_pass_every_number_matches_autograd(kind, seed):
    net = XorNet.init(seed)
    hand = bp.xor_pass(net, kind)
    x, t = torch.tensor(XOR_X), torch.tensor(XOR_T)
    # batch: the mean loss, its gradient on every parameter, and the SGD update
    p = _torch_net(net)
    z_h, h, z_o, o, losses = _torch_forward(p, x, t, kind)
    loss = losses.mean()
    loss.backward()
    for mine, ref in ((hand.z_h, z_h), (hand.h, h), (hand.z_o, z_o), (hand.o, o), (hand.losses, losses)):
        np.testing.assert_allclose(mine, ref.detach().numpy(), atol=1e-12)
    assert hand.loss == pytest.approx(loss.item(), abs=1e-12)
    g = hand.grad()
    for mine, key in ((g.W, "W"), (g.b, "b"), (g.v, "v"), (g.c, "c")):
        np.testing.assert_allclose(mine, p[key].grad.numpy(), atol=1e-12)
    torch.optim.SGD(p.values(), lr=0.7).step()
    np.testing.assert_allclose(hand.updated(0.7).flat(),
                               np.concatenate([p[k].detach().numpy().ravel() for k in ("W", "b", "v", "c")]),
                               atol=1e-12)
    # per example: each node's gradient of that example's own loss
    for n in range(4):
        p = _torch_net(net)
        z_h, h, z_o, o, losses = _torch_forward(p, x, t, kind)
        losses[n].backward()
        assert hand.dl_do[n] == pytest.approx(o.grad[n].item(), abs=1e-12)
        assert hand.delta_o[n] == pytest.approx(z_o.grad[n].item(), abs=1e-12)
        assert hand.delta_o[n] == pytest.approx(hand.dl_do[n] * hand.do_dz[n], abs=1e-12)
        np.testing.assert_allclose(hand.dl_dh[n], h.grad[n].numpy(), atol=1e-12)
        np.testing.assert_allclose(hand.delta_h[n], z_h.grad[n].numpy(), atol=1e-12)
        np.testing.assert_allclose(hand.g_W[n], p["W"].grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(hand.g_b[n], p["b"].grad.numpy(), atol=1e-12)
        np.testing.assert_allclose(hand.g_v[n], p["v"].grad.numpy(), atol=1e-12)
        assert hand.g_c[n] == pytest.approx(p["c"].grad.item(), abs=1e-12)


def test_xor_train_matches_torch_sgd_and_learns():
    net0 = XorNet.init(3)
    net, history = bp.xor_train(net0, 2.0, 1000, "mse")
    p = _torch_net(net0)
    opt = torch.optim.SGD(p.values(), lr=2.0)
    x, t = torch.tensor(XOR_X), torch.tensor(XOR_T)
    ref = []
    for _ in range(1000):
        opt.zero_grad()
        loss = _torch_forward(p, x, t, "mse")[-1].mean()
        ref.append(loss.item())
        loss.backward()
        opt.step()
    np.testing.assert_allclose(history, ref, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(net.flat(), np.concatenate([p[k].detach().numpy().ravel() for k in "Wbvc"]),
                               rtol=1e-8, atol=1e-10)
    assert history[-1] < 0.05 < history[0]
    o = bp.xor_forward(net, XOR_X)[3]
    assert ((o > 0.5) == (XOR_T > 0.5)).all()          # it has learnt XOR


def test_flat_round_trip_and_grid():
    net = XorNet.init(5)
    assert XorNet.from_flat(net.flat()).flat() == net.flat() and len(XorNet.NAMES) == 9
    axis, o = bp.xor_grid(net, n=11)
    assert axis.shape == (11,) and o.shape == (11, 11)
    # row index = x2, column = x1
    assert o[0, -1] == pytest.approx(bp.xor_forward(net, np.array([[axis[-1], axis[0]]]))[3][0])


def test_saturated_cross_entropy_matches_torch_clamping():
    """Huge weights saturate the output at exactly 0 or 1: the hand-written loss and gradient
    clamp like torch's binary_cross_entropy instead of becoming inf/NaN."""
    net = XorNet.from_flat([40.0, -40.0, -40.0, 40.0, 0.0, 0.0, 60.0, 60.0, -10.0])
    hand = bp.xor_pass(net, "bce")
    p = _torch_net(net)
    losses = _torch_forward(p, torch.tensor(XOR_X), torch.tensor(XOR_T), "bce")[-1]
    losses.mean().backward()
    assert np.isfinite(hand.losses).all()
    np.testing.assert_allclose(hand.losses, losses.detach().numpy(), atol=1e-9)
    np.testing.assert_allclose(hand.grad().flat(), np.concatenate([p[k].grad.numpy().ravel() for k in "Wbvc"]),
                               atol=1e-9)


def test_the_tables_a_page_shows_carry_the_checked_numbers():
    from viz import backprop as vz
    p = bp.xor_pass(XorNet.init(2), "bce")
    rows = {r["quantity"]: r["value"] for r in vz.xor_chain_rows(p, 2)}
    assert rows["δ_o = ∂l/∂z_o"] == pytest.approx(p.delta_o[2], abs=1e-6)
    assert rows["∂l/∂w12"] == pytest.approx(p.g_W[2, 0, 1], abs=1e-6)
    assert rows["∂l/∂b2"] == pytest.approx(p.g_b[2, 1], abs=1e-6)
    upd = {r["parameter"]: r for r in vz.xor_update_rows(p, 0.5)}
    assert upd["v2"]["mean ∂L/∂p"] == pytest.approx(p.grad().v[1], abs=1e-5)
    assert upd["c"]["new value"] == pytest.approx(p.updated(0.5).c, abs=1e-4)
    s = bp.NeuronStep(0.5, -1.0, 2.0, 0.3, -0.2, 0.1, 0.05)
    w2 = vz.neuron_rows(s)[1]
    assert w2["with the numbers"].endswith(f"= {s.grads['w2']:.4f}".replace("-", "−"))
    assert w2["update: p − lr · ∂L/∂p"].endswith(f"= {s.updated['w2']:.4f}".replace("-", "−"))


def test_loss_figure_is_thinned_but_keeps_the_last_point():
    from viz.backprop import loss_figure
    fig = loss_figure([1.0 / (i + 1) for i in range(10_001)], "mse")
    x = list(fig.data[0].x)
    assert len(x) <= 2002 and x[0] == 0 and x[-1] == 10_000
    assert fig.layout.title.text and fig.layout.xaxis.title.text and fig.layout.yaxis.title.text
