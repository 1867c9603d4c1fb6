"""Take a run away: a standalone PyTorch script for a spec, the weights, the metrics as CSV.

The script rebuilds the same data (same seed, split and preprocessing), the same
nn.Sequential (same initial weights: torch.manual_seed then the same constructors), the
same optimizer and the same batch order, so it reproduces the playground's numbers for
networks without dropout.
"""
from __future__ import annotations

import csv
import inspect
import io

import numpy as np
import torch
from torch import nn

from .build import infer_shapes
from .data import DATASETS, load_dataset
from .init import script_code
from .layers import LAYERS
from .optim import LOSSES, OPTIMIZERS, SCHEDULE_CODE, resolve_loss
from .run import output_units
from .spec import LayerSpec, RunSpec


def weights_bytes(model: nn.Module) -> bytes:
    """The state_dict as a .pt file (load it with torch.load(..., weights_only=True))."""
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, buf)
    return buf.getvalue()


def load_weights(model: nn.Module, data: bytes) -> None:
    """Load weights from bytes safely (weights_only: no code in the file can run)."""
    state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    model.load_state_dict(state)


CSV_FIRST = ("step", "epoch", "time_s", "lr")
CSV_MEASURES = ("loss", "acc", "precision", "recall", "f1", "mse", "r2")


def csv_columns(names: list[str]) -> list[str]:
    """The metrics CSV's column order, the same for every run of a task: step, epoch, time_s
    (training seconds), lr; then train_ and test_ of loss, acc, precision, recall, f1, mse, r2
    (those the task measures); then any other column by name."""
    known = [*CSV_FIRST, *(f"{split}_{m}" for m in CSV_MEASURES for split in ("train", "test"))]
    return [c for c in known if c in names] + sorted(c for c in names if c not in known)


def metrics_csv(evals: dict[str, list]) -> str:
    """Evaluation columns (a RunView.evals) as CSV text, one row per evaluation, the columns
    in csv_columns' order."""
    cols = csv_columns(list(evals))
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(cols)
    for row in zip(*(evals[c] for c in cols)):
        w.writerow(row)
    return out.getvalue()


# ---------------------------------------------------------------- the script
def _array(a: np.ndarray) -> str:
    return "np.array(" + np.array2string(np.round(a, 6), separator=", ", threshold=10**9,
                                         max_line_width=100, floatmode="maxprec") + f", dtype=np.{a.dtype})"


_SPLIT = '''
    idx = np.random.default_rng(SEED).permutation(len(x))          # shuffle with the seed, then cut
    n_test = min(max(1, int(round(len(x) * TEST_FRACTION))), len(x) - 1)
    x_test, y_test, x_train, y_train = x[idx[:n_test]], y[idx[:n_test]], x[idx[n_test:]], y[idx[n_test:]]
'''
_SUBSAMPLE = '''
    if len(x) > N_SAMPLES:                                          # the playground's subset
        keep = np.random.default_rng(SEED + 1).permutation(len(x))[:N_SAMPLES]
        x, y = x[keep], y[keep]
'''
_PREPROCESS = {
    "none": "",
    "unit": "    x_train, x_test = (x_train - LO) / (HI - LO), (x_test - LO) / (HI - LO)   # scale to [0, 1]\n",
    "symmetric": "    x_train, x_test = (x_train - LO) / (HI - LO) * 2 - 1, (x_test - LO) / (HI - LO) * 2 - 1   # [-1, 1]\n",
    "standardize": ("    axes = {2: (0,), 3: (0, 1), 4: (0, 2, 3)}[x_train.ndim]   # per feature / channel, on the training set\n"
                    "    mean, std = x_train.mean(axis=axes, keepdims=True), x_train.std(axis=axes, keepdims=True)\n"
                    "    std[std == 0] = 1.0\n"
                    "    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std\n"),
}
def _data_code(spec: RunSpec) -> str:
    """Source of load_data() -> (x_train, y_train, x_test, y_test) for the spec's dataset."""
    info, d = DATASETS[spec.data.name], spec.data
    if info.source:
        how = info.default_preprocessing if d.preprocessing == "auto" else d.preprocessing
        lo, hi = info.value_range or ("x_train.min()", "x_train.max()")
        source = "".join(f"    {line}\n" for line in info.source.splitlines())
        body = (source +
                "    x, y = x.astype(np.float32), y.astype(np.int64)\n"
                + (_SUBSAMPLE if "n_samples" in info.options else "") + _SPLIT
                + (f"    LO, HI = {lo}, {hi}\n" if how in ("unit", "symmetric") else "")
                + _PREPROCESS[how])
        return ("def load_data():\n"
                f'    """{info.label}, as the playground prepares it."""\n{body}'
                "    return x_train, y_train, x_test, y_test\n")
    # generated or local data: embed the exact arrays the playground trained on (small sets),
    # or point at the folder for data read from disk
    data = load_dataset(d, spec.seed)
    if data.x_train.size + data.x_test.size > 200_000:
        return ("def load_data():\n"
                f'    """{info.label}: {d.path or "generated data"} - too large to embed; load it with\n'
                '    the playground\'s engine: from engine.data import make_dataset."""\n'
                "    from engine.data import make_dataset\n    from engine.spec import DataSpec\n"
                f"    d = make_dataset(DataSpec(**{_data_kwargs(spec)}), SEED)\n"
                "    return d.x_train, d.y_train, d.x_test, d.y_test\n")
    return ("def load_data():\n"
            f'    """{info.label}: the exact arrays the playground generated (seed {spec.seed})."""\n'
            f"    x_train = {_array(data.x_train)}\n    y_train = {_array(data.y_train)}\n"
            f"    x_test = {_array(data.x_test)}\n    y_test = {_array(data.y_test)}\n"
            "    return x_train, y_train, x_test, y_test\n")


