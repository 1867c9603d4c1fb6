"""RunSpec: one run (task, data, its networks with their optimizers, schedule, seed) as plain,
versioned data.

`to_dict` / `from_dict` round-trip through JSON; `from_dict` refuses unknown keys, wrong
types, values out of range and unknown names with one message per problem, each naming
the field (`data.noise: must be between 0 and 0.5, got 0.9`), and migrates older versions
(MIGRATIONS). Shape problems of a layer stack are the task's to check (`engine.tasks`).
This module imports neither torch nor a registry at import time: names are checked against
the registries when a spec is parsed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable

from .schema import Param, clip, excerpt

SPEC_VERSION = 2
MAIN = "model"                  # the network of a one-network task
REGULARISATION = ("none", "l1", "l2")
DEVICES = ("auto", "cpu", "cuda", "mps")
PREPROCESSING = ("auto", "none", "unit", "symmetric", "standardize")
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)")
SCHEDULES = ("none", "step", "cosine", "onecycle")
INITS = ("default", "xavier", "he", "tf_playground")   # engine/init.py's registry, in its order


class SpecError(ValueError):
    """Raised with every problem found, one sentence each, in `.problems`."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def _f(default: Any, lo: float | None = None, hi: float | None = None,
       choices: tuple = (), help: str = "") -> Any:
    """A dataclass field whose metadata is the Param that validates it."""
    return field(default=default, metadata={"param": Param("", default, lo, hi, choices, help)})


@dataclass(frozen=True)
class LayerSpec:
    kind: str
    params: dict = field(default_factory=dict)   # every parameter of the kind, defaults filled

    @staticmethod
    def make(kind: str, **params: Any) -> "LayerSpec":
        from .layers import LAYERS
        return LayerSpec(kind, {**LAYERS[kind].defaults(), **params})


@dataclass(frozen=True)
class DataSpec:
    name: str = _f("spiral", help="Dataset name from the dataset registry.")
    n_samples: int = _f(500, 10, 100_000, help="Points to generate, or most examples to load.")
    noise: float = _f(0.0, 0.0, 0.5, help="Noise in generated data (0-50%): label/position jitter, a series' noise.")
    test_fraction: float = _f(0.5, 0.1, 0.9, help="Share of examples held out for testing.")
    features: tuple = _f(("x1", "x2"), choices=FEATURES, help="Input features for 2-D data.")
    preprocessing: str = _f("auto", choices=PREPROCESSING,
                            help="none, unit [0,1], symmetric [-1,1], standardize (mean 0, std 1).")
    path: str = _f("", help="Folder (IDX, CIFAR-10), CSV or text file for datasets read from disk.")
    target: str = _f("", help="CSV: the column to predict.")
    window: int = _f(32, 2, 512, help="Sequences: time steps the model reads (a series' past, a text's characters).")
    horizon: int = _f(8, 1, 256, help="Forecasting: how many steps ahead the model predicts.")
    lag: int = _f(10, 1, 200, help="Delay task: how many steps back the symbol to recall was seen.")
    classes: str = _f("", help="Only these classes, by name: '0-4' or '5,7,9' (a range of numbered classes "
                      "or a list); empty = all. The labels are renumbered 0, 1, ... in that order.")
    labels: int = _f(0, 0, 100_000, help="Train on only this many labelled examples (the classes in turn, "
                     "from the shuffled training split); the test split stays whole. 0 = all.")


@dataclass(frozen=True)
class OptimSpec:
    name: str = _f("adam", help="Optimizer from the optimizer registry.")
    lr: float = _f(0.01, 1e-6, 10.0, help="Learning rate: the size of each step downhill.")
    momentum: float = _f(0.0, 0.0, 0.999, help="SGD/RMSprop: share of the last step carried on.")
    nesterov: bool = _f(False, help="SGD: look ahead along the momentum before taking the gradient.")
    beta1: float = _f(0.9, 0.0, 0.9999, help="Adam: decay of the running mean of gradients.")
    beta2: float = _f(0.999, 0.0, 0.99999, help="Adam: decay of the running mean of squared gradients.")
    weight_decay: float = _f(0.0, 0.0, 1.0, help="Shrinks weights toward zero at every step.")
    schedule: str = _f("none", choices=SCHEDULES, help="How the learning rate changes over epochs.")
    step_size: int = _f(10, 1, 10_000, help="step schedule: epochs between learning-rate drops.")
    gamma: float = _f(0.5, 0.01, 1.0, help="step schedule: factor applied at each drop.")


