"""The ``infomotion-rt`` command line. Thin: parse options, call the Python API (``api.py``; the training-side
commands and ``extract --ray`` call their stage functions), print where results went.

Every stage raises ``InfoMotionError`` subclasses for bad input; ``main`` turns them into one line on
stderr and a non-zero exit, so no user ever sees a traceback for a bad file.
"""

from __future__ import annotations

import os
import signal
import sys

import click

from infomotion_rt._version import __version__
from infomotion_rt.cli_options import (StageCommand, advanced_option, help_all_and_config, moved, moved_to_commands, renamed,
                                       pediatric_options)
from infomotion_rt.console import plural
from infomotion_rt.errors import InfoMotionError, Terminated, require
from infomotion_rt.selection.methods import METHODS as SELECT_METHODS   # the registry is the one list of --method choices
from infomotion_rt.selection.metric import METRICS, PARTS as METRIC_PARTS


def _version_message() -> str:
    from infomotion_rt.selection.graph import core_build_info

    try:
        info = core_build_info()
        native = f"native core {info['version']} ({info['compiler']})"
    except InfoMotionError as exc:
        native = f"native core unavailable: {exc}"
    return f"infomotion-rt {__version__}\n{native}"


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(_version_message())
        ctx.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_print_version,
              help="Show the version of the package and of its native core, then exit.")
@click.option("--folds", "group_folds", default=None, envvar="INFOMOTION_FOLDS", hidden=True,
              callback=moved_to_commands("--folds SPEC"))
@click.option("--view", "group_view", default=None, envvar="INFOMOTION_VIEW", hidden=True,
              callback=moved_to_commands("--view PSAX"))
@click.option("--allow-modality", multiple=True, envvar="INFOMOTION_ALLOW_MODALITY", metavar="CODE",
              help="Also read DICOM files of this Modality as echo (e.g. MR; ANY: every file, one without "
                   "Modality too). Default: ultrasound (US) only.")
def cli(group_folds, group_view, allow_modality) -> None:
    """Motion-based dataset distillation of echocardiography videos.

    Pick the few videos per ejection-fraction class that a model learns most from,
    offline, on CPU by default.
    """
    if group_folds or group_view:  # the pre-0.2 place of the commands' --folds/--view (they win when given)
        from infomotion_rt.data.pediatric import configure

        configure(group_folds, group_view)
    if allow_modality:  # process-wide too, so extraction workers read the same files
        from infomotion_rt.data.dicom import allow_modalities

        allow_modalities(allow_modality)


@cli.command("select", cls=StageCommand)
@help_all_and_config
@pediatric_options(advanced=True)
@click.option("--features", "features_path", required=True, type=click.Path(),
              help="Features file (.npz) or folder of shards written by extract.")
@click.option("--vpc", default=10, show_default=True, type=int, help="Videos per EF class.")
@click.option("--out", default="selection.csv", show_default=True, type=click.Path(dir_okay=False))
@click.option("--method", default="infomotion", show_default=True,
              type=click.Choice(list(SELECT_METHODS)))
@click.option("--seed", default=0, show_default=True, type=int)
@advanced_option("--k", default=10, show_default=True, type=int, help="Neighbours per video in the kNN graph.")
@advanced_option("--mode", default="union", show_default=True, type=click.Choice(["union", "mutual"]))
@advanced_option("--weighting", default="gaussian", show_default=True,
              type=click.Choice(["gaussian", "inverse"]), help="Edge weights (local-scale Gaussian or 1/d).")
@advanced_option("--centrality", default="degree", show_default=True, type=click.Choice(["degree", "pagerank"]),
              help="Base centrality of the modular centrality (infomotion).")
@advanced_option("--choice", type=click.Choice(["medoid", "centrality"]),
              help="infomotion: the member each community gives, nearest its community's mean (medoid, the default) "
                   "or of highest modular centrality (centrality: the paper's rule, the default with --paper-literal).")
@advanced_option("--trials", default=5, show_default=True, type=int,
              help="Infomap trials (scaled down above 20,000 videos per class: trials x 20000 / n, at least 1).")
@advanced_option("--exact-knn", is_flag=True, help="Exact kNN at any class size (default: approximate above --ann-threshold).")
@advanced_option("--ann", default="ivf", show_default=True, type=click.Choice(["ivf", "hnsw"]),
              help="Approximate kNN index for large classes (FAISS IVF-Flat or HNSW); recall is estimated and printed.")