def _packages(spec: RunSpec) -> list[str]:
    """Packages the script's load_data imports beyond torch and numpy (from the dataset's source)."""
    words = DATASETS[spec.data.name].source.split()
    if len(words) < 2 or words[0] not in ("from", "import"):
        return []
    top = words[1].split(".")[0]
    return [{"sklearn": "scikit-learn"}.get(top, top)]


def _data_kwargs(spec: RunSpec) -> str:
    from dataclasses import asdict
    return repr(asdict(spec.data))


def helper_source(layers: tuple[LayerSpec, ...]) -> str:
    """Source of the classes the layers' export lines construct (engine.layers.sequence.Recurrent,
    ...), each once in first-use order; they need only math, torch and nn."""
    classes = dict.fromkeys(c for layer in layers for c in LAYERS[layer.kind].helpers)
    return "\n\n".join(inspect.getsource(c) for c in classes)


def model_source(layers: tuple[LayerSpec, ...], input_shape: tuple[int, ...]) -> str:
    """The `nn.Sequential(...)` expression of a stack, one constructor a line."""
    lines = "".join(f"    {LAYERS[layer.kind].source(row.in_shape, layer.params)},\n"
                    for layer, row in zip(layers, infer_shapes(layers, input_shape)))
    return f"nn.Sequential(\n{lines})"


def export_script(spec: RunSpec) -> str:
    """A self-contained Python script that trains `spec` with plain PyTorch (its task's export)."""
    from .spec import SpecError
    from .tasks import TASKS
    task = TASKS[spec.task]
    if task.export is None:
        raise SpecError([f"export: {task.label} runs cannot be exported as a script yet"])
    return task.export(spec)


def _left_out(spec: RunSpec) -> str:
    """A docstring line naming the spec's settings the script does not write out ('' when none)."""
    parts = [text for on, text in ((spec.augment.active, "augmentation (engine/augment.py)"),
                                   (spec.early_stop, "early stopping (engine/early_stop.py)"),
                                   (spec.transfer.source, "the pretrained start and frozen layers (transfer: this "
                                                          "script trains the network from scratch)")) if on]
    it = "it" if len(parts) == 1 else "them"
    return (f"\nLeft out: {' and '.join(parts)}; the playground's run used {it}, so its numbers differ."
            if parts else "")


