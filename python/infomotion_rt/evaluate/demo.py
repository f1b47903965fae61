"""The end-to-end demo (the README's main job): phantom -> one vector per video -> the selection methods
scored with paired pool-resampled seeds by the probe read-out and by a small weighted CNN -> the
self-check -> ``summary.md``, whose first line states the finding (issue 16, item 7).

Steps (``run_demo``), sized to finish within 10 minutes on 2 CPU cores (BENCHMARKS.md, "Demo wall time"):

1. a dynamic-style phantom of ``DemoConfig.n_real`` videos (900: about 12 % TEST, >= 100 TEST videos);
2. ``extract`` of every split in the selection representation (``DemoConfig.representation``; default
   ``DEMO_REPRESENTATION`` = flow: whole-pool ridge R² 0.84 against the shipped encoder's 0.74 on the
   development phantom, BENCHMARKS.md "IFA motion vectors"), and the independent pixels
   representation (``pixels.py``) the probe scores with;
3. ``benchmark --instrument probe`` (``probe_benchmark.run_probe_benchmark``): ``probe_seeds`` paired
   pool-resampled seeds (share ``pool_share``), VPC 5 and 10, ``methods``; paired differences against
   Random and the best peer on both representations (``probe/``);
4. ``benchmark --instrument cnn`` (``benchmark.run_pool_benchmark``): ``cnn_methods`` at ``cnn_vpc`` on the
   first ``cnn_seeds`` seeds of the probe (the same pool, hence the same draws), ``setting`` (cpu-small),
   trained with the class-prior weights (``cnn/``);
5. ``select --method infomotion --vpc cnn_vpc --self-check self_check_seeds`` on the TRAIN pool
   (``selection/selection.csv`` and ``selection.self-check.json``);
6. ``summary.md``: first line ``finding_line`` (computed from the results), then the tables, the CNN cell,
   the self-check's sentence, ``CAVEATS`` and the wall time of every step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

from infomotion_rt.atomic import atomic_write_text
from infomotion_rt.console import plural
from infomotion_rt.errors import ConfigError, DataError

# The selection representation by default: flow. The shipped ed-es-flow encoder now beats it on whole-pool ridge
# (held-out seed 61: R² 0.882 vs 0.836), but its nearest neighbours in the selection's default metric (pls-16)
# share EF less well (kNN MAE 5.41 vs 4.73), and the selection works on neighbours (BENCHMARKS.md, "Held-out
# check of the ed-es-flow vector"). Flip to "encoder" when its selections beat flow's.
DEMO_REPRESENTATION = "flow"
DEMO_REPRESENTATIONS = ("flow", "encoder")
REP_WORDS = {"flow": "optical-flow vectors", "encoder": "shipped-encoder motion vectors"}


@dataclass(frozen=True)
class DemoConfig:
    """What the demo runs; defaults fit 10 minutes on 2 shared cores (BENCHMARKS.md, "Demo wall time")."""
    n_real: int = 900          # ~12 % TEST split -> >= 100 TEST videos
    seed: int = 0              # phantom seed, first pool-draw seed and the CNN's first training seed
    representation: str = DEMO_REPRESENTATION   # selection space: flow | encoder
    vpcs: tuple[int, ...] = (5, 10)             # probe VPCs
    methods: tuple[str, ...] = ("random", "infomotion", "typiclust", "probcover", "maxherding")
    probe_seeds: int = 30      # issue 16.7: at least 30 pool-resampled seeds
    pool_share: float = 0.8    # issue 16.3
    setting: str = "cpu-small"  # the CNN: 8 frames @ 32x32 over 1.2 cycles, 150 steps (regressor.SETTINGS)
    steps: int | None = None   # CNN steps per distilled model (None: the setting's)
    cnn_vpc: int = 10
    cnn_methods: tuple[str, ...] = ("random", "infomotion")
    cnn_seeds: int = 3         # issue 16.7: >= 3; 5 took 486-619 s in all on the shared 2 cores (BENCHMARKS.md)
    self_check_seeds: int = 20  # select --self-check's default (self_check.DEFAULT_SEEDS)
    overwrite: bool = False
    threads: int = 1           # one thread: on a shared 2-core machine 2 OpenMP threads stall each other
    workers: int = 2           # phantom generation processes
    frames: int | None = None  # phantom frames per video (None: the dynamic style's; tests pass fewer)

    def __post_init__(self) -> None:
        if self.representation not in DEMO_REPRESENTATIONS:
            raise ConfigError(f"--representation must be one of {', '.join(DEMO_REPRESENTATIONS)}, "
                              f"got {self.representation!r}")
        if self.probe_seeds < 2 or self.cnn_seeds < 0 or (self.cnn_seeds == 1):
            raise ConfigError(f"the demo needs >= 2 probe seeds and 0 or >= 2 CNN seeds (paired intervals), got "
                              f"{self.probe_seeds} and {self.cnn_seeds}")
        if self.cnn_vpc not in self.vpcs:
            raise ConfigError(f"the CNN's VPC {self.cnn_vpc} must be one of the probe's {self.vpcs}")


CAVEATS = """What these numbers can show: on this phantom, whether {n_picks} picks chosen by each method give a
better linear read-out of EF than {n_picks} random picks from the same pool draw, with paired 95 % intervals
over {seeds} pool-resampled seeds (an interval that contains 0 means no evidence either way), on the vectors
the selection used and on an independent pixel representation no method sees; and whether a small CNN
trained from scratch on the picks (weighted, {cnn_seeds} seeds) agrees. What they cannot show: a result on
real echocardiograms. The phantom is a simplified heart with exact EF labels; the read-out is a ridge
regression on frozen vectors, not a trained video model; the CNN is the reduced `{setting}` setting with
{steps} steps, far from the paper's r2plus1d_18, and with {cnn_seeds} seeds its interval is wide. The demo's
phantom (seed {seed}) is neither the development phantom the methods were tuned on nor a held-out one:
BENCHMARKS.md has the held-out measurements and their misses. The self-check splits this TRAIN pool
again (70 % to select from, 30 % to score), so it answers about smaller selection pools than the
benchmark's."""


