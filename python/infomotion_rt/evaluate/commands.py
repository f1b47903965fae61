"""Click commands of the evaluation stage (evaluate, benchmark, relabel, demo), registered by cli.py.

Thin: parse, build the frozen configs, call the stage, print where results went. torch is imported
only inside the command bodies (through the stage modules).
"""

from __future__ import annotations

import click

from infomotion_rt.cli_options import StageCommand, advanced_option, help_all_and_config, pediatric_options
from infomotion_rt.errors import ConfigError, require


def regressor_options(f):
    """Model, clip and training options shared by evaluate and benchmark."""
    opts = [
        click.option("--setting", default="auto", show_default=True, type=click.Choice(["auto", "paper", "cpu", "cpu-small", "tiny"]),
                     help="paper: r2plus1d_18 32f x2 @112 (GPU); cpu: r3d_18 family w8 L1111, 12f over 1.2 cardiac "
                          "cycles @40, augmented training clips, 1000 steps per selection, Whole at most 4000 "
                          "(benchmarks); cpu-small: 8f @32, not augmented, 150 / 800 steps (demo); tiny: "
                          "r2plus1d w8 8f x4 @32 (tests). auto: paper on cuda, cpu on cpu."),
        advanced_option("--model", "arch", type=click.Choice(["r2plus1d_18", "r3d_18", "mc3_18"]), default=None,
                     help="Video ResNet-18 family member (default: the setting's; r3d_18 for cpu and cpu-small)."),
        advanced_option("--frames", type=click.IntRange(min=1), default=None, help="Frames per clip (overrides setting)."),
        advanced_option("--period", type=click.IntRange(min=1), default=None, help="Take every N-th frame."),
        advanced_option("--size", type=click.IntRange(min=8), default=None, help="Frame size in pixels."),
        advanced_option("--width", type=click.IntRange(min=4), default=None, help="First-stage channels (64 = torchvision)."),
        advanced_option("--test-clips", type=click.IntRange(min=1), default=None, help="Clips averaged per test video."),
        advanced_option("--augment/--no-augment", default=None,
                     help="Random affine, grey gain and cycle-length jitter on training clips (default: the "
                          "setting's: on in cpu, off in the others; BENCHMARKS.md has the measurements)."),
        advanced_option("--steps", type=click.IntRange(min=1), default=None,
                     help="Optimisation steps of every model trained on a selection (default: the setting's); "
                          "the same for every method and VPC."),
        advanced_option("--whole-steps", type=click.IntRange(min=1), default=None,
                     help="Step maximum of a Whole model, which stops early on VAL loss (default: the setting's)."),
        advanced_option("--patience", default=5, show_default=True, type=click.IntRange(min=1),
                     help="Whole: VAL checks (every 1/20 of --whole-steps, at least 10 steps apart) without improvement before stopping."),
        advanced_option("--batch-size", type=click.IntRange(min=1), default=None, help="Default: the setting's."),
        advanced_option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
                     help="Peak learning rate (default: the setting's)."),
        click.option("--runs", default=5, show_default=True, type=click.IntRange(min=1), help="Repeats (seeds)."),
        click.option("--seed", default=0, show_default=True, type=int, help="Seed of run 1; run r uses seed+r-1."),
        advanced_option("--tolerance", default=2.0, show_default=True, type=click.FloatRange(min=0),
                     help="Soft accuracy: EF points each class is widened by."),
        click.option("--device", default="cpu", show_default=True, help="cpu or cuda."),
        click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
                     help="CPU threads of torch, NumPy's BLAS, OpenCV and FAISS (0 = each library's default)."),
        advanced_option("--init", "init", type=click.Path(dir_okay=False), default=None,
                     help="Start from this local state_dict (.pt) instead of from scratch."),
        click.option("--weights/--no-weights", default=True, show_default=True,
                     help="Train each distilled model with its selection's Weight column (class-prior weights: "
                          "the pool's class mix; docs/method.md); --no-weights: unweighted, to compare. "
                          "Whole models are always unweighted."),
    ]
    for o in reversed(opts):
        f = o(f)
    return f