NOISE = ("gaussian", "uniform")


@dataclass(frozen=True)
class GanSpec:
    """The GAN task's settings (engine/tasks/gan.py); other tasks ignore them."""
    latent_dim: int = _f(2, 1, 128, help="Size of the noise vector the generator turns into a sample.")
    noise: str = _f("gaussian", choices=NOISE, help="The noise's distribution: gaussian N(0, 1) or uniform on [-1, 1].")
    d_steps: int = _f(1, 1, 10, help="Discriminator updates per generator update.")
    gp_weight: float = _f(10.0, 0.0, 100.0, help="Wasserstein loss: weight of the gradient penalty.")


AE_KINDS = ("plain", "variational")


@dataclass(frozen=True)
class AutoencoderSpec:
    """The autoencoder task's settings (engine/tasks/autoencoder.py); other tasks ignore them."""
    kind: str = _f("plain", choices=AE_KINDS, help="plain: the encoder outputs the code; variational (VAE): "
                   "a mean and a log-variance per code number, and the code is drawn from them.")
    latent_dim: int = _f(2, 1, 64, help="Numbers in the code the encoder squeezes each example into.")
    beta: float = _f(1.0, 0.0, 20.0, help="VAE: weight of the KL term that pulls the codes toward N(0, 1).")


@dataclass(frozen=True)
class AugmentSpec:
    """Random changes to each training batch of images (engine/augment.py), drawn anew every step
    from the run's seed; evaluation sees the images as they are. All zero = off."""
    flip: float = _f(0.0, 0.0, 1.0, help="Chance that an image is mirrored left to right.")
    shift: int = _f(0, 0, 16, help="Most pixels an image moves up/down and left/right (the gap is filled with 0).")
    rotate: float = _f(0.0, 0.0, 180.0, help="Most degrees an image turns, either way.")
    scale: float = _f(0.0, 0.0, 0.5, help="Most an image zooms in or out, as a share of its size (0.1 = ±10%).")
    noise: float = _f(0.0, 0.0, 1.0, help="Standard deviation of the Gaussian noise added to every pixel.")
    cutout: int = _f(0, 0, 64, help="Side of a square of pixels blanked at a random place (0 = off).")
    mixup: float = _f(0.0, 0.0, 2.0, help="Mixup: blend each image and its label with another's, by a share "
                      "drawn from Beta(a, a) with this a (0 = off; 0.2-0.4 is usual).")

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class TransferSpec:
    """Start the main network from another run's weights (engine/transfer.py): every layer whose
    weights fit, except the last one with weights (the head, new for the new task)."""
    source: str = _f("", help="Where the pretrained weights come from: a run's id in the run history, or a "
                     "state_dict file (.pt) in the data folder. Empty = train from scratch.")
    freeze: tuple = _f((), 0, 255, help="Indices of layers whose pretrained weights stay as they are "
                       "(not trained, not changed by a single bit).")
    body_lr: float = _f(1.0, 0.0, 10.0, help="Learning rate of the pretrained layers that are not frozen, as a "
                        "multiple of the optimizer's (the new head trains at the optimizer's own).")


@dataclass(frozen=True)
class NetworkSpec:
    """One network of a run: its layer stack, input to output, and the optimizer that trains it."""
    layers: tuple = ()                                            # tuple[LayerSpec, ...]
    optim: OptimSpec = field(default_factory=OptimSpec)