@advanced_option("--ann-threshold", default=20000, show_default=True, type=int,
              help="Classes with at least this many videos use the approximate index.")
@advanced_option("--knn-pca", "pca", type=int,
                 help="Reduce the vectors to this many dimensions (FAISS PCA) before the kNN search (speed at scale; "
                      "not the selection metric, see --metric).")
@click.option("--pca", "pca_moved", type=int, hidden=True, callback=moved("--knn-pca"))
@advanced_option("--threads", type=int, help="FAISS threads (default: every core this process may use).")
@advanced_option("--paper-literal", is_flag=True, help="Complete graph with Euclidean-distance weights (O(n^2)).")
@advanced_option("--metric", "metric_name", type=click.Choice(list(METRICS)),
              help="Feature transform fitted on all candidates before the methods (selection/metric.py); default: the "
                   "study's choice (BENCHMARKS.md), raw with --paper-literal.")
@advanced_option("--metric-dims", type=int, help="Output dimensions of --metric pca / pca-whiten / pls (default 16).")
@advanced_option("--metric-parts", default="all", show_default=True,
              type=click.Choice(list(METRIC_PARTS)),
              help="Part of the motion vector to keep first (the pair x direction x scale layout of the paper's global-mean "
                   "vector: features of an `export-model --vector mean` model only).")
@click.option("--labels", type=click.Path(dir_okay=False), help="FileList.csv whose EF (and Split) override the file's.")
@click.option("--split", default="TRAIN", show_default=True, help="Select from this split; 'all' for every video.")
@click.option("--export-dataset", type=click.Path(file_okay=False), help="Write a distilled EchoNet folder here.")
@click.option("--deidentify/--no-deidentify", default=None,
              help="De-identified export: hashed names, no header, black outside the sector (default: on for a "
                   "DICOM source, which is never exported otherwise; off for others).")
@advanced_option("--deid-key", type=click.Path(dir_okay=False),
              help="Key file for the hashed names (read; created if absent). Default: EXPORT.deid-key beside the export.")
@click.option("--data", "data_dir", type=click.Path(file_okay=False),
              help="Source dataset for --export-dataset and for the previews of --report.")
@advanced_option("--plot", type=click.Path(dir_okay=False), help="PNG of each class's graph (needs matplotlib).")
@click.option("--report", type=click.Path(dir_okay=False),
              help="Self-contained HTML page of the selection (animated previews need --data).")
@click.option("--overwrite", is_flag=True,
              help="Replace existing outputs (--out, --plot, --report, --export-dataset); else they are an error.")
@click.option("--self-check", "self_check", is_flag=False, flag_value=20, default=None, type=click.IntRange(min=2),
              metavar="[N]", help="After the selection: this method against Random on N pool-resampled seeds (default "
                                  "20) of your labelled pool, scored by a ridge read-out; prints one sentence, writes "
                                  "OUT's .self-check.json (docs/self-check.md; needs scikit-learn).")