def check_results(overwrite: bool, *paths) -> None:
    """An existing result file (evaluate's evaluation.json, benchmark's results.json, relabel's CSV) is an error
    unless ``--overwrite``, as for every other command; one line naming it. None entries are skipped."""
    from pathlib import Path

    for path in paths:
        if path is not None and Path(path).exists() and not overwrite:
            raise ConfigError(f"{path}: exists; pass --overwrite to replace it (or choose another --out)")


def eval_config(kw: dict):
    from infomotion_rt.evaluate.protocol import EvalConfig
    from infomotion_rt.evaluate.regressor import get_setting
    from infomotion_rt.evaluate.training import TrainConfig

    name = kw.pop("setting")
    if name == "auto":
        name = "paper" if kw["device"].startswith("cuda") else "cpu"
    setting = get_setting(name, arch=kw.pop("arch"), frames=kw.pop("frames"), period=kw.pop("period"),
                          size=kw.pop("size"), width=kw.pop("width"), test_clips=kw.pop("test_clips"),
                          augment=kw.pop("augment"))
    train = TrainConfig(steps=kw.pop("steps") or setting.steps, batch_size=kw.pop("batch_size") or setting.batch_size,
                        lr=kw.pop("lr") or setting.lr, device=kw.pop("device"), threads=kw.pop("threads"),
                        init=kw.pop("init"), patience=kw.pop("patience"))
    from infomotion_rt.evaluate.training import limit_threads

    limit_threads(train.threads)  # before anything decodes or predicts (relabel runs before any training)
    return EvalConfig(setting=setting, train=train, runs=kw.pop("runs"), seed=kw.pop("seed"),
                      tolerance=kw.pop("tolerance"), whole_steps=kw.pop("whole_steps") or setting.whole_steps,
                      weights=kw.pop("weights"))


@click.command("evaluate", cls=StageCommand)
@help_all_and_config
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--selection", type=click.Path(dir_okay=False), default=None, help="selection.csv from select.")
@click.option("--whole", is_flag=True, help="Train on the whole TRAIN split instead of a selection.")
@click.option("--labels", "labels_csv", type=click.Path(dir_okay=False), default=None,
              help="CSV of FileName,EF[,Split] overriding DATA_DIR's labels (e.g. from relabel).")
@click.option("--out", "out_dir", default="evaluation", show_default=True, type=click.Path(file_okay=False))
@click.option("--save-model", type=click.Path(dir_okay=False), default=None,
              help="Also save run 1's regressor here (.pt: weights + JSON config).")
@click.option("--instrument", default="cnn", show_default=True, type=click.Choice(["cnn", "probe"]),
              help="cnn: train the EF regressor (the options below); probe: ridge read-outs on the motion "
                   "features (--features) and on a pixel representation cached beside them (docs/commands.md, evaluate).")
@click.option("--features", type=click.Path(dir_okay=True), default=None,
              help="With --instrument probe: the features file the selection used.")
@click.option("--overwrite", is_flag=True, help="Replace the results of an earlier run in --out (else an error).")
@regressor_options
def evaluate_cmd(data_dir, selection, whole, labels_csv, out_dir, save_model, instrument, features, overwrite,
                 **kw) -> None:
    """Train the EF regressor on the selected videos (or the whole TRAIN split), test on TEST, repeat;
    or, with --instrument probe, score ridge read-outs of them."""
    from pathlib import Path

    if whole == (selection is not None):
        raise ConfigError("give either --selection FILE or --whole")
    check_results(overwrite, Path(out_dir) / "evaluation.json", save_model)
    if instrument == "probe":
        return probe_cmd(data_dir, selection, whole, labels_csv, out_dir, features, kw)
    if features:
        raise ConfigError("--features is read by --instrument probe only")
    require("torch", "torchvision", what="evaluate")
    from infomotion_rt.evaluate.protocol import budget_text, evaluate, pm

    cfg = eval_config(kw)
    steps = f"at most {cfg.whole_steps} steps (early stopping on VAL)" if whole else f"{cfg.train.steps} steps"
    click.echo(f"setting: {cfg.setting.words()}; {cfg.runs} runs, {steps}", err=True)
    result, j, m = evaluate(data_dir, cfg, selection=selection, whole=whole, labels_csv=labels_csv,
                            out_dir=out_dir, save_model=save_model)
    s = result["summary"]
    click.echo(f"trained on {result['n_train']}, tested on {result['n_test']} TEST videos: accuracy {pm(s['acc'])} %, "
               f"soft {pm(s['soft_acc'])} %, balanced {pm(s['bal_acc'])} %, MAE {pm(s['mae'], 1.0)} EF, R² {pm(s['r2'], 1.0, 3)}")
    click.echo(f"training: {budget_text(result)}; weights: {result['weights']}")
    for note in result["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {j} and {m}" + (f"; model {save_model}" if save_model else ""))


