"""Headless CLI: the same RunSpec JSON the page uses, run to the same numbers.

    python -m engine presets
    python -m engine check SPEC.json | --preset NAME
    python -m engine run SPEC.json | --preset NAME [--epochs N | --steps N] [--json]
    python -m engine export SPEC.json | --preset NAME [--format F] [--run ID] [-o FILE]
    python -m engine explain SPEC.json | --preset NAME [--steps N] [--examples K] [--json]
    python -m engine compress SPEC.json | --preset NAME [--steps N] [--sparsity S] [--json]
    python -m engine labels [--labels 10,30,100] [--seeds N] [--pretrain PRESET] [--target PRESET] [--json]
    python -m engine bench [--json] [--quick] [--browser]
    python -m engine runs list [--json] [--page P] | show ID [--json] | export ID... [-o F] | delete ID...

`run` saves its run in the run history (PLAYGROUND_RUNS_DIR, default runs/) like the pages do.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from .schema import clip
from .spec import MAX_BYTES, RunSpec, SpecError, from_json


def _spec(args: argparse.Namespace) -> RunSpec:
    from .presets import load_preset
    if args.preset:
        return load_preset(args.preset)
    if not args.spec:
        raise SpecError(["give a SPEC.json file or --preset NAME"])
    path = Path(args.spec)
    if not path.is_file():
        raise SpecError([f"{clip(str(path))}: no such file"])
    if path.stat().st_size > MAX_BYTES:
        raise SpecError([f"{clip(str(path))}: {path.stat().st_size:,} bytes, more than a spec's limit of {MAX_BYTES:,}"])
    return from_json(path.read_bytes())


def cmd_presets(args: argparse.Namespace) -> int:
    from .presets import all_presets
    for name, spec in all_presets().items():
        print(f"{name:26s} {spec.name}  [{spec.data.name}, {len(spec.layers)} layers, {spec.optim.name}]")
    return 0


def layer_table(spec: RunSpec) -> tuple[list[str], list[str]]:
    """(table lines, problems) for a spec on its dataset."""
    from .build import infer_shapes
    from .run import load_dataset
    from .trainer import validate
    problems = validate(spec)
    try:
        data = load_dataset(spec.data, spec.seed)
    except Exception:  # noqa: BLE001 - the problem is already in `problems`
        return [], problems
    rows = infer_shapes(spec.layers, data.input_shape)
    lines = [f"{'#':>3}  {'layer':24s} {'output shape':18s} {'parameters':>12s}",
             f"{'':>3}  {'input':24s} {str(data.input_shape):18s} {'':>12s}"]
    for r in rows:
        shape = str(r.out_shape) if r.out_shape else "-- does not fit"
        lines.append(f"{r.index + 1:>3}  {r.label:24s} {shape:18s} {r.n_params:>12,}")
    lines.append(f"{'':>3}  {'total':24s} {'':18s} {sum(r.n_params for r in rows):>12,}")
    return lines, problems


def cmd_check(args: argparse.Namespace) -> int:
    spec = _spec(args)
    lines, problems = layer_table(spec)
    print("\n".join(lines))
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    return 1 if problems else 0


def finite(spec: RunSpec) -> RunSpec:
    """The spec with a finite length: one that trains until paused on a page trains its epochs
    (or steps) here, since nothing pauses a headless run; says so on stderr."""
    if not spec.until_paused:
        return spec
    length = f"{spec.steps:,} steps" if spec.steps else f"{spec.epochs:,} epochs"
    print(f"note: this spec trains until paused on the page; the command line has no Pause, so it trains "
          f"its {length} and stops (--epochs N or --steps N to change that)", file=sys.stderr)
    return replace(spec, until_paused=False)


def cmd_run(args: argparse.Namespace) -> int:
    from .trainer import Trainer, validate
    spec = finite(_spec(args))
    if args.epochs:
        spec = replace(spec, epochs=args.epochs, steps=0)
    if args.steps:
        spec = replace(spec, steps=args.steps)
    if problems := validate(spec):
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 1
    from .store import open_store
    store = open_store()
    for warning in (store.warning, store.mirror_error):
        if warning:
            print(f"warning: {warning}", file=sys.stderr)
    if spec.transfer.source.startswith("preset:"):
        print(f"note: pretraining {spec.transfer.source} first (its weights are the start of this run)", file=sys.stderr)
    trainer = Trainer(spec, autostart=True, history=store, page="cli")
    printed = 0
    try:
        while True:
            snap = trainer.wait(lambda s: s.state not in ("preparing", "running")
                                or (s.run and len(s.run.evals.get("step", [])) > printed), timeout=3600)
            run = snap.run
            rows = _rows(run.evals)[printed:] if run else []
            for row in rows:
                if args.json:
                    print(json.dumps(row | {"samples_per_s": round(snap.samples_per_s, 1)}), flush=True)
            printed += len(rows)
            if not args.json and run:
                _progress(run, snap)
            if snap.state not in ("preparing", "running"):
                break
    finally:
        trainer.stop()
    final = {"final": True, "state": snap.state,
             "error": snap.error or (run.message if run and run.status != "done" else ""),
             "run_id": trainer.record_ids()[0] or ""}
    if run and run.status == "done" and run.message:          # how it ended (early stopping)
        final["message"] = run.message
    if (done := getattr(next(iter(trainer.runs()), None), "transfer", None)) is not None:
        final |= {"pretrained_layers": list(done.loaded), "frozen_layers": list(done.frozen)}   # engine/transfer.py
    if trainer.history_error:
        final["history_error"] = trainer.history_error
    if store.mirror_error:
        final["mlflow_error"] = store.mirror_error
    if run:
        final |= {k: v for k, v in run.last_eval.items() if not isinstance(v, list)}
        final["step"], final["epoch"] = run.step, round(run.epoch, 4)
    if args.json:
        print(json.dumps(final), flush=True)
    else:
        print("\n" + "  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                              for k, v in final.items() if k != "final"))
    return 0 if snap.state == "done" else 1


def _rows(cols: dict[str, list]) -> list[dict]:
    n = len(cols.get("step", []))
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def _progress(run, snap) -> None:
    done = run.step / max(1, run.total_steps)
    bar = "#" * int(done * 30)
    last = run.last_eval
    acc = f" test_acc {last['test_acc']:.3f}" if "test_acc" in last else ""
    loss = f" loss {last.get('train_loss', float('nan')):.4f}"
    sys.stderr.write(f"\r[{bar:30s}] {done:6.1%} epoch {run.epoch:.1f}{loss}{acc} "
                     f"{snap.samples_per_s:,.0f} samples/s ")
    sys.stderr.flush()


def cmd_export(args: argparse.Namespace) -> int:
    spec = _spec(args)
    if args.format == "script":
        from .export import export_script
        text = export_script(spec)
        if args.output:
            Path(args.output).write_text(text)
        else:
            print(text)
        return 0
    from .deploy import SUFFIX, apply_state_dict, export
    from .tasks import build_run
    run = build_run(spec)
    if args.run:
        from .store import RunStore
        store = RunStore()
        rec = store.find(args.run)
        weights = store.weights(rec.id) if rec else None
        if weights is None:
            raise SpecError([f"export --run: no single saved run with weights has an id starting with "
                             f"{clip(args.run, 40)}"])
        try:
            apply_state_dict(run.model, weights)
        except ValueError as e:
            raise SpecError([f"export --run: {e}"]) from None
    else:
        print("note: untrained weights (the spec's seed); --run ID exports a saved run's", file=sys.stderr)
    out = export(run.model, run.x_test, args.format, spec)
    path = Path(args.output or f"{args.preset or Path(args.spec).stem}{SUFFIX[args.format]}")
    path.write_bytes(out.data)
    print(f"wrote {path}: {out.summary()}")
    return 0


def _trained(args: argparse.Namespace):
    """The spec's run trained headless (`--steps` shortens it; not saved to the history), or
    None after printing why it cannot train."""
    from .tasks import build_run
    from .trainer import validate
    spec = finite(_spec(args))
    if args.steps:
        spec = replace(spec, steps=args.steps)
    if problems := validate(spec):
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return None
    run = build_run(spec)
    for i in range(run.total_steps):
        run.step()
        if not args.json and (i + 1) % 50 == 0:
            sys.stderr.write(f"\rtraining: step {i + 1:,} of {run.total_steps:,} ")
    return run


def cmd_explain(args: argparse.Namespace) -> int:
    """Train the spec headless (not saved), then explain its first test examples (engine.explain)."""
    from .explain import ExplainConfig, summary
    if (run := _trained(args)) is None:
        return 1
    ev = run.evaluate(full=True)
    try:
        out = summary(run, args.examples, ExplainConfig(baseline=args.baseline, ig_steps=args.ig_steps))
    except ValueError as e:
        raise SpecError([str(e)]) from None
    out = {"preset": args.preset or "", "steps": run.step_count, "test_acc": ev.get("test_acc")} | out
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"\ntrained {run.step_count:,} steps, test accuracy {ev.get('test_acc', float('nan')):.3f}")
    for method, nums in out.get("mean", {}).items():
        print(f"{method:12s} " + "  ".join(f"{k}={v:.4g}" for k, v in nums.items()))
    if "object_share" in out:
        print(f"the object covers {out['object_share']:.1%} of the image (mean over {args.examples} examples)")
    return 0


def cmd_compress(args: argparse.Namespace) -> int:
    """Train the spec headless (not saved), then prune, quantize and distil it (engine.compress)."""
    from .compress import DistillConfig, PruneConfig, summary
    if (run := _trained(args)) is None:
        return 1
    prune_cfg = PruneConfig(args.sparsity, args.scope, args.structure, args.finetune_steps)
    distill_cfg = None if args.no_distill else DistillConfig(
        args.shrink, args.temperature, args.alpha, args.distill_steps, tuple(range(args.seeds)), args.labels)
    try:
        out = summary(run, prune_cfg, distill_cfg)
    except ValueError as e:
        raise SpecError([str(e)]) from None
    out = {"preset": args.preset or "", "steps": run.step_count} | out
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"trained {run.step_count:,} steps; CPU latency per batch of {out['variants'][0]['batch']} "
          f"on {out['threads']} thread(s); bytes: {out['size']}")
    for v in out["variants"]:
        print(f"{v['name'][:60]:60s} acc {v['accuracy']:.3f}  {v['bytes']:>9,} B  {v['nonzero']:>8,} non-zero  "
              f"{v['latency_ms']:.2f} ms" + ("  *" if v["name"] in out["pareto"] else ""))
    print("* on the Pareto front (no variant is both smaller and at least as accurate)")
    if d := out.get("distillation"):
        print(f"distillation ({d['student']}, {d['train_examples']} labels, {d['steps']} steps): with the teacher "
              f"{d['with_teacher']}, alone {d['alone']}; gain {d['gain_mean']:+.3f} on average")
    for what, note in out.get("notes", {}).items():
        print(f"{what}: {note}")
    return 0


def cmd_labels(args: argparse.Namespace) -> int:
    """Pretrain once, then held-out accuracy against labelled examples per method (engine.few_labels)."""
    from .few_labels import METHODS, LabelsConfig, compare
    from .presets import load_preset
    from .transfer import PRESET
    try:
        labels = tuple(int(v) for v in args.labels.split(","))
    except ValueError:
        raise SpecError([f"labels --labels: {clip(args.labels, 40)!r} is not a list of whole numbers such as "
                         "10,30,100"]) from None
    if not labels or min(labels) < 1 or args.seeds < 1 or args.steps < 1:
        raise SpecError(["labels: --labels, --seeds and --steps must be at least 1"])
    target = load_preset(args.target)
    cfg = LabelsConfig(labels, args.seeds, args.steps, args.body_lr)
    if not args.json:
        sys.stderr.write(f"pretraining {args.pretrain} (once), then {len(labels) * args.seeds * len(METHODS)} runs\n")

    def progress(done: int, total: int, what: str) -> None:
        if not args.json:
            sys.stderr.write(f"\r[{'#' * (30 * done // total):30s}] {done}/{total} {what:50s}")
    result = compare(target, PRESET + args.pretrain, cfg=cfg, progress=progress)
    if args.json:
        for r in result.rows:
            print(json.dumps(r.to_dict()))
        print(json.dumps({"final": True, **{k: v for k, v in result.to_dict().items() if k != "rows"}}))
        return 0
    print(f"\nheld-out accuracy on {result.test_examples:,} test images; pretrained layers {list(result.loaded)}")
    for r in result.rows:
        print(f"{METHODS[r.method]:32s} {r.labels:>6,} labels  {r.mean:.3f} ± {r.std:.3f}")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from .store import open_store
    store = open_store()
    if store.warning:
        print(f"warning: {store.warning}", file=sys.stderr)
    if args.action == "list":
        recs = store.list(page=args.page)
        if args.json:
            print(json.dumps([r.summary() for r in recs]))
        for r in recs if not args.json else ():
            score = next((f"{k}={r.best[k]:.4g}" for k in ("test_acc", "test_r2", "test_loss")
                          if isinstance(r.best.get(k), (int, float))), "")
            print(f"{r.id[:8]}  {time.strftime('%Y-%m-%d %H:%M', time.localtime(r.created))}  "
                  f"{r.page:10s} {r.state:9s} {clip(r.name, 30):30s} best {score} at step {r.best.get('step', '-')}")
        return 0
    if not args.ids:
        raise SpecError([f"runs {args.action}: give one or more run ids (see runs list)"])
    recs = []
    for prefix in args.ids:
        rec = store.find(prefix)
        if rec is None:
            raise SpecError([f"runs {args.action}: no single run has an id starting with {clip(prefix, 40)}"])
        recs.append(rec)
    if args.action == "show":
        for r in recs:
            print(json.dumps(r.summary() | {"spec": r.spec, "series": r.series}) if args.json else
                  "\n".join([f"{r.id}  {r.name}  ({r.page}, {r.state})",
                             f"final: {json.dumps(r.final)}", f"best:  {json.dumps(r.best)}",
                             f"weights: {r.weights or '-'}", json.dumps(r.spec, indent=2)]))
    elif args.action == "export":
        text = store.export_csv([r.id for r in recs])
        if args.output:
            Path(args.output).write_text(text)
        else:
            print(text, end="")
    elif args.action == "delete":
        for r in recs:
            store.delete(r.id)
            print(f"deleted {r.id}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import main as bench_main
    return bench_main(args)


def cmd_loadtest(args: argparse.Namespace) -> int:
    from .loadtest import loadtest, summary
    from .workers import BACKENDS
    if args.sessions < 1 or args.seconds <= 0 or args.backend not in BACKENDS:
        print(f"error: --sessions must be 1 or more, --seconds above 0, --backend one of {', '.join(BACKENDS)}",
              file=sys.stderr)
        return 2
    result = loadtest(args.sessions, args.backend, args.seconds, args.max_runs)
    print(json.dumps(result) if args.json else summary(result))
    return 0 if result["all_progressing"] and result["after_close"]["live_workers"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m engine", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("presets", help="list the bundled presets").set_defaults(fn=cmd_presets)
    for name, fn, help in (("check", cmd_check, "print the layer table or the problems"),
                           ("run", cmd_run, "train a spec headless"),
                           ("export", cmd_export, "print a standalone PyTorch script"),
                           ("explain", cmd_explain, "train a spec headless, then explain its predictions"),
                           ("compress", cmd_compress, "train a spec headless, then prune, quantize and distil it")):
        p = sub.add_parser(name, help=help)
        p.add_argument("spec", nargs="?", help="RunSpec JSON file")
        p.add_argument("--preset", help="a bundled preset name instead of a file")
        p.set_defaults(fn=fn)
        if name == "run":
            p.add_argument("--epochs", type=int, help="override the spec's epochs")
            p.add_argument("--steps", type=int, help="train this many steps instead")
            p.add_argument("--json", action="store_true", help="one JSON object per evaluation")
        if name == "export":
            p.add_argument("-o", "--output", help="write to this file")
            p.add_argument("--format", default="script",
                           choices=["script", "onnx", "torch_export", "torchscript", "state_dict"],
                           help="script: a standalone PyTorch training script (default); the others: "
                                "the model, checked against PyTorch on held-out inputs")
            p.add_argument("--run", help="export the weights of this saved run (see runs list)")
        if name == "explain":
            p.add_argument("--steps", type=int, help="train this many steps instead of the spec's")
            p.add_argument("--examples", type=int, default=4, help="explain this many test examples (default 4)")
            p.add_argument("--baseline", default="zeros", choices=["zeros", "blurred", "mean"],
                           help="Integrated Gradients' reference image (also what Occlusion puts in)")
            p.add_argument("--ig-steps", type=int, default=64, help="Integrated Gradients' steps (default 64)")
            p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "compress":
            p.add_argument("--steps", type=int, help="train this many steps instead of the spec's")
            p.add_argument("--sparsity", type=float, default=0.8, help="share of the weights pruned (default 0.8)")
            p.add_argument("--scope", default="global", choices=["global", "layer"],
                           help="one magnitude threshold for all layers, or the same share in each")
            p.add_argument("--structure", default="unstructured", choices=["unstructured", "channel"],
                           help="prune single weights, or whole output channels (L2 norm)")
            p.add_argument("--finetune-steps", type=int, default=50, help="fine-tune steps after pruning (default 50)")
            p.add_argument("--shrink", type=int, default=4, help="the student's hidden widths divided by this")
            p.add_argument("--temperature", type=float, default=4.0, help="distillation temperature (default 4)")
            p.add_argument("--alpha", type=float, default=0.7, help="weight of the soft loss (default 0.7)")
            p.add_argument("--distill-steps", type=int, default=300, help="training steps of each student")
            p.add_argument("--labels", type=int, default=100,
                           help="labelled training examples the students see (0: all; default 100)")
            p.add_argument("--seeds", type=int, default=3, help="student pairs, seeds 0..N-1 (default 3)")
            p.add_argument("--no-distill", action="store_true", help="skip distillation")
            p.add_argument("--json", action="store_true", help="print one JSON object")
    lab = sub.add_parser("labels", help="accuracy against labelled examples: scratch, probe, fine-tune")
    lab.add_argument("--labels", default="10,30,100,300,1000", help="labelled examples per point (default "
                     "10,30,100,300,1000)")
    lab.add_argument("--seeds", type=int, default=3, help="seeds per point: the mean and spread (default 3)")
    lab.add_argument("--steps", type=int, default=200, help="training steps of every run (default 200)")
    lab.add_argument("--pretrain", default="mnist_rotation", help="the preset pretrained once (default mnist_rotation)")
    lab.add_argument("--target", default="mnist_finetune", help="the classifier preset: its network, optimizer "
                     "and data (default mnist_finetune)")
    lab.add_argument("--body-lr", type=float, default=1.0, help="fine-tuning: the pretrained layers' lr as a "
                     "multiple of the head's (default 1)")
    lab.add_argument("--json", action="store_true", help="one JSON object per method and label count, then a final one")
    lab.set_defaults(fn=cmd_labels)
    b = sub.add_parser("bench", help="samples/s of the engine vs a bare PyTorch loop")
    b.add_argument("--json", action="store_true", help="print the results as JSON")
    b.add_argument("--quick", action="store_true", help="fewer, shorter cases (a smoke test)")
    b.add_argument("--browser", action="store_true",
                   help="also measure Train -> first loss point and the chart's refresh in headless Chromium")
    b.set_defaults(fn=cmd_bench)
    lt = sub.add_parser("loadtest", help="N simulated sessions training at once against a real server")
    lt.add_argument("--sessions", type=int, default=12, help="simulated browser sessions (default 12)")
    lt.add_argument("--backend", default="process", help="thread, process or ray (default process)")
    lt.add_argument("--seconds", type=float, default=20.0, help="how long each session trains (default 20)")
    lt.add_argument("--max-runs", type=int, help="the server's cap on runs at once (default: --sessions)")
    lt.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    lt.set_defaults(fn=cmd_loadtest)
    r = sub.add_parser("runs", help="the run history: list, show, export (CSV) or delete runs")
    r.add_argument("action", choices=["list", "show", "export", "delete"])
    r.add_argument("ids", nargs="*", help="run ids (a unique prefix is enough)")
    r.add_argument("--json", action="store_true", help="print JSON")
    r.add_argument("--page", help="list only the runs of this page (playground, arena, cli, ...)")
    r.add_argument("-o", "--output", help="export: write the CSV to this file")
    r.set_defaults(fn=cmd_runs)
    args = ap.parse_args(argv)
    try:
        return args.fn(args)
    except (SpecError, KeyError) as e:
        for p in getattr(e, "problems", [str(e)]):
            print(f"error: {p}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