def select_cmd(features_path, vpc, out, method, seed, k, mode, weighting, centrality, choice, trials, paper_literal,
               labels, split, export_dataset, deidentify, deid_key, data_dir, plot, report, overwrite,
               exact_knn, ann, ann_threshold, pca, pca_moved, threads, metric_name, metric_dims, metric_parts,
               self_check) -> None:
    """Pick VPC representative videos per EF class from a features file (--help-all: every option)."""
    from infomotion_rt import api
    from infomotion_rt.share.dataset import check_export_options
    from infomotion_rt.selection import methods as sel_mod
    from infomotion_rt.errors import ConfigError
    from infomotion_rt.selection.knn_index import KnnConfig
    from infomotion_rt.selection.metric import metric_config

    pca = pca if pca is not None else pca_moved
    check_export_options(export_dataset, data_dir, deidentify, deid_key)
    options = dict(vpc=vpc, method=method, seed=seed, split=None if split.lower() == "all" else split, k=k, mode=mode,
                   weighting=weighting, centrality=centrality, trials=trials, paper_literal=paper_literal,
                   knn=KnnConfig(index="exact" if exact_knn else "auto", ann=ann, ann_threshold=ann_threshold,
                                 pca=pca, threads=threads),
                   metric=metric_config(metric_name, metric_dims, metric_parts, paper_literal), choice=choice)
    cfg = api.select_config(**options)   # a bad value fails here, before any output or input is looked at
    sel_mod.check_outputs(overwrite, export_dir=export_dataset, out=out, plot=plot, report=report)
    if self_check is not None:
        from infomotion_rt.selection import self_check as sc

        sc.check(method)   # --method random / no scikit-learn: one line before any work
        if sc.json_path(out).exists() and not overwrite:
            raise ConfigError(f"{sc.json_path(out)}: exists; pass --overwrite to replace it (--self-check)")
    fs = api.read_features(features_path)
    if data_dir:  # an export or report of another dataset fails here, before the selection
        sel_mod.check_features_in_data(fs, data_dir, features_path)
    written: list[str] = []   # finished outputs, for the line an interruption prints
    try:
        _select_outputs(sel_mod, fs, cfg, options, features_path, labels, method, seed, out, plot, export_dataset,
                        deidentify, deid_key, data_dir, report, overwrite, written, self_check)
    except (KeyboardInterrupt, Terminated) as exc:
        exc.resume_hint = ("no output was left half-written" + (f"; finished: {', '.join(written)} (rerun with "
                           "--overwrite to replace them)" if written else "; rerun the command to start again"))
        raise


def _select_outputs(sel_mod, fs, cfg, options: dict, features_path, labels, method, seed, out, plot, export_dataset,
                    deidentify, deid_key, data_dir, report, overwrite, written: list,
                    self_check: int | None = None) -> None:
    """select's work once its inputs and outputs are checked; appends each finished output to ``written``.
    ``cfg`` is ``api.select_config(**options)``, for the plot, the report and the self-check.
    ``self_check``: seeds of the self-check (selection/self_check.py), run after selection.csv is written."""
    from infomotion_rt import api

    notes = []
    if labels:
        fs, notes = sel_mod.attach_labels(fs, labels)
    result = api.select(fs, **options)
    for line in notes + result.notes:
        click.echo(f"note: {line}", err=True)
    click.echo(f"metric: {result.metric}" + (" (not used by random)" if method == "random" else ""))
    for line in result.summary:
        click.echo(line)
    click.echo(f"wrote {api.write_selection(out, result)} ({plural(len(result.rows), 'video')}, method {method}, seed {seed})")
    written.append(str(out))
    if plot:
        click.echo(f"wrote {sel_mod.plot_selection(result, cfg, plot)}")
        written.append(str(plot))
    if export_dataset:  # the picks with their class-prior weights
        ex = api.export_dataset(result, data_dir, export_dataset, deidentify=deidentify, key_file=deid_key,
                                overwrite=overwrite, progress=True)
        written.append(str(export_dataset))
        for line in ex.problems.lines():
            click.echo(f"export: {line}", err=True)
        if ex.deidentified:
            click.echo(f"wrote de-identified dataset {ex.out_dir} ({plural(ex.n_videos, 'video')}); key {ex.key_file}"
                       f"{' (new: keep it private)' if ex.key_generated else ''}; mapping {ex.map_file} (private)")
        else:
            click.echo(f"wrote distilled dataset {ex.out_dir} ({plural(ex.n_videos, 'video')})")
    checked = None
    if self_check is not None:
        from infomotion_rt.selection import self_check as sc

        checked = sc.run_self_check(fs, cfg, self_check, log=lambda line: click.echo(line, err=True))
        click.echo(checked["sentence"])
        click.echo(f"wrote {sc.write_json(checked, out, features_path)}")
        written.append(str(sc.json_path(out)))
    if report:
        from infomotion_rt.phantom.truth import load_nuisances
        from infomotion_rt.share.report import write_selection_report

        drawn = open(plot, "rb").read() if plot else None  # the --plot figure, not drawn twice
        shared = export_dataset and ex.deidentified  # the page names pseudonyms and shows the cleaned videos
        page_data = ex.out_dir if shared else data_dir
        rep = write_selection_report(report, result, cfg, features=features_path, graph_png=drawn,
                                     data_dir=page_data, rename=ex.names if shared else None, require_previews=True,
                                     nuisances=load_nuisances(page_data) if page_data else None,
                                     header={"self-check": checked["sentence"]} if checked else None)
        for line in rep.failures:
            click.echo(f"report: {line}", err=True)
        click.echo(f"wrote {rep.path} (" + (f"{plural(rep.previews, 'preview')})" if data_dir else "no --data: tables only)"))