def probe_cmd(data_dir, selection, whole, labels_csv, out_dir, features, kw: dict) -> None:
    """evaluate --instrument probe: no torch; of the regressor options only --weights, --tolerance and
    --threads apply."""
    require("sklearn", what="evaluate --instrument probe", hint="install scikit-learn (pip install scikit-learn)")
    from infomotion_rt.evaluate.probe import probe_rows, run_probe

    result, j, m = run_probe(data_dir, features, selection=selection, whole=whole, labels_csv=labels_csv,
                             weights=kw["weights"], tolerance=kw["tolerance"], threads=kw["threads"],
                             out_dir=out_dir, log=lambda s: click.echo(s, err=True))
    px = result["pixels"]
    click.echo(f"pixels: {px['path']} ({px['computed']} computed, {px['reused']} reused, {px['failed']} failed)", err=True)
    click.echo(f"probe on {result['n_train']} videos (pool {result['n_pool']}), tested on {result['n_test']} TEST "
               f"videos; weights: {result['weights']}")
    for label, s in probe_rows(result):
        click.echo(f"  {label}: MAE {s['mae']:.2f} EF, R² {s['r2']:.3f}, r {s['r']:.3f}, accuracy "
                   f"{100 * s['acc']:.1f} %, balanced {100 * s['bal_acc']:.1f} %")
    for note in result["notes"]:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {j} and {m}")


@click.command("benchmark", cls=StageCommand)
@help_all_and_config
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--vpc", "vpcs", multiple=True, type=click.IntRange(min=1), help="Videos per class (repeatable; default 5 and 10).")
@click.option("--methods", default=None,
              help="Comma-separated selection methods (default: random,kmeans,infodist,infomotion for the fixed-pool "
                   "CNN; random,infomotion,kmeans,typiclust,probcover,maxherding for the probe and the pool-resampled CNN).")
@click.option("--features", type=click.Path(dir_okay=False), default=None,
              help="Motion features of the videos selected from (CNN default: extract with the shipped encoder; "
                   "required by the probe and by both).")
@click.option("--instrument", default="cnn", show_default=True, type=click.Choice(["cnn", "probe", "both"]),
              help="cnn: the EF regressor (Table 1 on the fixed pool; pool-resampled paired seeds with --seeds or "
                   "--pool-share < 1); probe: ridge read-outs over --seeds pool draws (docs/commands.md, benchmark); both: the probe into "
                   "OUT/probe, then the pool-resampled CNN into OUT on the same pool, seeds and draws.")
@click.option("--seeds", type=click.IntRange(min=1), default=None,
              help="Seeds (pool draws) --seed .. --seed+N-1 of the probe (default 50) and of the pool-resampled CNN "
                   "(default 10: one training per seed and method); the fixed-pool CNN uses --runs.")
@click.option("--pool-share", type=click.FloatRange(min=0, max=1, min_open=True), default=None,
              help="Share of the TRAIN pool each seed draws for every method (default 0.8; 1.0 = fixed pool). "
                   "With --instrument cnn, < 1 selects the pool-resampled protocol.")
