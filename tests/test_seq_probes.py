"""Inside sequence models: hand-unrolled gates reproduce the layers' states, connectivity equals
autograd's gradient and respects causality, gradients through time, the embedding map."""
import numpy as np
import pytest
import torch

from engine.build import build_model
from engine.probes.sequence import connectivity, embedding_map, step_states, time_gradients
from engine.spec import LayerSpec

L = LayerSpec.make


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_hand_unrolled_gates_give_the_layers_own_states(cell):
    torch.manual_seed(0)
    model = build_model((L("embedding", vocab=10, dim=5), L(cell, hidden=7), L("linear", units=10)), (9,))
    x = torch.randint(1, 10, (1, 9))
    (s,) = step_states(model, x)
    assert s.states.shape == (9, 7) and s.label == cell.upper()
    if cell == "rnn":
        assert s.gates == {}
        return
    np.testing.assert_allclose(s.gates["state"], s.states, atol=1e-5)
    names = {"lstm": {"input", "forget", "cell", "output"}, "gru": {"reset", "update", "new"}}[cell]
    assert names | {"state"} == set(s.gates) and all(g.shape == (9, 7) for g in s.gates.values())
    assert all(0 <= s.gates[g].min() and s.gates[g].max() <= 1 for g in names - {"cell", "new"})


def test_connectivity_is_autograds_gradient_and_a_causal_model_ignores_later_steps():
    torch.manual_seed(1)
    model = build_model((L("embedding", vocab=12, dim=4), L("lstm", hidden=6), L("linear", units=12)), (8,))
    x = torch.randint(1, 12, (1, 8))
    got = connectivity(model, x, position=4, target=3)
    emb = model[0](x).detach()
    jac = torch.autograd.functional.jacobian(lambda e: model[2](model[1](e))[0, 4, 3], emb)   # (1, T, dim)
    np.testing.assert_allclose(got, jac[0].norm(dim=-1).numpy(), rtol=1e-5, atol=1e-7)
    assert np.all(got[5:] == 0) and np.all(got[:5] > 0)                # step 4 cannot see steps 5..7
    clf = build_model((L("embedding", vocab=12, dim=4), L("gru", hidden=6, sequence=False),
                       L("linear", units=3)), (8,))
    assert connectivity(clf, x).shape == (8,)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_gradient_through_time_reaches_every_step_and_matches_the_layers_own_backward(cell):
    torch.manual_seed(2)
    model = build_model((L("embedding", vocab=6, dim=4), L(cell, hidden=5, sequence=False),
                         L("linear", units=3)), (12,))
    x, y = torch.randint(1, 6, (1, 12)), torch.tensor([2])
    got = time_gradients(model, x, y, torch.nn.functional.cross_entropy)
    assert got.shape == (12,) and np.all(got > 0)                        # through the later states
    # the hand-unrolled graph is torch's layer: the gradients reaching the input vectors agree
    e = model[0](x).detach().requires_grad_(True)
    torch.nn.functional.cross_entropy(model[2](model[1](e)), y).backward()
    e2 = model[0](x).detach().requires_grad_(True)
    from engine.probes.sequence import unroll
    states, _ = unroll(model[1].rnn, e2[0])
    torch.nn.functional.cross_entropy(model[2](states[-1][None]), y).backward()
    np.testing.assert_allclose(e2.grad.numpy(), e.grad.numpy(), rtol=1e-4, atol=1e-7)


def test_the_embedding_map_projects_and_finds_neighbours():
    torch.manual_seed(3)
    model = build_model((L("embedding", vocab=8, dim=6), L("lstm", hidden=4), L("linear", units=8)), (5,))
    with torch.no_grad():
        model[0].weight[3] = model[0].weight[5] * 2               # same direction: nearest by cosine
    m = embedding_map(model, k=2)
    assert m.points.shape == (8, 2) and 0 < m.explained[1] <= m.explained[0] <= 1
    assert m.neighbours[3][0] == 5 and m.neighbours[5][0] == 3 and all(i not in n for i, n in enumerate(m.neighbours))


@pytest.mark.parametrize("cell", ["lstm", "gru", "rnn"])
def test_rows_at_once_equal_one_at_a_time_and_leave_no_gradients(cell):
    """connectivity_rows / time_gradient_rows (P copies of one sequence in one batch) give the
    one-prediction probes' numbers row by row; the batched unroll gives each sequence's states."""
    from engine.probes.sequence import connectivity_rows, time_gradient_rows, unroll
    torch.manual_seed(4)
    model = build_model((L("embedding", vocab=9, dim=4), L(cell, hidden=5), L("linear", units=9)), (6,))
    x = torch.randint(1, 9, (1, 6))
    positions, targets = [0, 2, 5], [3, 1, 7]
    rows = connectivity_rows(model, x, positions, targets)
    for r, (p, t) in zip(rows, zip(positions, targets)):
        np.testing.assert_allclose(r, connectivity(model, x, position=p, target=t), rtol=1e-5, atol=1e-8)
    ys = torch.full((3, 6), -100)
    ys[torch.arange(3), positions] = torch.tensor(targets)
    loss = lambda out, y: torch.nn.functional.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=-100)  # noqa: E731
    got = time_gradient_rows(model, x, ys, loss)
    assert got.shape == (3, 6) and all(p.grad is None for p in model.parameters())
    for r, y in zip(got, ys):
        np.testing.assert_allclose(r, time_gradients(model, x, y[None], loss), rtol=1e-5, atol=1e-9)
    model.zero_grad(set_to_none=True)
    e = torch.randn(2, 6, 4)
    batch, _ = unroll(model[1].rnn, e)
    for b in range(2):
        one, _ = unroll(model[1].rnn, e[b])
        np.testing.assert_allclose(torch.stack(batch)[:, b].detach().numpy(), torch.stack(one).detach().numpy(),
                                   atol=1e-6)
