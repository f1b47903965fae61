"""The end-to-end demo: phantoms -> motion features (shipped encoder) -> every selection method ->
EF regressor (tiny setting) -> Table 1 + bar charts, for a real-style and a synthetic-style set.

Sized to finish within 10 minutes on 2 CPU cores; every table names its (tiny) setting.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, DataError


@dataclass(frozen=True)
class DemoConfig:
    n_real: int = 200
    n_synth: int = 40
    synth_frames: int = 64    # fixed length; EchoNet-Synthetic's 192 makes ED/ES detection the demo's bottleneck
    seed: int = 0
    vpcs: tuple[int, ...] = (2, 5)
    methods: tuple[str, ...] = ("random", "kmeans", "kcenter", "herding", "infodist", "infomotion")
    runs: int = 2
    steps: int = 40           # optimisation steps per distilled model (the same for every method and VPC)
    whole_steps: int = 190    # step maximum of the Whole model (early stopping on VAL)
    # The phantom's EF labels are exact, so the demo trusts them (benchmark --synthetic relabels by default).
    trust_synthetic_labels: bool = True
    overwrite: bool = False
    threads: int = 1          # one thread: on a shared 2-core machine 2 OpenMP threads stall each other


def run_demo(out_dir, cfg: DemoConfig = DemoConfig(), engine=None, log=print) -> dict:
    from ..data.phantom import generate
    from ..features import ExtractConfig, extract_features
    from .benchmark import BenchmarkConfig, find_default_engine, run_benchmark
    from .protocol import EvalConfig
    from .regressor import get_setting
    from .training import TrainConfig

    engine = Path(engine) if engine else find_default_engine()  # fail before any work
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
    real = generate(out / "real", cfg.n_real, seed=cfg.seed, style="dynamic", overwrite=True).out_dir
    syn = generate(out / "synthetic", cfg.n_synth, seed=cfg.seed + 1, style="synthetic",
                   frames=cfg.synth_frames, overwrite=True).out_dir
    paths.update(real_phantom=real, synthetic_phantom=syn)
    step("phantoms", t)
    t = time.perf_counter()
    real_f = extract_features(real, engine, out / "real_motion.npz", ExtractConfig(split="TRAIN", threads=cfg.threads)).path
    syn_f = extract_features(syn, engine, out / "synthetic_motion.npz", ExtractConfig(threads=cfg.threads)).path
    paths.update(real_motion_features=real_f, synthetic_motion_features=syn_f)
    step(f"extract ({engine.name})", t)
    ev = EvalConfig(setting=get_setting("tiny"), train=TrainConfig(steps=cfg.steps, batch_size=8, lr=2e-3,
                                                                          threads=cfg.threads),
                    runs=cfg.runs, seed=cfg.seed, whole_steps=cfg.whole_steps)
    bcfg = BenchmarkConfig(eval=ev, vpcs=cfg.vpcs, methods=cfg.methods,
                           trust_synthetic_labels=cfg.trust_synthetic_labels)
    whole = None
    for name, kw in (("dist_real", {"features": real_f}), ("dist_synth", {"synthetic": syn, "synthetic_features": syn_f})):
        t = time.perf_counter()
        res = run_benchmark(real, bcfg, out / name, log=log, whole_real=whole, **kw)
        whole = whole or (res["groups"]["Real"]["whole"], res["whole_real_model"])
        for k, v in res["outputs"].items():
            paths[f"{name} {k}"] = v
        step(f"benchmark {name}", t)
    paths["total wall time"] = f"{time.perf_counter() - t0:.0f} s"
    return paths