@click.option("--engine", type=click.Path(dir_okay=False), default=None, help="Motion model for extraction.")
@click.option("--synthetic", type=click.Path(file_okay=False), default=None,
              help="Select from this synthetic set (Dist. Synth.), test on DATA_DIR's TEST split.")
@click.option("--trust-labels", is_flag=True, help="With --synthetic: keep its EF labels (default: relabel).")
@click.option("--out", "out_dir", default="benchmark", show_default=True, type=click.Path(file_okay=False))
@click.option("--no-plot", is_flag=True, help="Skip the bar chart (no matplotlib needed).")
@click.option("--overwrite", is_flag=True, help="Replace the results of an earlier run in --out (else an error).")
@click.option("--whole-runs", type=click.IntRange(min=1), default=None,
              help="Runs of the Whole rows (default: --runs); run 1's model gives the appearance features.")
@click.option("--reuse-whole", type=click.Path(file_okay=False), default=None,
              help="Output folder of an earlier benchmark on DATA_DIR with the same setting, Whole runs, seed "
                   "and --whole-steps: reuse its Whole Real models instead of retraining them.")
@regressor_options
def benchmark_cmd(data_dir, vpcs, methods, features, instrument, seeds, pool_share, engine, synthetic, trust_labels,
                  out_dir, no_plot, overwrite, whole_runs, reuse_whole, **kw) -> None:
    """The paper's Table 1 on DATA_DIR: methods x VPC x runs, select + evaluate each, Whole as reference;
    with --seeds or --pool-share < 1, methods x VPC x paired pool-resampled seeds (one CNN training each);
    with --instrument probe, the same seeds scored by ridge read-outs; both: the two on the same draws."""
    from pathlib import Path

    check_results(overwrite, Path(out_dir) / "results.json",
                  Path(out_dir) / "probe" / "results.json" if instrument == "both" else None)
    if instrument == "probe":
        probe_benchmark_cmd(data_dir, vpcs, methods, features, seeds, pool_share, out_dir, kw, plot=not no_plot)
        return
    resampled = instrument == "both" or seeds is not None or (pool_share is not None and pool_share < 1)
    if resampled:
        fixed_only = [o for o, v in (("--synthetic", synthetic), ("--trust-labels", trust_labels),
                                     ("--whole-runs", whole_runs), ("--reuse-whole", reuse_whole)) if v]
        if fixed_only:
            raise ConfigError(f"{fixed_only[0]} is read by the fixed-pool CNN benchmark only (no --seeds, "
                              "--pool-share 1 or none, --instrument cnn)")
        probe = None
        if instrument == "both":
            from pathlib import Path

            require("torch", "torchvision", what="benchmark --instrument both")  # before the probe's work

            probe = probe_benchmark_cmd(data_dir, vpcs, methods, features, seeds, pool_share,
                                        str(Path(out_dir) / "probe"), dict(kw), plot=not no_plot)
        return pool_benchmark_cmd(data_dir, vpcs, methods, features, engine, seeds, pool_share, out_dir, no_plot,
                                  kw, pool_names=probe["pool"] if probe else None)
    if methods is None:
        methods = "random,kmeans,infodist,infomotion"
    require("torch", "torchvision", what="benchmark")
    from infomotion_rt.evaluate.benchmark import BenchmarkConfig, run_benchmark
    from infomotion_rt.evaluate.tables import table_markdown

    cfg = BenchmarkConfig(eval=eval_config(kw), vpcs=tuple(vpcs) or (5, 10),
                          methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
                          trust_synthetic_labels=trust_labels, plot=not no_plot, whole_runs=whole_runs)
    from infomotion_rt.evaluate.benchmark import reuse_whole_real

    whole = reuse_whole_real(reuse_whole, data_dir, cfg) if reuse_whole else None
    res = run_benchmark(data_dir, cfg, out_dir, features=features, engine=engine, synthetic=synthetic,
                        log=lambda s: click.echo(s, err=True), whole_real=whole)
    for line in dict.fromkeys(res["notes"]):
        click.echo(f"note: {line}", err=True)
    click.echo(table_markdown(res))
    click.echo("wrote " + ", ".join(res["outputs"].values()))