@cli.command("report")
@pediatric_options
@click.argument("selections", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", default="report.html", show_default=True, type=click.Path(dir_okay=False))
@click.option("--data", "data_dir", type=click.Path(file_okay=False),
              help="Dataset the videos come from (animated previews; a phantom's nuisance kinds).")
@click.option("--chart", type=click.Path(dir_okay=False), help="A PNG to show on top, e.g. a benchmark's table1.png.")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (else an existing output is an error).")
def report_cmd(selections, out, data_dir, chart, overwrite) -> None:
    """One HTML page of several selection CSVs side by side (per-selection nuisance table on a phantom)."""
    from infomotion_rt.errors import ConfigError
    from infomotion_rt.phantom.truth import load_nuisances
    from infomotion_rt.share.report import selection_labels, view_of_csv, write_report

    views = [view_of_csv(s, label) for s, label in zip(selections, selection_labels(selections))]
    if os.path.exists(out) and not overwrite:
        raise ConfigError(f"{out}: exists; pass --overwrite to replace it (--out)")
    charts = [("Chart", chart)] if chart else []
    rep = write_report(out, views, title="Selections compared",
                       data_dir=data_dir, charts=charts, nuisances=load_nuisances(data_dir) if data_dir else None)
    for line in rep.failures:
        click.echo(f"report: {line}", err=True)
    click.echo(f"wrote {rep.path} ({plural(len(selections), 'selection')}, "
               + (f"{plural(rep.previews, 'preview')})" if data_dir else "no --data: tables only)"))


@cli.command("phantom")
@click.argument("out_dir", type=click.Path(file_okay=False))
@click.option("--n", "n", default=300, show_default=True, type=click.IntRange(min=1), help="Number of videos.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--style", default="dynamic", show_default=True, type=click.Choice(["dynamic", "synthetic"]),
              help="EchoNet-Dynamic layout with tracings, or EchoNet-Synthetic-like (no tracings, 192 frames).")
@click.option("--frames", type=click.IntRange(min=8), default=None,
              help="Fixed number of frames per video (default 64-160 dynamic, 192 synthetic).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--preview", is_flag=True, help="Also write OUT_DIR/preview.png (frames across a cycle per EF class).")
@click.option("--overwrite", is_flag=True, help="Replace a non-empty OUT_DIR.")
@click.option("--nuisance", "nuisance_pairs", multiple=True, metavar="NAME=STRENGTH",
              help="Acquisition nuisance strength (1 = default, 0 = off): drift, breathing_gain, gain_steps, "
                   "rr_variability, breathing_motion. Repeatable; dynamic style only.")
@click.option("--archive", "archive_pairs", multiple=True, metavar="KIND=SHARE",
              help="Share (0..1) of archive-realism clips of a kind: foreshortened, off_axis, other_view, "
                   "label_noise, wrong_label, very_short, zoom_outlier. Repeatable; dynamic style only.")
@click.option("--no-nuisance", is_flag=True, help="Start every --nuisance strength from 0 instead of the default.")
@click.option("--no-archive", is_flag=True, help="Start every --archive share from 0 instead of the default.")
@click.option("--clean", is_flag=True, help="Both --no-nuisance and --no-archive: clean, periodic, well-labelled clips.")
def phantom_cmd(out_dir, n, seed, style, frames, workers, preview, overwrite, nuisance_pairs, archive_pairs,
                no_nuisance, no_archive, clean) -> None:
    """Generate a phantom apical four-chamber echo dataset (EchoNet layout) in OUT_DIR.

    The knobs and their defaults' reasons: phantom/nuisance.py and phantom/archive.py; what each
    video got is in OUT_DIR/phantom_truth.json.
    """
    from infomotion_rt.phantom.archive import ArchiveConfig
    from infomotion_rt.phantom.nuisance import NuisanceConfig
    from infomotion_rt.phantom.generate import generate, knob_config
    from infomotion_rt.errors import ConfigError

    nuisance = knob_config(NuisanceConfig, nuisance_pairs, off=no_nuisance or clean)
    archive = knob_config(ArchiveConfig, archive_pairs, off=no_archive or clean)
    if style != "dynamic" and (nuisance_pairs or archive_pairs):
        raise ConfigError("phantom: --nuisance and --archive apply to --style dynamic only (synthetic clips have neither)")
    if frames is not None and archive.very_short > 0 and any(p.replace("-", "_").startswith("very_short") for p in archive_pairs):
        raise ConfigError("phantom: --archive very_short needs clips of varying length; drop --frames")
    s = generate(out_dir, n, seed=seed, style=style, frames=frames, workers=workers, preview=preview,
                 overwrite=overwrite, nuisance=nuisance, archive=archive)
    click.echo(f"wrote {plural(s.n_videos, s.style + ' phantom video')} to {s.out_dir} in {s.seconds:.1f} s "
               f"({s.videos_per_second:.1f} videos/s)")
    click.echo("splits: " + ", ".join(f"{k} {v}" for k, v in s.splits.items()))
    click.echo("EF classes (true EF, before label noise): " + ", ".join(f"{k} {v}" for k, v in s.classes.items()))
    if s.label_classes != s.classes:  # what info and select count
        click.echo("EF classes (FileList.csv's EF, as info and select count them): "
                   + ", ".join(f"{k} {v}" for k, v in s.label_classes.items()))
    if s.preview:
        click.echo(f"preview: {s.preview}")


@cli.command("info")
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--labels", "labels_csv", type=click.Path(dir_okay=False),
              help="CSV of FileName,EF[,Split] for a plain folder of videos (default: FileList.csv).")