def _ci_text(d: dict, digits: int = 2) -> str:
    if d.get("ci_low") is not None and math.isfinite(d.get("ci_low", math.nan)):
        return f"{d['mean']:+.{digits}f} [{d['ci_low']:+.{digits}f}, {d['ci_high']:+.{digits}f}]"
    return f"{d['mean']:+.{digits}f} [no interval]"


def verdict_words(d: dict) -> str:
    """Plain words for a paired MAE difference (method − reference, EF points; lower is better), by its
    95 % interval only (``self_check.VERDICT_DEFINITION``): "lower MAE, better" when the upper end is below
    0, "higher MAE, worse" when the lower end is above 0, else "no clear difference"."""
    from infomotion_rt.selection.self_check import verdict

    v = verdict(d)
    return {"better": "lower MAE, better", "worse": "higher MAE, worse"}.get(v, v)


def finding_line(probe: dict, cnn: dict | None, n_videos: int, representation: str, vpc: int) -> str:
    """``summary.md``'s first line: the finding in plain words, computed from the results.

    ``probe``: ``run_probe_benchmark``'s dict (``cells[rep][str(vpc)]["methods"][m]`` with ``summary`` and
    ``vs_random`` / ``vs_best_peer`` differences, ``best_peer``, ``seeds``); ``cnn``: ``run_pool_benchmark``'s
    dict or None (no CNN cell); ``n_videos``: the phantom's size; ``representation``: the selection
    space's key in ``REP_WORDS``; ``vpc``: the cell the sentence is about (the probe must hold it).
    MAE in EF points; every verdict is ``verdict_words`` of the 95 % paired interval, so the line never
    claims more than its interval shows, also when no method beats Random. KeyError when the probe lacks
    the cell or InfoMotion / Random."""
    def cell_words(rep: str, where: str) -> str:
        c = probe["cells"][rep][str(vpc)]
        info, rnd = c["methods"]["infomotion"], c["methods"]["random"]
        d = info["vs_random"]["mae"]
        return (f"{info['summary']['mae']['mean']:.2f} against {rnd['summary']['mae']['mean']:.2f} for random picks "
                f"{where} (Δ {_ci_text(d)}: {verdict_words(d)})")

    motion = probe["cells"]["motion"][str(vpc)]
    runs = motion["methods"]["infomotion"]["runs"]
    n_picks = runs[0]["n_picks"] if runs else "its"
    line = (f"On this {n_videos:,}-video phantom, InfoMotion's {n_picks} picks ({vpc} videos per class) gave a read-out MAE of "
            + cell_words("motion", f"on the {REP_WORDS.get(representation, representation)} it selected on")
            + " and " + cell_words("pixels", "on independent pixel features")
            + f", over {len(probe['seeds'])} paired pool-resampled seeds")
    peers = []
    for rep, where in (("motion", "on the selection space"), ("pixels", "on pixels")):
        c = probe["cells"][rep][str(vpc)]
        best, d = c.get("best_peer"), c["methods"]["infomotion"].get("vs_best_peer")
        if best and best != "infomotion" and d:
            peers.append(f"{best} {where} Δ {_ci_text(d['mae'])} ({verdict_words(d['mae'])})")
    if peers:
        line += "; against the best peer: " + ", ".join(peers)
    beat = []
    for rep, where in (("motion", "on the selection space"), ("pixels", "on pixels")):
        ms = [m for m, c in probe["cells"][rep][str(vpc)]["methods"].items()
              if m != "random" and verdict_words((c.get("vs_random") or {}).get("mae", {})).endswith("better")]
        beat.append(f"{', '.join(ms) if ms else 'none'} {where}")
    line += "; methods that beat Random: " + " and ".join(beat)
    if cnn is not None:
        c = cnn["cells"]["cnn"].get(str(vpc)) or next(iter(cnn["cells"]["cnn"].values()))
        d = (c["methods"].get("infomotion") or {}).get("vs_random")
        if d:
            info, rnd = c["methods"]["infomotion"], c["methods"]["random"]
            floor = cnn["references"]["mean_ef"]["mae"]
            above = min(info["summary"]["mae"]["mean"], rnd["summary"]["mae"]["mean"]) > floor
            line += (f"; a small weighted CNN ({plural(len(cnn['seeds']), 'seed')}) gave MAE "
                     f"{info['summary']['mae']['mean']:.2f} against {rnd['summary']['mae']['mean']:.2f} "
                     f"(Δ {_ci_text(d['mae'])}: {verdict_words(d['mae'])}), "
                     + (f"both worse than the constant Mean-EF predictor's {floor:.2f}" if above
                        else f"with the constant Mean-EF predictor at {floor:.2f}"))
    return line + "."