def pool_benchmark_cmd(data_dir, vpcs, methods, features, engine, seeds, pool_share, out_dir, no_plot, kw: dict,
                       pool_names=None) -> dict:
    """benchmark --instrument cnn|both with paired pool-resampled seeds (``benchmark.run_pool_benchmark``):
    every regressor option applies except --runs (the seeds are the runs). Defaults: 10 seeds
    (``benchmark.CNN_SEEDS``, issue 16.3: fewer than the probe's 50), share 0.8, the probe's methods."""
    require("torch", "torchvision", what="benchmark")
    from infomotion_rt.evaluate.benchmark import CNN_POOL_SHARE, CNN_SEEDS, BenchmarkConfig, run_pool_benchmark
    from infomotion_rt.evaluate.probe_benchmark import PROBE_METHODS, available_methods, console_summary

    log = lambda s: click.echo(s, err=True)  # noqa: E731
    names = tuple(m.strip() for m in methods.split(",") if m.strip()) if methods else PROBE_METHODS
    kept, skipped = available_methods(names, log)
    if not kept:
        raise ConfigError("--methods: no selection method left to run")
    cfg = BenchmarkConfig(eval=eval_config(kw), vpcs=tuple(vpcs) or (5, 10), methods=tuple(kept), plot=not no_plot)
    res = run_pool_benchmark(data_dir, cfg, out_dir, seeds=seeds or CNN_SEEDS,
                             share=CNN_POOL_SHARE if pool_share is None else pool_share, features=features,
                             engine=engine, pool_names=pool_names, log=log, skipped=skipped)
    for line in res["notes"]:
        click.echo(f"note: {line}", err=True)
    click.echo(f"CNN benchmark: {len(res['seeds'])} seeds x {len(res['vpcs'])} VPC x {len(res['methods'])} methods, "
               f"{res['n_draw']} of {res['n_pool']} TRAIN videos per draw, {res['n_test']} TEST videos, weights "
               f"{res['weights']}; {res['seconds']['total']:.0f} s")
    for line in console_summary(res):
        click.echo("  " + line)
    click.echo("wrote " + ", ".join(res["outputs"].values()))
    return res


def probe_benchmark_cmd(data_dir, vpcs, methods, features, seeds, pool_share, out_dir, kw: dict,
                        plot: bool = True) -> dict:
    """benchmark --instrument probe (probe_benchmark.py): no torch; of the regressor options only --seed,
    --weights, --tolerance and --threads apply (--runs is the CNN's; the probe counts --seeds). Returns
    the results dict (``pool``: the pool's names)."""
    require("sklearn", what="benchmark --instrument probe", hint="install scikit-learn (pip install scikit-learn)")
    from infomotion_rt.evaluate.probe_benchmark import PROBE_METHODS, console_summary, run_probe_benchmark

    names = tuple(m.strip() for m in methods.split(",") if m.strip()) if methods else PROBE_METHODS
    log = lambda s: click.echo(s, err=True)  # noqa: E731
    res = run_probe_benchmark(data_dir, features, vpcs=tuple(vpcs) or (5, 10), seeds=seeds or 50, seed=kw["seed"],
                              methods=names, share=0.8 if pool_share is None else pool_share, weights=kw["weights"],
                              tolerance=kw["tolerance"], threads=kw["threads"], out_dir=out_dir, log=log, plot=plot)
    sec = res["seconds"]
    click.echo(f"probe benchmark: {len(res['seeds'])} seeds x {len(res['vpcs'])} VPC x {len(res['methods'])} methods, "
               f"{res['n_draw']} of {res['n_pool']} TRAIN videos per draw, {res['n_test']} TEST videos, weights "
               f"{res['weights']}; {sec['total']:.0f} s (selection {sec['selection']:.0f} s, probe {sec['probe']:.0f} s)")
    for line in console_summary(res):
        click.echo("  " + line)
    click.echo("wrote " + ", ".join(res["outputs"].values()))
    return res