@click.option("--quick", is_flag=True, help="Skip decoding a frame of every video (CSV and file checks only).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def info_cmd(data_dir, labels_csv, quick, as_json) -> None:
    """Counts per split and EF class, frame and FPS ranges, and every problem found, one line each."""
    import json

    from infomotion_rt import api
    from infomotion_rt.data.classes import DEFAULT_CLASSES
    from infomotion_rt.data.loader import summarize

    summary = summarize(api.load_dataset(data_dir, labels_csv, check_videos=not quick))
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{summary['root']}: {summary['layout']} layout, {summary['videos']} videos "
               f"({summary['traced']} traced, {summary['dropped']} dropped)")
    names = DEFAULT_CLASSES.names
    click.echo(f"{'split':<8}" + "".join(f"{n:>14}" for n in names) + f"{'total':>8}")
    for split, row in summary["counts"].items():
        click.echo(f"{split:<8}" + "".join(f"{row[n]:>14}" for n in names) + f"{sum(row.values()):>8}")
    totals = [sum(row[n] for row in summary["counts"].values()) for n in names]
    click.echo(f"{'all':<8}" + "".join(f"{t:>14}" for t in totals) + f"{sum(totals):>8}")
    span = lambda v: "-" if v is None else f"{v[0]:g}-{v[1]:g}"  # noqa: E731
    fps_video = f", in the videos {span(summary['fps_video'])}" if summary["videos_checked"] else ""
    click.echo(f"frames {span(summary['frames'])}; FPS {span(summary['fps'])}{fps_video}")
    if summary["ef_vs_tracings"]:
        e = summary["ef_vs_tracings"]
        click.echo(f"EF from the tracings vs FileList over {e['videos']} traced videos: "
                   f"mean |diff| {e['mean_abs']:.2f}, max {e['max_abs']:.2f} EF points")
    click.echo(plural(len(summary["problems"]), "problem") + (":" if summary["problems"] else ""))
    for line in summary["problems"]:
        click.echo(f"  {line}")


@cli.command("train-ifa")
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="Checkpoint to write (.pt).")
@click.option("--config", "config_name", default="small", show_default=True,
              type=click.Choice(["small", "base", "tiny"]),
              help="Model size; the small encoder has < 3 M parameters; tiny is for smoke tests.")