@dataclass(frozen=True)
class RunSpec:
    version: int = _f(SPEC_VERSION, 1, SPEC_VERSION, help="Spec format version (older ones are migrated).")
    name: str = _f("", help="A label for this run.")
    task: str = _f("classification", help="The kind of training, from the task registry.")
    data: DataSpec = field(default_factory=DataSpec)
    networks: dict = field(default_factory=lambda: {MAIN: NetworkSpec()})   # role -> NetworkSpec
    loss: str = _f("auto", help="The task's loss; auto picks cross-entropy, BCE or MSE by task and output.")
    regularization: str = _f("none", choices=REGULARISATION, help="Penalty on weight size added to the loss.")
    reg_rate: float = _f(0.0, 0.0, 1.0, help="Strength of the L1/L2 penalty.")
    batch_size: int = _f(32, 1, 4096, help="Examples per gradient step.")
    epochs: int = _f(20, 1, 100_000, help="Passes over the training set.")
    steps: int = _f(0, 0, 10_000_000, help="If > 0, train this many steps instead of `epochs`.")
    until_paused: bool = _f(False, help="Keep training past `epochs` (or `steps`) until Pause, as TensorFlow "
                            "Playground does; they still set the schedule and the evaluations' pace. The "
                            "headless CLI trains the finite length.")
    eval_every: int = _f(0, 0, 100_000, help="Steps between evaluations; 0 = once per epoch (at most every 100 steps), "
                                         "or less often where one would see over 1 example per 8 trained.")
    seed: int = _f(0, 0, 2**31 - 1, help="Seeds data, initial weights and batch order.")
    init: str = _f("default", choices=INITS, help="How Linear and Conv2d weights start: PyTorch's default, "
                   "Xavier/Glorot, He/Kaiming or TensorFlow Playground's uniform ±0.5 (engine/init.py).")
    device: str = _f("auto", choices=DEVICES, help="auto = cuda, then mps, then cpu.")
    gan: GanSpec = field(default_factory=GanSpec)
    autoencoder: AutoencoderSpec = field(default_factory=AutoencoderSpec)
    augment: AugmentSpec = field(default_factory=AugmentSpec)
    transfer: TransferSpec = field(default_factory=TransferSpec)
    early_stop: int = _f(0, 0, 10_000, help="Early stopping: end the run when the test loss has not improved "
                         "for this many evaluations, and put back the weights of its best one (0 = off).")

    @staticmethod
    def make(layers: tuple = (), optim: OptimSpec | None = None, **fields_: Any) -> "RunSpec":
        """A one-network spec: `layers` and `optim` are the main network's."""
        return RunSpec(networks={MAIN: NetworkSpec(tuple(layers), optim or OptimSpec())}, **fields_)

    def net(self, role: str | None = None) -> NetworkSpec:
        """The network playing `role`; by default the main (first) one."""
        return self.networks[role] if role else next(iter(self.networks.values()))

    @property
    def main_role(self) -> str:
        return next(iter(self.networks))

    @property
    def layers(self) -> tuple:
        """The main network's layer stack."""
        return self.net().layers

    @property
    def optim(self) -> OptimSpec:
        """The main network's optimizer."""
        return self.net().optim

    def to_json(self) -> str:
        return json.dumps(to_dict(self), indent=2)

    def with_(self, **changes: Any) -> "RunSpec":
        """A copy with fields changed; `layers=` and `optim=` change the main network."""
        net = {k: changes.pop(k) for k in ("layers", "optim") if k in changes}
        if net:
            role = self.main_role
            changes["networks"] = {**changes.get("networks", self.networks),
                                   role: replace(self.networks[role], **net)}
        return replace(self, **changes)


# ---------------------------------------------------------------- dict <-> spec
def _plain(obj: Any) -> Any:
    if isinstance(obj, (OptimSpec, *SECTIONS.values())):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, tuple):
        return [_plain(v) for v in obj]
    return obj


def to_dict(spec: RunSpec) -> dict:
    d = {f.name: _plain(getattr(spec, f.name)) for f in fields(spec) if f.name != "networks"}
    d["networks"] = {role: {"layers": [{"kind": l.kind, **l.params} for l in n.layers],
                            "optim": _plain(n.optim)} for role, n in spec.networks.items()}
    return d


def _v1_to_v2(raw: dict) -> dict:
    """Version 1 had one network: its `layers` and `optim` sat at the top level."""
    raw = dict(raw)
    net = {k: raw.pop(k) for k in ("layers", "optim") if k in raw}
    raw["networks"] = {MAIN: net}
    raw["version"] = 2
    return raw


MIGRATIONS: dict[int, Callable[[dict], dict]] = {1: _v1_to_v2}    # version -> its successor
# RunSpec's fields that are groups of settings: name -> their dataclass
SECTIONS = {"data": DataSpec, "gan": GanSpec, "autoencoder": AutoencoderSpec, "augment": AugmentSpec,
            "transfer": TransferSpec}


