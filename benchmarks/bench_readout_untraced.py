"""EF read-out of the motion vectors of untraced clips, whose frame pairs come from the ED/ES detector.

    .venv/bin/python benchmarks/bench_readout_untraced.py --n 600 --seed 31        # EchoNet-Synthetic style phantom
    .venv/bin/python benchmarks/bench_readout_untraced.py --data DIR                  # an existing phantom folder
    .venv/bin/python benchmarks/bench_readout_untraced.py --data DIR --detector-module OLD/cycle_detect.py

A synthetic-style phantom has no tracings, so extraction places both frame pairs with
``phases.detect_ed_es`` (as on EchoNet-Synthetic and every DICOM folder). Figures:

* **phase-correct**: the detected ED nearer a true ED than any true ES and the detected ES nearer a
  true ES than any true ED (the phantom truth file's beat schedule), over all videos;
* **read-out**: the probe of ``evaluate --instrument probe`` (``RidgeCV(alphas=np.logspace(-3, 5, 33))``
  on the motion vectors standardised with the TRAIN videos' mean and std), fitted on all TRAIN, scored on TEST: R² and MAE (EF
  points); the constant TRAIN-mean predictor is printed beside (R² <= 0).

``--detector-module FILE`` loads another ``cycle_detect.py`` (for example the one of an earlier
commit, ``git show REV:python/infomotion_rt/data/cycle_detect.py > old.py``) in place of the
package's, so an earlier detector runs on the same videos with the same encoder in the same script.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import mean_absolute_error, r2_score

import infomotion_rt.data.cycle_detect as cycle_detect
from infomotion_rt.data.loader import load_dataset
from infomotion_rt.data.phases import detect_ed_es, record_fps
from infomotion_rt.data.video import read_frames
from infomotion_rt.extract.files import read_features
from infomotion_rt.extract.pipeline import ExtractConfig, extract_features
from infomotion_rt.phantom.generate import generate
from infomotion_rt.phantom.truth import load_truth
from infomotion_rt.runtime import default_engine
from infomotion_rt.selection.readout import ridge_probe


def phase_correct(ed: int, es: int, onsets, systoles) -> bool:
    onsets = np.asarray(onsets, dtype=np.float64)
    ends = onsets + np.asarray(systoles, dtype=np.float64)
    return bool(np.abs(ed - onsets).min() < np.abs(ed - ends).min()
                and np.abs(es - ends).min() < np.abs(es - onsets).min())


def ridge_readout(x: np.ndarray, ef: np.ndarray, split: np.ndarray) -> dict:
    """R² and MAE on TEST of the product's probe (``evaluate.probe.ridge_probe``) fitted on all TRAIN
    videos, unweighted, with the constant TRAIN-mean predictor beside it."""
    train, test = split == "TRAIN", split == "TEST"
    pred, alpha = ridge_probe(x[train], x[train], ef[train], x[test])
    const = np.full(test.sum(), ef[train].mean())
    return {"r2": r2_score(ef[test], pred), "mae": mean_absolute_error(ef[test], pred),
            "const_r2": r2_score(ef[test], const), "const_mae": mean_absolute_error(ef[test], const),
            "alpha": alpha, "n_train": int(train.sum()), "n_test": int(test.sum())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=31)
    parser.add_argument("--data", type=Path, help="an existing untraced phantom folder (skips generation)")
    parser.add_argument("--detector-module", type=Path, help="a cycle_detect.py to use instead of the package's")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.detector_module:
        code = compile(args.detector_module.read_text(), str(cycle_detect.__file__), "exec")
        exec(code, cycle_detect.__dict__)  # phases.detect_ed_es imports detect_robust from it at call time
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = Path(tmp) / "phantom"
            generate(root, args.n, seed=args.seed, style="synthetic", workers=2)
        truth = {v["name"]: v for v in load_truth(root)["videos"]}
        dataset = load_dataset(root, progress=False)
        ok = []
        for r in dataset.records:
            ed, es = detect_ed_es(read_frames(r.path), fps=record_fps(r))
            nz = truth[r.name]["nuisance"]
            ok.append(phase_correct(ed, es, nz["beat_onsets"], nz["beat_systoles"]))
        start = time.perf_counter()
        out = Path(tmp) / "features.npz"
        extract_features(root, default_engine(), out, ExtractConfig(threads=args.threads), progress=False)
        seconds = time.perf_counter() - start
        fs = read_features(out)
    s = ridge_readout(fs.features.astype(np.float64), fs.ef, fs.split)
    print(f"{root if args.data else f'phantom --n {args.n} --seed {args.seed} --style synthetic'}; detector "
          f"{args.detector_module or 'package'}; shipped encoder, {fs.features.shape[1]}-D vectors, extraction {seconds:.0f} s")
    print(f"  ED/ES phase-correct {100 * np.mean(ok):.1f} % of {len(ok)} videos")
    print(f"  ridge read-out on TEST ({s['n_test']} videos, fitted on {s['n_train']} TRAIN, alpha {s['alpha']:.3g}): "
          f"R² {s['r2']:.3f}, MAE {s['mae']:.2f} EF points; constant TRAIN mean: R² {s['const_r2']:.3f}, "
          f"MAE {s['const_mae']:.2f}")


if __name__ == "__main__":
    main()