@click.option("--epochs", default=10, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--device", default="cpu", show_default=True, help="cpu or cuda.")
@click.option("--resume", is_flag=True, help="Continue the checkpoint at --out up to --epochs.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
              help="torch CPU threads (0 = torch's default).")
@click.option("--max-videos", type=click.IntRange(min=1), default=None,
              help="Use at most this many TRAIN (and VAL) videos (quick runs).")
def train_ifa_cmd(data_dir, out, config_name, epochs, batch_size, lr, device, resume, seed, threads,
                  max_videos) -> None:
    """Train the inter-frame-attention motion model on DATA_DIR's TRAIN frame triplets."""
    require("torch", what="train-ifa")  # torch only for the commands that need it
    from infomotion_rt.motion.train import TrainConfig, train_ifa

    cfg = TrainConfig(config=config_name, epochs=epochs, batch_size=batch_size, lr=lr, device=device,
                      seed=seed, threads=threads)
    s = train_ifa(data_dir, out, cfg, resume=resume, log=click.echo, max_videos=max_videos)
    if s["history"] and s["n_val"] == 0:
        click.echo("no VAL triplets: PSNR against the naive midpoint not measured")
    elif s["history"]:
        last = s["history"][-1]
        verdict = "beats" if last["val_psnr"] > last["naive_psnr"] else "does NOT beat"
        click.echo(f"VAL PSNR {last['val_psnr']:.2f} dB vs naive midpoint {last['naive_psnr']:.2f} dB: "
                   f"the model {verdict} the midpoint")
    click.echo(f"median step time {s['step_time_s']:.3f} s; wrote {s['out']}")


@cli.command("extract")
@pediatric_options
@click.argument("data_dir", type=click.Path(file_okay=False))
@click.option("--engine", default=None, type=click.Path(dir_okay=False),
              help="Motion model file; the backend is chosen by suffix (.pt torch, .onnx ONNX Runtime, "
                   ".plan/.engine TensorRT). Default: the shipped small encoder (models/MODEL_CARD.md).")
@click.option("--out", required=True, type=click.Path(),
              help="Features file to write (.npz), or a folder of Parquet shards (any other name, e.g. features/).")
@click.option("--split", type=click.Choice(["TRAIN", "VAL", "TEST"], case_sensitive=False), default=None,
              help="Only this split (default: every video).")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="auto", show_default=True,
              help="auto (a GPU when the backend finds one, else CPU), cpu, cuda; .onnx also tensorrt.")
@click.option("--threads", default=0, show_default=True, type=click.IntRange(min=0),
              help="Backend CPU threads (0 = its default).")
@click.option("--resume", is_flag=True,
              help="Keep the videos already in --out and extract only the rest (refused when --out holds another "
                   "dataset, split or model).")
@click.option("--overwrite", is_flag=True, help="Replace an existing --out (else an existing output is an error).")
@click.option("--keep-paths", is_flag=True,
              help="Record the engine's and the dataset's paths in the features file (default: engine file name "
                   "and hash only, no source folder).")
@click.option("--shard-size", default=512, show_default=True, type=click.IntRange(min=1),
              help="Videos per shard of a folder output (and between intermediate saves of a .npz).")
@click.option("--ray", "ray_address", is_flag=False, flag_value="local", default=None, metavar="[ADDRESS]",
              help="Extract on Ray Data (the [distributed] extra): 'local' (the default value) starts Ray on this "
                   "machine; an address (auto, HOST:6379, ray://HOST:10001) joins a running cluster.")
@click.option("--actors", default=None, type=click.IntRange(min=1),
              help="With --ray: encoder actors, one model session and 1 CPU each [default: 2].")
@click.option("--representation", default="encoder", show_default=True,
              type=click.Choice(["encoder", "flow"], case_sensitive=False),
              help="encoder: the motion model's vector; flow: the Farneback optical-flow baseline between the ED "
                   "and ES frames (flow-v1, 256 values; no model file, CPU; see infomotion_rt/extract/flow.py).")