def cnn_lines(cnn: dict) -> list[str]:
    """The CNN cell(s) of ``summary.md``: every method's MAE / R² / accuracy over the seeds, InfoMotion −
    Random with its interval, and the Mean-EF reference (``run_pool_benchmark``'s dict)."""
    from infomotion_rt.evaluate.regressor import setting_words
    from infomotion_rt.evaluate.tables import DISPLAY

    ref = cnn["references"]["mean_ef"]
    out = [f"CNN ({setting_words(cnn)}, {cnn['steps']} steps, weights {cnn['weights']}; {len(cnn['seeds'])} paired "
           f"seeds on the probe's first draws; {cnn['n_test']} TEST videos):"]
    for v, cell in cnn["cells"]["cnn"].items():
        for m, c in cell["methods"].items():
            s = c["summary"]
            line = (f"  {DISPLAY.get(m, m)} VPC={v}: MAE {s['mae']['mean']:.2f} ± {s['mae']['std']:.2f} EF, R² "
                    f"{s['r2']['mean']:.3f}, accuracy {100 * s['acc']['mean']:.1f} %, balanced "
                    f"{100 * s['bal_acc']['mean']:.1f} %")
            d = c.get("vs_random")
            if d:
                line += f"; ΔMAE vs Random {_ci_text(d['mae'])} ({verdict_words(d['mae'])})"
            out.append(line)
    out.append(f"  Mean-EF reference (constant {ref['value']:.1f}): MAE {ref['mae']:.2f} EF, R² {ref['r2']:.3f}")
    return out