def version_of(raw: dict) -> Any:
    """The version plain data claims; one with top-level `layers` and no `networks` is
    version 1 even where its version is left out (short URLs)."""
    v1 = "networks" not in raw and ("layers" in raw or "optim" in raw)
    return raw.get("version", 1 if v1 else SPEC_VERSION)


def migrate(raw: dict) -> dict:
    """Plain data of any known version, brought to SPEC_VERSION."""
    version = version_of(raw)
    if not isinstance(version, int) or isinstance(version, bool) or version not in MIGRATIONS:
        return raw                         # current, or a bad version: _scalars says what is wrong
    return migrate(MIGRATIONS[version]({**raw, "version": version}))


def _scalars(cls: type, raw: Any, where: str, problems: list[str]) -> dict:
    """Validate the plain fields of dataclass `cls` in `raw`; return the good ones."""
    if not isinstance(raw, dict):
        problems.append(f"{where or 'spec'}: must be an object, got {type(raw).__name__}")
        return {}
    known = {f.name: f for f in fields(cls)}
    out: dict = {}
    for key, value in raw.items():
        name = f"{where}.{key}" if where else key
        f = known.get(key)
        if f is None:
            problems.append(f"{clip(str(name))}: unknown key (known: {', '.join(known)})")
            continue
        p: Param | None = f.metadata.get("param")
        if p is None:
            continue                                   # nested: the caller handles it
        if isinstance(p.default, tuple) and p.lo is not None:      # a list of whole numbers (indices)
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(v, int) and not isinstance(v, bool) and p.lo <= v <= p.hi for v in value):
                problems.append(f"{name}: must be a list of whole numbers from {p.lo:g} to {p.hi:g}, "
                                f"got {excerpt(value)}")
                continue
            value = tuple(value)
        elif isinstance(p.default, tuple):
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                problems.append(f"{name}: must be a list of names, got {excerpt(value)}")
                continue
            bad = [v for v in value if v not in p.choices]
            if bad:
                problems.append(f"{name}: unknown {clip(', '.join(map(str, bad)))} (choose from {', '.join(p.choices)})")
                continue
            if not value:
                problems.append(f"{name}: choose at least one")
                continue
            value = tuple(value)
        elif (msg := p.problem(value)) is not None:
            problems.append(f"{name}: {msg}")
            continue
        out[key] = float(value) if p.type is float else value
    return out


def _layer(raw: Any, where: str, problems: list[str]) -> LayerSpec | None:
    from .layers import LAYERS
    if not isinstance(raw, dict) or not isinstance(raw.get("kind"), str):
        problems.append(f"{where}: must be an object with a 'kind', got {excerpt(raw)}")
        return None
    kind = LAYERS.get(raw["kind"])
    if kind is None:
        problems.append(f"{where}.kind: {LAYERS.unknown(raw['kind'])}")
        return None
    params = kind.defaults()
    schema = {p.name: p for p in kind.params}
    n_before = len(problems)
    for key, value in raw.items():
        if key == "kind":
            continue
        p = schema.get(key)
        if p is None:
            problems.append(f"{clip(f'{where}.{key}')}: unknown parameter for {kind.label} "
                            f"(known: {', '.join(schema) or 'none'})")
        elif (msg := p.problem(value)) is not None:
            problems.append(f"{where}.{key}: {msg}")
        else:
            params[key] = float(value) if p.type is float else value
    return LayerSpec(kind.name, params) if len(problems) == n_before else None