def extract_cmd(data_dir, engine, out, split, batch_size, device, threads, resume, overwrite, keep_paths, shard_size,
                ray_address, actors, representation) -> None:
    """One motion vector per video of DATA_DIR into a features file or a folder of shards."""
    from infomotion_rt import api
    from infomotion_rt.errors import ConfigError
    from infomotion_rt.runtime import default_engine

    representation = representation.lower()
    if representation == "flow" and ray_address:
        raise ConfigError("--representation flow runs in one process; drop --ray")
    if representation == "encoder":
        engine = engine or default_engine()
    _INTERRUPT_HINT[:] = [f"rerun the same command with --resume to continue {out}"]
    log = lambda line: click.echo(line, err=True)  # noqa: E731  (the engine line, once data and output are checked)
    if ray_address:  # the Ray path is not part of the Python API: it calls its stage function itself
        from infomotion_rt.extract.pipeline import ExtractConfig
        from infomotion_rt.extract.ray_cluster import RayConfig, extract_on_ray, require_ray

        cfg = ExtractConfig(split=split.upper() if split else None, batch_size=batch_size, device=device,
                            threads=threads, resume=resume, keep_paths=keep_paths, save_every=shard_size,
                            overwrite=overwrite)
        rc = RayConfig(address=ray_address, actors=actors or 2)
        require_ray()  # before any work
        r = extract_on_ray(data_dir, engine, out, cfg, rc, log=log)
        timing = f"decode {r.decode_s:.1f} s, inference {r.infer_s:.1f} s (summed over actors)"
    else:
        if actors is not None:
            raise ConfigError("--actors needs --ray (local or a cluster address)")
        r = api.extract_features(data_dir, out, engine=engine, representation=representation, split=split,
                                 batch_size=batch_size, device=device, threads=threads, resume=resume,
                                 overwrite=overwrite, keep_paths=keep_paths, save_every=shard_size, progress=True,
                                 log=log)
        step = "flow" if representation == "flow" else "inference"
        timing = (f"decode {r.decode_s:.1f} s (background), {step} {r.infer_s:.1f} s, "
                  f"{'flow' if representation == 'flow' else 'encoder'} waited {r.wait_s:.1f} s")
    rate = r.n_new / r.wall_s if r.wall_s > 0 else float("nan")
    click.echo(f"extracted {r.n_new} videos ({r.n_skipped} already there) in {r.wall_s:.1f} s, "
               f"{rate:.1f} videos/s; {timing}")
    if r.problems:
        click.echo(f"{plural(len(r.problems), 'problem')}:")
        for line in r.problems.lines():
            click.echo(f"  {line}")
    click.echo(f"wrote {r.n_total} vectors to {r.path}")


@cli.command("export-model")
@pediatric_options
@click.argument("checkpoint", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="ONNX file to write (.onnx).")
@click.option("--training-data", default="", help="What the model was trained on (stored in the metadata).")
@click.option("--opset", default=20, show_default=True, type=click.IntRange(min=17))
@click.option("--vector", default="ed-es-flow", show_default=True,
              type=click.Choice(["ed-es-flow", "motion-grid", "mean", "flow-grid"]),
              help="The motion vector the model outputs: ed-es-flow = the model's flows for the ED->ES pair on an "
                   "8x8 grid (384-D; best for EF); motion-grid = that pair's 1/8 motion maps on a 4x4 grid (1024-D "
                   "for small); mean = motion maps averaged over space (the paper's, 256-D); flow-grid = the "
                   "flows of both pairs on an 8x8 grid (768-D).")
@click.option("--int8", is_flag=True,
              help="Also make an int8 model (ONNX Runtime static quantisation): from a .pt, OUT_int8.onnx beside "
                   "OUT; CHECKPOINT may also be an FP32 .onnx (e.g. the shipped one), then OUT is the int8 model.")
@click.option("--int8-format", default="qdq", show_default=True, type=click.Choice(["qdq", "qoperator"]),
              help="ONNX Runtime's int8 layout.")
@click.option("--calibration", "calibration_dir", default=None, type=click.Path(file_okay=False),
              help="Dataset folder whose videos calibrate --int8 (default: a phantom generated for it).")