def _check_inputs(out: Path, cfg: DemoConfig, engine):
    """Everything that can fail before any work: dependencies, the encoder file, the output folder."""
    from infomotion_rt.errors import require
    from infomotion_rt.selection.self_check import check as self_check_check

    require("sklearn", what="demo", hint="install the [train] extra")
    if cfg.cnn_seeds:
        require("torch", "torchvision", what="demo")
    self_check_check("infomotion")
    from infomotion_rt.evaluate.probe_benchmark import available_methods

    available_methods(cfg.methods, log=lambda s: None)   # unknown methods fail here
    if cfg.representation == "flow":
        if engine is not None:
            raise ConfigError(f"--engine {engine}: the flow representation uses no model; pass "
                              "--representation encoder to select on an encoder's vectors")
    else:
        from infomotion_rt.evaluate.benchmark import find_default_engine

        engine = Path(engine) if engine else find_default_engine()
        if not engine.is_file():
            raise DataError(f"{engine}: motion model not found")
    if out.exists() and any(out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"{out}: exists and is not empty; pass --overwrite or another --out")
    return engine


def _can_plot() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def run_demo(out_dir, cfg: DemoConfig = DemoConfig(), engine=None, log=print, progress: bool = True) -> dict:
    """The steps of the module docstring into ``out_dir``. ``engine``: encoder model file for
    ``representation`` encoder (None: the shipped one); must be None for flow. ``progress``: progress
    bars and per-seed lines. Returns {what: path or
    text} (``summary``, the probe's and CNN's outputs, the selection, ``finding``, ``total wall time``).
    ConfigError for bad options or a non-empty ``out_dir`` without ``cfg.overwrite``; DataError for a
    missing encoder; DependencyError without scikit-learn (or torch with CNN seeds); all before any work."""
    from infomotion_rt.data.loader import load_dataset
    from infomotion_rt.phantom.generate import generate
    from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
    from infomotion_rt.extract.files import read_features
    from infomotion_rt.extract.pixels import load_or_build
    from infomotion_rt.selection import methods as sel_mod
    from infomotion_rt.selection import self_check as sc
    from infomotion_rt.evaluate.training import limit_threads

    out = Path(out_dir)
    engine = _check_inputs(out, cfg, engine)
    limit_threads(cfg.threads)  # phantom workers are spawned processes with their own one thread
    plot = _can_plot()
    t0 = time.perf_counter()
    paths, times = {}, {}

    def step(name: str, t: float) -> None:
        times[name] = time.perf_counter() - t
        log(f"[demo] {name}: {times[name]:.1f} s")

    t = time.perf_counter()
    phantom_dir = generate(out / "phantom", cfg.n_real, seed=cfg.seed, style="dynamic", frames=cfg.frames,
                           workers=cfg.workers, overwrite=True, progress=progress).out_dir
    paths["phantom"] = phantom_dir
    step("phantom", t)

    t = time.perf_counter()
    feats = out / f"phantom_{cfg.representation}.npz"
    extract_features(phantom_dir, engine if cfg.representation == "encoder" else None, feats,
                     ExtractConfig(split=None, threads=cfg.threads, overwrite=True), log=log, progress=progress,
                     representation=cfg.representation)
    paths["features"] = feats
    step(f"extract ({cfg.representation}, every split)", t)
    t = time.perf_counter()
    _, pix = load_or_build(load_dataset(phantom_dir, progress=False).records, feats, log=log)
    paths["pixels"] = pix["path"]
    step("pixels (independent representation)", t)

    t = time.perf_counter()
    from infomotion_rt.evaluate.probe_benchmark import probe_table_markdown, run_probe_benchmark

    probe = run_probe_benchmark(phantom_dir, feats, vpcs=cfg.vpcs, seeds=cfg.probe_seeds, seed=cfg.seed, methods=cfg.methods,
                                share=cfg.pool_share, threads=cfg.threads, out_dir=out / "probe", log=log,
                                plot=plot, progress=progress)
    paths.update({f"probe {k}": v for k, v in probe["outputs"].items()})
    step(f"probe benchmark ({plural(len(probe['seeds']), 'seed')})", t)

    cnn = None
    if cfg.cnn_seeds:
        t = time.perf_counter()
        from infomotion_rt.evaluate.benchmark import BenchmarkConfig, run_pool_benchmark
        from infomotion_rt.evaluate.protocol import EvalConfig
        from infomotion_rt.evaluate.regressor import get_setting
        from infomotion_rt.evaluate.training import TrainConfig

        setting = get_setting(cfg.setting)
        ev = EvalConfig(setting=setting, train=TrainConfig(steps=cfg.steps or setting.steps,
                                                           batch_size=setting.batch_size, lr=setting.lr,
                                                           threads=cfg.threads), seed=cfg.seed)
        bcfg = BenchmarkConfig(eval=ev, vpcs=(cfg.cnn_vpc,), methods=cfg.cnn_methods, plot=plot)
        cnn = run_pool_benchmark(phantom_dir, bcfg, out / "cnn", seeds=cfg.cnn_seeds, share=cfg.pool_share,
                                 features=feats, pool_names=probe["pool"], log=log, progress=False)
        paths.update({f"cnn {k}": v for k, v in cnn["outputs"].items()})
        step(f"CNN benchmark ({cfg.setting}, {plural(cfg.cnn_seeds, 'seed')})", t)

    t = time.perf_counter()
    fs = read_features(feats)
    scfg = sel_mod.SelectConfig(vpc=cfg.cnn_vpc, method="infomotion", seed=cfg.seed)
    sel = sel_mod.select_features(fs, scfg)
    sel_csv = sel_mod.write_selection(out / "selection" / "selection.csv", sel.rows)
    checked = sc.run_self_check(fs, scfg, cfg.self_check_seeds, log=log)
    paths.update(selection=sel_csv, self_check=sc.write_json(checked, sel_csv, feats))
    step(f"select --self-check {cfg.self_check_seeds}", t)

    finding = finding_line(probe, cnn, cfg.n_real, cfg.representation, cfg.cnn_vpc)
    n_picks = probe["cells"]["motion"][str(cfg.cnn_vpc)]["methods"]["infomotion"]["runs"][0]["n_picks"]
    caveats = CAVEATS.format(n_picks=n_picks, seeds=len(probe["seeds"]), cnn_seeds=cfg.cnn_seeds,
                             setting=cfg.setting, steps=cnn["steps"] if cnn else "no", seed=cfg.seed)
    wall = time.perf_counter() - t0
    probe_md = probe_table_markdown(probe).split("\n", 1)[1].lstrip("\n")   # without its own title
    probe_md = "\n".join(x for x in probe_md.splitlines() if not x.startswith(("Note: ", "(")))  # notes below
    cmd_feats = f"{out}/phantom_{cfg.representation}.npz"
    text = "\n".join([
        finding, "",
        "# infomotion-rt demo",
        "",
        f"Phantom: {cfg.n_real} dynamic-style videos (seed {cfg.seed}; {probe['n_pool']} TRAIN, {probe['n_test']} "
        f"TEST). Selection space: {REP_WORDS[cfg.representation]} (`extract --representation "
        f"{cfg.representation}`). Read-out (probe): {probe['probe']}", "",
        "## Probe read-out: every method against Random and the best peer", "",
        f"`infomotion-rt benchmark {phantom_dir} --instrument probe --features {cmd_feats} --seeds {cfg.probe_seeds} "
        f"--pool-share {cfg.pool_share} " + " ".join(f"--vpc {v}" for v in cfg.vpcs)
        + f" --methods {','.join(cfg.methods)}` (paired differences: method − reference, lower MAE is better)", "",
        probe_md.replace("\n## ", "\n### "),
        *([f"{len(probe['notes'])} notes of the selections (e.g. classes where Infomap found fewer communities "
           f"than VPC): {out / 'probe' / 'results.json'}.", ""] if probe["notes"] else []),
        "## CNN (weighted, from scratch)", "",
        *(cnn_lines(cnn) if cnn else ["not run (--cnn-seeds 0)"]), "",
        "## Self-check on this pool", "",
        f"`infomotion-rt select --features {cmd_feats} --vpc {cfg.cnn_vpc} --out {sel_csv} --self-check "
        f"{cfg.self_check_seeds}`:", "",
        checked["sentence"] + ".", "",
        "## What this can and cannot show", "",
        caveats, "",
        "## Wall time", "",
        f"{wall:.0f} s in all: " + "; ".join(f"{k} {v:.0f} s" for k, v in times.items()) + ".",
    ]) + "\n"
    paths["summary"] = atomic_write_text(out / "summary.md", text)
    for line in [finding, *(cnn_lines(cnn) if cnn else []), checked["sentence"]]:
        log(line)
    paths["finding"] = finding
    paths["total wall time"] = f"{wall:.0f} s"
    return paths