def _network(raw: Any, where: str, problems: list[str]) -> NetworkSpec | None:
    """A network from plain data; messages name its fields under `where` ("networks.model"; ""
    for the one network of a version-1 spec, whose fields sat at the top)."""
    from .optim import OPTIMIZERS
    at = (lambda key: f"{where}.{key}") if where else (lambda key: key)
    if not isinstance(raw, dict):
        problems.append(f"{where}: must be an object with 'layers' and 'optim', got {type(raw).__name__}")
        return None
    n_before = len(problems)
    for key in raw:
        if key not in ("layers", "optim"):
            problems.append(f"{clip(at(str(key)))}: unknown key (known: layers, optim)")
    optim = _scalars(OptimSpec, raw.get("optim", {}), at("optim"), problems)
    if "name" in optim and optim["name"] not in OPTIMIZERS:
        problems.append(f"{at('optim.name')}: {OPTIMIZERS.unknown(optim['name'])}")
    raw_layers = raw.get("layers", [])
    layers: list[LayerSpec] = []
    if not isinstance(raw_layers, list):
        problems.append(f"{at('layers')}: must be a list, got {type(raw_layers).__name__}")
    else:
        for i, rl in enumerate(raw_layers):
            if (l := _layer(rl, f"{at('layers')}[{i}]", problems)) is not None:
                layers.append(l)
        if not raw_layers:
            problems.append(f"{at('layers')}: the network needs at least one layer")
    return NetworkSpec(tuple(layers), OptimSpec(**optim)) if len(problems) == n_before else None


def from_dict(raw: Any) -> RunSpec:
    """Build a RunSpec from plain data of any known version, or raise SpecError listing every
    problem."""
    from .data import DATASETS
    from .tasks import TASKS

    problems: list[str] = []
    v1 = isinstance(raw, dict) and version_of(raw) == 1
    if isinstance(raw, dict):
        raw = migrate(raw)
    top = _scalars(RunSpec, raw, "", problems)
    if not isinstance(raw, dict):
        raise SpecError(problems)
    sections = {name: _scalars(cls, raw.get(name, {}), name, problems) for name, cls in SECTIONS.items()}
    data = sections["data"]
    if "name" in data and data["name"] not in DATASETS:
        problems.append(f"data.name: {DATASETS.unknown(data['name'])}")
    task = TASKS.get(top.get("task", RunSpec.task))
    if task is None:
        problems.append(f"task: {TASKS.unknown(top['task'])}")
    elif "loss" in top and top["loss"] not in task.losses:
        problems.append(f"loss: {task.label} takes {', '.join(task.losses)}, got {excerpt(top['loss'])}")
    raw_nets = raw.get("networks", {})
    networks: dict[str, NetworkSpec] = {}
    if not isinstance(raw_nets, dict):
        problems.append(f"networks: must be an object of role -> network, got {type(raw_nets).__name__}")
    else:
        roles = task.roles if task else tuple(raw_nets)
        for role in raw_nets:
            if role not in roles:
                problems.append(f"{clip(f'networks.{role}')}: {task.label} has no such network (its networks: "
                                f"{', '.join(roles)})")
        for role in roles:
            if role not in raw_nets:
                problems.append(f"networks.{role}: {task.label} needs this network")
            elif (n := _network(raw_nets[role], "" if v1 else f"networks.{role}", problems)) is not None:
                networks[role] = n
    if problems:
        raise SpecError(problems)
    return RunSpec(**top, networks=networks, **{name: cls(**sections[name]) for name, cls in SECTIONS.items()})


MAX_DEPTH = 20                  # a spec nests 4 levels deep; JSON deeper than this is refused
MAX_BYTES = 1_000_000           # a spec file is a few kB; larger files are refused unread


def _depth(raw: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply `raw` nests, counted up to limit + 1 (without recursion)."""
    depth, level = 0, [raw]
    while level and depth <= limit:
        level = [v for x in level for v in (x.values() if isinstance(x, dict) else x if isinstance(x, list) else ())]
        depth += 1
    return depth


def from_json(text: str | bytes) -> RunSpec:
    """A spec from JSON text (or bytes, which must be UTF-8); SpecError with one sentence for
    text that is not UTF-8, not JSON, or nested deeper than any spec."""
    if len(text) > MAX_BYTES:
        raise SpecError([f"spec: {len(text):,} bytes, more than a spec's limit of {MAX_BYTES:,}"])
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        raw = json.loads(text)
    except UnicodeDecodeError:
        raise SpecError(["spec: the file is not UTF-8 text; save it as UTF-8 JSON"]) from None
    except RecursionError:
        raise SpecError([f"spec: the JSON nests deeper than {MAX_DEPTH} levels; a spec nests 4"]) from None
    except json.JSONDecodeError as e:
        raise SpecError([f"spec: not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})"]) from None
    if _depth(raw) > MAX_DEPTH:
        raise SpecError([f"spec: the JSON nests deeper than {MAX_DEPTH} levels; a spec nests 4"])
    return from_dict(raw)