@click.option("--calibration-videos", default=64, show_default=True, type=click.IntRange(min=4))
def export_cmd(checkpoint, out, training_data, opset, vector, int8, int8_format, calibration_dir,
               calibration_videos) -> None:
    """Export the motion encoder of an IFA checkpoint (.pt) to ONNX with metadata (needs the [train] extra);
    --int8 quantises it (or an existing FP32 .onnx)."""
    from pathlib import Path

    from infomotion_rt.errors import ConfigError
    from infomotion_rt.motion.export import export_onnx

    if checkpoint.lower().endswith(".onnx"):
        if not int8:
            raise ConfigError(f"{checkpoint}: already an ONNX model; add --int8 to quantise it")
        fp32, int8_out = Path(checkpoint), Path(out)
    else:
        path = export_onnx(checkpoint, out, training_data=training_data, opset=opset, vector=vector)
        click.echo(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB; input frames [batch, 4, S, S], output motion)")
        if not int8:
            return
        from infomotion_rt.motion.quantize import int8_path_for

        fp32, int8_out = path, int8_path_for(path)
    from infomotion_rt.motion.quantize import calibration_frames, quantize_onnx
    from infomotion_rt.runtime.contract import check_metadata
    from infomotion_rt.runtime.onnx_backend import read_onnx_metadata

    size = int(check_metadata(read_onnx_metadata(fp32), fp32)["image_size"])
    frames, what = calibration_frames(calibration_dir, calibration_videos, size)
    rep = quantize_onnx(fp32, int8_out, frames, fmt=int8_format, calibration=what)
    click.echo(f"wrote {rep.path} ({rep.path.stat().st_size / 1e6:.1f} MB, int8 {rep.fmt}, calibrated on "
               f"{rep.n_calibration} videos of {what}; vs FP32 on {rep.n_check} held-out videos: relative error "
               f"median {rep.median_rel_error:.2e}, max {rep.max_rel_error:.2e})")


@cli.command("build-engine")
@click.argument("onnx_model", type=click.Path(dir_okay=False))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="TensorRT plan (.plan/.engine).")
@click.option("--fp16", is_flag=True, help="FP16 kernels where the installed TensorRT has the FP16 flag.")
@click.option("--min-batch", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--opt-batch", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--max-batch", default=64, show_default=True, type=click.IntRange(min=1))
@click.option("--workspace-mb", default=1024, show_default=True, type=click.IntRange(min=16))
def build_engine_cmd(onnx_model, out, fp16, min_batch, opt_batch, max_batch, workspace_mb) -> None:
    """Build a TensorRT engine from an exported encoder, plus OUT.json with its metadata (needs TensorRT)."""
    from infomotion_rt.motion.export import build_engine
    from infomotion_rt.runtime.contract import sidecar_path

    path = build_engine(onnx_model, out, fp16=fp16, min_batch=min_batch, opt_batch=opt_batch,
                        max_batch=max_batch, workspace_mb=workspace_mb, log=lambda m: click.echo(m, err=True))
    click.echo(f"wrote {path} and {sidecar_path(path)}")


# `export` was the model export's name before 0.2 (now export-model, beside select --export-dataset).
cli.add_command(renamed(export_cmd, "export"))


# evaluate, benchmark, relabel, demo: defined in evaluate/commands.py (torch only inside their bodies).
from infomotion_rt.evaluate.commands import COMMANDS as _EVAL_COMMANDS  # noqa: E402

for _cmd in _EVAL_COMMANDS:
    cli.add_command(_cmd)


# What an interrupted command prints after "interrupted": set by a command that can be continued
# (extract: --resume), refined by the stage through the exception's ``resume_hint``.
_INTERRUPT_HINT: list[str] = []
_MAIN_PID = os.getpid()


def _on_sigterm(signum, frame) -> None:
    """SIGTERM -> Terminated in the main thread, so the same clean-up as Ctrl-C runs (threads joined,
    vectors saved, temporaries removed). A forked worker (multiprocessing) keeps the default: it dies."""
    if os.getpid() != _MAIN_PID:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise Terminated()


def _interrupted(exc: BaseException, code: int) -> None:
    hint = getattr(exc, "resume_hint", None) or (_INTERRUPT_HINT[0] if _INTERRUPT_HINT else
                                                 "no output was left half-written; rerun the command to start again")
    what = "interrupted (Ctrl-C)" if code == 130 else "terminated (SIGTERM)"
    click.echo(f"{what}: {hint}", err=True)
    sys.exit(code)


def main() -> None:
    """The console script: one line and exit 1 for bad input, 130 on Ctrl-C, 143 on SIGTERM."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        rc = cli.main(standalone_mode=False)
    except click.exceptions.Abort as exc:   # click turns KeyboardInterrupt into Abort (the cause)
        _interrupted(exc.__cause__ or exc, 130)
    except KeyboardInterrupt as exc:        # after click's own handling (e.g. while it prints)
        _interrupted(exc, 130)
    except Terminated as exc:
        _interrupted(exc, 143)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except InfoMotionError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
