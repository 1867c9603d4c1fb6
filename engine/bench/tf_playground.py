"""TensorFlow Playground's own training, ported to numpy, against the engine on its spiral.

`tf_train` is nn.ts's forwardProp / backProp / updateWeights and playground.ts's oneStep,
vectorised over a batch (the same numbers: nn.ts accumulates each example's derivatives and
applies their mean every `batch` examples): weights uniform in [-0.5, 0.5], biases 0.1, tanh
everywhere including the output, error ½(out - label)² with labels -1 / +1, plain SGD, the
training set in one fixed order (TF Playground shuffles it once, when it makes the data).
One TF Playground "epoch" is one pass over the training set, as here.

Its ½ in the error halves the gradient of the mean squared error the engine uses, so TF
Playground's learning rate 0.03 is 0.015 in the preset tf_playground_spiral_6x8.

    python -m engine.bench.tf_playground [--seeds 5] [--epochs 300]
"""
from __future__ import annotations

import argparse

import numpy as np

PRESET = "tf_playground_spiral_6x8"
TARGET = 0.9                     # test accuracy TF Playground reaches on this setting


def tf_train(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
             hidden: tuple[int, ...] = (8,) * 6, lr: float = 0.03, batch: int = 10,
             epochs: int = 300, seed: int = 0) -> list[float]:
    """Test accuracy after each epoch of TF Playground's algorithm; y in {0, 1}."""
    rng = np.random.default_rng(seed)
    sizes = (x_train.shape[1], *hidden, 1)
    ws = [rng.uniform(-0.5, 0.5, (o, i)) for i, o in zip(sizes, sizes[1:])]   # Math.random() - 0.5
    bs = [np.full(o, 0.1) for o in sizes[1:]]                                  # bias = 0.1
    t_train = 2.0 * y_train - 1                                                # labels -1 / +1
    accs = []
    for _ in range(epochs):
        for i in range(0, len(x_train) - len(x_train) % batch, batch):
            hs = [x_train[i:i + batch].astype(np.float64)]
            for w, b in zip(ws, bs):
                hs.append(np.tanh(hs[-1] @ w.T + b))                           # forwardProp
            g = (hs[-1][:, 0] - t_train[i:i + batch])[:, None]                 # d ½(o - t)² / do
            for k in range(len(ws) - 1, -1, -1):                               # backProp
                g = g * (1 - hs[k + 1] ** 2)                                   # dE/dtotalInput
                dw, db = g.T @ hs[k] / batch, g.mean(0)                        # mean over the batch
                if k:
                    g = g @ ws[k]
                ws[k] -= lr * dw                                               # updateWeights
                bs[k] -= lr * db
        h = x_test.astype(np.float64)
        for w, b in zip(ws, bs):
            h = np.tanh(h @ w.T + b)
        accs.append(float(((h[:, 0] > 0) == (y_test == 1)).mean()))
    return accs


def engine_train(seed: int = 0, epochs: int = 300) -> list[float]:
    """Test accuracy after each epoch of the engine on the preset, with this seed."""
    from ..presets import load_preset
    from ..run import Run
    run = Run(load_preset(PRESET).with_(seed=seed, epochs=epochs, device="cpu"))
    accs = []
    for _ in range(epochs):
        for _ in range(run.steps_per_epoch):
            run.step()
        accs.append(run.evaluate(full=True)["test_acc"])
    return accs


def first_epoch(accs: list[float], target: float = TARGET) -> int | None:
    """The first epoch (1-based) whose test accuracy reaches target, or None."""
    return next((i + 1 for i, a in enumerate(accs) if a >= target), None)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=300)
    a = ap.parse_args(argv)
    from ..data import load_dataset
    from ..presets import load_preset
    print(f"epochs to {TARGET:.0%} test accuracy on {PRESET} (best test accuracy in {a.epochs} epochs)")
    for seed in range(a.seeds):
        d = load_dataset(load_preset(PRESET).data, seed)
        tf = tf_train(d.x_train, d.y_train, d.x_test, d.y_test, epochs=a.epochs, seed=seed)
        en = engine_train(seed, a.epochs)
        print(f"seed {seed}: TF Playground (numpy port) {first_epoch(tf)} ({max(tf):.3f})   "
              f"engine {first_epoch(en)} ({max(en):.3f})")


if __name__ == "__main__":
    main()