def supervised_script(spec: RunSpec) -> str:
    """The script of a classification or regression run: data, nn.Sequential, loss,
    optimizer and the plain training loop, with the playground's seed and batch order."""
    data = load_dataset(spec.data, spec.seed)
    loss = resolve_loss(spec.loss, spec.task, output_units(spec, data))
    o = spec.optim
    optim = OPTIMIZERS[o.name].code(o, "model.parameters()")
    sched = SCHEDULE_CODE[o.schedule].format(lr=o.lr, step_size=o.step_size, gamma=o.gamma)
    loss_ctor, out_expr, y_expr = LOSSES[loss].code
    one_out = output_units(spec, data) == 1
    if loss == "mse" and spec.task == "classification":
        y_expr = ("(2 * y - 1).float().unsqueeze(-1)" if one_out       # -1 / +1 targets for one output
                  else "nn.functional.one_hot(y, out.shape[-1]).float()")
    helpers = helper_source(spec.layers)
    helpers = f"\n{helpers}\n\n" if helpers else ""                # the layer classes the model uses
    penalty = {"none": "0.0", "l1": f"{spec.reg_rate} * sum(w.abs().sum() for w in weights)",
               "l2": f"{spec.reg_rate} * sum((w * w).sum() for w in weights)"}[
        spec.regularization if spec.reg_rate > 0 else "none"]
    classify = spec.task == "classification"
    if loss == "bce" or loss == "mse" and one_out:
        pred = "(out.squeeze(-1) > 0).long()"
    else:
        pred = "out.argmax(-1)"
    score = (f"(({pred}) == y).float().mean().item()" if classify else "None")
    return f'''"""{spec.name or "A network"} - exported from the deep-learning playground.

Data: {spec.data.name} (seed {spec.seed}, test fraction {spec.data.test_fraction}).
Network, loss, optimizer and batch order are the playground's: with the same seed this
script reproduces its numbers (up to dropout masks). Run: python this_file.py
Needs: {", ".join(["torch", "numpy", *_packages(spec)])}.{_left_out(spec)}
"""
import math

import numpy as np
import torch
from torch import nn

SEED = {spec.seed}
TEST_FRACTION = {spec.data.test_fraction}
N_SAMPLES = {spec.data.n_samples}
BATCH_SIZE = {spec.batch_size}
EPOCHS = {spec.epochs}
STEPS = {spec.steps}                  # if > 0, train this many steps instead of EPOCHS


{_data_code(spec)}
{helpers}
x_train, y_train, x_test, y_test = (torch.as_tensor(a) for a in load_data())
{"" if classify else "y_train, y_test = y_train.reshape(len(y_train), -1), y_test.reshape(len(y_test), -1)"}
torch.manual_seed(SEED)                      # same initial weights as the playground
model = {model_source(spec.layers, data.input_shape)}
{script_code(spec.init)}loss_fn = {loss_ctor}
opt = {optim}
BATCH_SIZE = min(BATCH_SIZE, len(x_train))
STEPS_PER_EPOCH = math.ceil(len(x_train) / BATCH_SIZE)
TOTAL_STEPS = STEPS or EPOCHS * STEPS_PER_EPOCH
sched = {sched}
weights = [p for p in model.parameters() if p.dim() > 1]   # for the L1/L2 penalty


def evaluate(x, y):
    model.eval()
    with torch.no_grad():
        out = model(x)
        return loss_fn({out_expr}, {y_expr}).item(), {score}


gen = torch.Generator().manual_seed(SEED)    # same batch order as the playground
step = 0
while step < TOTAL_STEPS:
    perm = torch.randperm(len(x_train), generator=gen)
    for i in range(0, len(x_train), BATCH_SIZE):
        model.train()
        idx = perm[i:i + BATCH_SIZE]
        x, y = x_train[idx], y_train[idx]
        out = model(x)
        loss = loss_fn({out_expr}, {y_expr})
        opt.zero_grad(set_to_none=True)
        (loss + {penalty}).backward()
        opt.step()
        if sched is not None and step < TOTAL_STEPS:
            sched.step()
        step += 1
        if step >= TOTAL_STEPS:
            break
    train_loss, train_acc = evaluate(x_train, y_train)
    test_loss, test_acc = evaluate(x_test, y_test)
    print(f"step {{step}}  train loss {{train_loss:.4f}}  test loss {{test_loss:.4f}}"
          + (f"  train acc {{train_acc:.3f}}  test acc {{test_acc:.3f}}" if train_acc is not None else ""))

torch.save(model.state_dict(), "model.pt")
print("saved model.pt")
'''