@click.command("relabel")
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--model", "model_path", required=True, type=click.Path(dir_okay=False),
              help="EF regressor checkpoint (evaluate --save-model, or ef_whole_real.pt from benchmark).")
@click.option("--out", default="FileList.relabeled.csv", show_default=True, type=click.Path(dir_okay=False))
@click.option("--embed-out", type=click.Path(dir_okay=False), default=None,
              help="Also write appearance embeddings (penultimate layer) as a features file (.npz).")
@click.option("--split", type=click.Choice(["TRAIN", "VAL", "TEST"], case_sensitive=False), default=None)
@click.option("--device", default="cpu", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace an existing --out / --embed-out (else an error).")
def relabel_cmd(data_dir, model_path, out, embed_out, split, device, overwrite) -> None:
    """Predicted EF for every video of DATA_DIR, as a FileList-style CSV (EF_original kept)."""
    check_results(overwrite, out, embed_out)
    require("torch", "torchvision", what="relabel")
    import numpy as np

    from infomotion_rt.evaluate.relabel import relabel

    r = relabel(data_dir, model_path, out, embed_out, device, split=split.upper() if split else None)
    click.echo(f"relabelled {len(r.names)} videos: MAE to their own labels {np.abs(r.ef_pred - r.ef_orig).mean():.2f} EF"
               + (f"; {r.clipped} predictions clipped to [0, 100]" if r.clipped else ""))
    click.echo(f"wrote {r.csv}" + (f" and {r.features}" if r.features else ""))


@click.command("demo")
@click.option("--out", "out_dir", default="infomotion-demo", show_default=True, type=click.Path(file_okay=False))
@click.option("--representation", type=click.Choice(["flow", "encoder"]), default=None,
              help="Selection space: flow (optical flow ED -> ES, no model) or encoder (the shipped ONNX encoder, "
                   "or --engine). Default: demo.DEMO_REPRESENTATION (flow; BENCHMARKS.md, \"Flow baseline vs the "
                   "shipped encoder\").")
@click.option("--engine", type=click.Path(dir_okay=False), default=None,
              help="Motion model for --representation encoder (default: the encoder shipped in models/).")
@click.option("--n-real", default=900, show_default=True, type=click.IntRange(min=40),
              help="Phantom videos (about 12% are TEST: 900 gives >= 100 TEST videos).")
@click.option("--probe-seeds", default=30, show_default=True, type=click.IntRange(min=2),
              help="Paired pool-resampled seeds of the probe benchmark.")
@click.option("--cnn-seeds", default=3, show_default=True, type=click.IntRange(min=0),
              help="Paired seeds of the weighted CNN cell (Random and InfoMotion at VPC 10; 0: none, else >= 2).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=0),
              help="CPU threads of torch, NumPy's BLAS, OpenCV and FAISS (0 = each library's default; 1 is faster on a busy 2-core machine).")
@click.option("--overwrite", is_flag=True, help="Replace an existing demo folder.")
def demo_cmd(out_dir, representation, engine, n_real, probe_seeds, cnn_seeds, threads, overwrite) -> None:
    """Whole pipeline on a generated phantom: phantom -> extract -> probe benchmark (30 paired seeds) ->
    weighted CNN cell -> select --self-check -> summary.md, whose first line states the finding."""
    require("sklearn", what="demo", hint="install the [train] extra")
    from infomotion_rt.evaluate.demo import DEMO_REPRESENTATION, DemoConfig, run_demo

    if representation is None:
        representation = "encoder" if engine else DEMO_REPRESENTATION
    cfg = DemoConfig(n_real=n_real, representation=representation, probe_seeds=probe_seeds, cnn_seeds=cnn_seeds,
                     threads=threads, overwrite=overwrite)
    paths = run_demo(out_dir, cfg, engine=engine, log=lambda s: click.echo(s, err=True))
    click.echo(paths.pop("finding"))
    click.echo("demo outputs:")
    for what, path in paths.items():
        click.echo(f"  {what:<22} {path}")


COMMANDS = (evaluate_cmd, benchmark_cmd, relabel_cmd, demo_cmd)
