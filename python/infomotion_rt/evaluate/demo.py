"""The end-to-end demo: phantoms -> motion features (shipped encoder) -> selection methods -> EF regressor
(the ``cpu-small`` setting: cardiac-cycle clips, step budgets) -> Table 1 with paired differences, for a real-style and a
synthetic-style set.

Sized to finish within 10 minutes on 2 CPU cores (BENCHMARKS.md, demo wall time): a real-style phantom
large enough for a TEST split of >= 100 videos, Random, k-means, InfoDist and InfoMotion at one VPC,
3 runs per cell, Dist. Real; Dist. Synth. (``with_synth``) roughly doubles the training time.
``summary.md`` (and the console) say what its numbers can and cannot show.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class DemoConfig:
    n_real: int = 900         # ~12% TEST split -> >= 100 TEST videos
    n_synth: int = 40
    synth_frames: int = 64    # fixed length; EchoNet-Synthetic's 192 makes ED/ES detection the demo's bottleneck
    seed: int = 0
    setting: str = "cpu-small"  # the cpu setting's 8-frame, 32x32 variant: what fits 10 minutes
    vpcs: tuple[int, ...] = (5,)
    methods: tuple[str, ...] = ("random", "kmeans", "infodist", "infomotion")
    runs: int = 3             # paired intervals need >= 2; 3 is what fits the 10 minutes
    steps: int | None = None  # per distilled model (None: the setting's demo budget below)
    whole_steps: int | None = None
    # The phantom's EF labels are exact, so the demo trusts them (benchmark --synthetic relabels by default).
    trust_synthetic_labels: bool = True
    overwrite: bool = False
    threads: int = 1          # one thread: on a shared 2-core machine 2 OpenMP threads stall each other
    workers: int = 2          # phantom generation processes
    with_synth: bool = False  # also Dist. Synth. (a synthetic-style phantom); about doubles the training time


DEMO_STEPS, DEMO_WHOLE_STEPS = 150, 1000  # fit 10 minutes on 2 cores (BENCHMARKS.md); one Whole run

CAVEATS = """What these numbers can show: that the pipeline runs end to end, how much EF the regressor learns
from the phantom's videos (Whole R² against the Mean EF reference, whose R² is about 0), and each method's
paired difference against Random with its 95% interval over {runs} runs with the same seeds and steps.
What they cannot show: a ranking of the methods on real echocardiograms. {runs} runs at VPC {vpcs} on one
phantom give wide intervals (an interval that contains 0 means no evidence either way), the phantom is a
simplified heart, and the regressor is the reduced CPU setting, not the paper's r2plus1d_18. The
benchmark command (cpu setting, --runs 5, VPC 5 and 10) on a held-out 1,500-video phantom is the
measurement: there the regressor learns from 50 selected videos on average on one seed and sits at the
floor on another, and no method's accuracy gain over Random has an interval above 0 (BENCHMARKS.md,
"Held-out benchmark, session 4" and "Ten paired runs on seed 13")."""


def summary_lines(res: dict, group: str) -> list[str]:
    """Whole R²/MAE, the TEST composition and every paired difference, one line each (console + summary.md)."""
    from .tables import DISPLAY, _diff, _pm

    g = res["groups"][group]
    whole = g.get("whole") or res.get("whole_real")
    lines = [f"Dist. {group}: TEST {res['n_test']} videos ("
             + ", ".join(f"{k} {v}" for k, v in res.get("test_classes", {}).items()) + ")"]
    if whole:
        s = whole["summary"]
        lines.append(f"  Whole {group if g.get('whole') else 'Real'}: R² {_pm(s['r2'], 1.0, 3, 3)}, MAE {_pm(s['mae'], 1.0)} EF, "
                     f"accuracy {_pm(s['acc'])} %")
    ref = (g.get("references") or {}).get("mean_ef")
    if ref:
        lines.append(f"  Mean EF reference: R² {ref['r2']:.3f}, MAE {ref['mae']:.2f} EF, accuracy {100 * ref['acc']:.1f} %"
                     + (f", balanced {100 * ref['bal_acc']:.1f} %" if "bal_acc" in ref else ""))
    for method, by_vpc in g["cells"].items():
        for v, cell in by_vpc.items():
            bal = f", balanced {_pm(cell['bal_acc'])} %" if cell.get("bal_acc") else ""
            line = (f"  {DISPLAY.get(method, method)} VPC={v}: accuracy {_pm(cell['acc'])} %{bal}, R² "
                    f"{_pm(cell['r2'], 1.0, 3, 3)}")
            d = cell.get("vs_random")
            if d:
                line += (f"; minus Random: accuracy {_diff(d['acc'], 100.0, 1)} points, "
                         + (f"balanced {_diff(d['bal_acc'], 100.0, 1)} points, " if d.get("bal_acc") else "")
                         + f"R² {_diff(d['r2'], 1.0, 3)}")
            lines.append(line)
    return lines


def run_demo(out_dir, cfg: DemoConfig = DemoConfig(), engine=None, log=print) -> dict:
    from ..data.phantom import generate
    from ..features import ExtractConfig, extract_features
    from .benchmark import BenchmarkConfig, find_default_engine, run_benchmark
    from .protocol import EvalConfig
    from .regressor import get_setting
    from .training import TrainConfig, limit_threads

    engine = Path(engine) if engine else find_default_engine()  # fail before any work
    limit_threads(cfg.threads)  # phantom workers are spawned processes with their own one thread
    if not engine.is_file():
        raise DataError(f"{engine}: motion model not found")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not cfg.overwrite:
        raise ConfigError(f"{out}: exists and is not empty; pass --overwrite or another --out")
    t0 = time.perf_counter()
    paths, times = {}, {}

    def step(name: str, t: float) -> None:
        times[name] = time.perf_counter() - t
        log(f"[demo] {name}: {times[name]:.1f} s")

    t = time.perf_counter()
    real = generate(out / "real", cfg.n_real, seed=cfg.seed, style="dynamic", workers=cfg.workers,
                    overwrite=True).out_dir
    paths.update(real_phantom=real)
    if cfg.with_synth:
        paths["synthetic_phantom"] = syn = generate(out / "synthetic", cfg.n_synth, seed=cfg.seed + 1, style="synthetic",
                                                    frames=cfg.synth_frames, workers=cfg.workers, overwrite=True).out_dir
    step("phantoms", t)
    t = time.perf_counter()
    real_f = extract_features(real, engine, out / "real_motion.npz", ExtractConfig(split="TRAIN", threads=cfg.threads,
                                                                                   overwrite=True)).path
    paths.update(real_motion_features=real_f)
    groups = [("dist_real", {"features": real_f})]
    if cfg.with_synth:
        syn_f = extract_features(syn, engine, out / "synthetic_motion.npz",
                                 ExtractConfig(threads=cfg.threads, overwrite=True)).path
        paths.update(synthetic_motion_features=syn_f)
        groups.append(("dist_synth", {"synthetic": syn, "synthetic_features": syn_f}))
    step(f"extract ({engine.name})", t)
    setting = get_setting(cfg.setting)
    ev = EvalConfig(setting=setting, train=TrainConfig(steps=cfg.steps or DEMO_STEPS, batch_size=setting.batch_size,
                                                       lr=setting.lr, threads=cfg.threads),
                    runs=cfg.runs, seed=cfg.seed, whole_steps=cfg.whole_steps or DEMO_WHOLE_STEPS)
    bcfg = BenchmarkConfig(eval=ev, vpcs=cfg.vpcs, methods=cfg.methods, whole_runs=1,
                           trust_synthetic_labels=cfg.trust_synthetic_labels)
    whole, summary = None, []
    for name, kw in groups:
        t = time.perf_counter()
        res = run_benchmark(real, bcfg, out / name, log=log, whole_real=whole, **kw)
        whole = whole or (res["groups"]["Real"]["whole"], res["whole_real_model"])
        for k, v in res["outputs"].items():
            paths[f"{name} {k}"] = v
        step(f"benchmark {name}", t)
        summary += summary_lines(res, "Synth." if "synthetic" in kw else "Real")
    head = (f"infomotion-rt demo: {setting.label()}; {ev.train.steps} steps per distilled model, one Whole model "
            f"of at most {ev.whole_steps} steps with early stopping on VAL; {cfg.runs} runs per cell; distilled models "
            f"{'trained with the class-prior weights' if ev.weights else 'unweighted'}.")
    caveats = CAVEATS.format(runs=cfg.runs, vpcs=", ".join(map(str, cfg.vpcs)))
    wall = f"{time.perf_counter() - t0:.0f} s"
    text = "\n".join([f"# {head}", "", caveats, "", *summary, "", f"Wall time {wall} "
                      f"({', '.join(f'{k} {v:.0f} s' for k, v in times.items())})."]) + "\n"
    paths["summary"] = atomic_write_text(out / "summary.md", text)
    for line in [head, caveats, *summary]:
        log(line)
    paths["total wall time"] = wall
    return paths
