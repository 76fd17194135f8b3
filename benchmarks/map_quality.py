"""Map quality: do neighbourhoods on the map mean something, and do shown points stay put?

Embeds and projects exactly as the app does (``supernet.projection.open_fixed_map``: the
encoder fitted without accuracies, the whole space mapped once), then, for ``--n`` cells
drawn from the table (``--seeds`` draws; medians reported):

* ``knn_r2``: leave-one-out R^2 of each cell's true accuracy (``--column``) predicted by the
  mean of its k=10 nearest neighbours among the drawn cells on the 2-D map, for the app's
  default encoding; ``knn_r2_by_encoding`` the same for every encoding;
* ``drift``: the largest movement of an already shown point after 500 more are placed;
* ``fit_seconds``: encoder fitting + embedding + projection of the default encoding (split
  into ``encoder_fit_seconds`` and ``projection_seconds``; with ``--cache`` a second run
  loads both: then it is the load time), with ``--threads`` torch threads (default 1, as the
  worker fits it, ``WorkerOptions.torch_threads``: on a busy machine two threads can take
  several times longer than one, their OpenMP workers spinning for a core).

Baselines in the same run: the previous map (UMAP of the raw one-hot codes of the explored
cells only, refitted as points arrive: ``baseline_umap_explored``, and its drift between two
refits), and the kNN R^2 in the raw (not projected) one-hot space (``onehot_highd``).

    python -m benchmarks.map_quality --json --table PATH --column NAME --n 2000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_TABLE = "../shared/data/nb201_cifar.csv"
DEFAULT_COLUMN = "CIFAR10TestAccuracy200Epochs"


def knn_r2(points: np.ndarray, y: np.ndarray, k: int = 10) -> float:
    """Leave-one-out R^2 of the mean of each point's ``k`` nearest other points."""
    from sklearn.neighbors import NearestNeighbors

    _, rows = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points)
    others = np.array([[j for j in row if j != i][:k] for i, row in enumerate(rows)])
    pred = y[others].mean(axis=1)
    return float(1.0 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2))


def _draws(n_table: int, n: int, seeds: list[int]) -> list[np.ndarray]:
    return [np.random.default_rng(s).choice(n_table, size=min(n, n_table), replace=False)
            for s in seeds]


def measure(table_path: str, column: str, n: int, seeds: list[int], encodings: list[str],
            default: str, map_seed: int, cache: Path, log: Any, baseline: bool = True,
            method: str = "", threads: int = 1) -> dict[str, Any]:
    import torch

    from supernet.encoders import DEFAULT_ENCODING, fitted_encoder
    from supernet.projection import FixedMap, build_space_map, preferred_method
    from supernet.space import SearchSpace
    from supernet.tabular.table import BenchmarkTable

    torch.set_num_threads(threads)
    default = default or DEFAULT_ENCODING
    space = SearchSpace.from_preset("nb201")
    table = BenchmarkTable.from_csv(table_path, column, space)
    archs = list(table.archs)
    acc = np.array([table.lookup(a) for a in archs])
    draws = _draws(len(archs), n, seeds)
    by_encoding: dict[str, float] = {}
    result: dict[str, Any] = {"n": min(n, len(archs)), "column": column, "seeds": seeds,
                              "default_encoding": default,
                              "method": method or preferred_method(default), "torch_threads": threads}
    for name in dict.fromkeys([default, *encodings]):
        t0, c0 = time.perf_counter(), time.process_time()
        encoder = fitted_encoder(name, space, map_seed, cache)
        fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
        fixed = FixedMap(space, build_space_map(space, name, map_seed, cache,
                                                     method=method or preferred_method(name),
                                                     encoder=encoder),
                         encoder)  # exactly open_fixed_map, timed in two parts
        seconds = time.perf_counter() - t0
        scores = []
        for rows in draws:
            shown = [archs[i] for i in rows]
            xy = fixed.place(shown)
            scores.append(knn_r2(np.array([xy[a] for a in shown]), acc[rows]))
        by_encoding[name] = round(statistics.median(scores), 4)
        log(f"{name:>8}: kNN R^2 {by_encoding[name]} (draws {[round(s, 3) for s in scores]}), "
            f"map built in {seconds:.1f} s")
        if name == default:
            result["fit_seconds"] = round(seconds, 1)
            result["encoder_fit_seconds"] = round(fit_s, 1)
            result["encoder_fit_cpu_seconds"] = round(fit_cpu, 1)
            result["projection_seconds"] = round(seconds - fit_s, 1)
            shown = [archs[i] for i in draws[0]]
            before = fixed.place(shown)
            picks = np.random.default_rng(map_seed).choice(space.size(), 600, replace=False)
            extra = [s for s in (space.to_string(space.from_index(int(i))) for i in picks)
                     if s not in before][:500]  # 500 more points from anywhere in the space
            t0 = time.perf_counter()
            fixed.place(extra[:20])
            result["place_20_ms"] = round((time.perf_counter() - t0) * 1000, 2)
            fixed.place(extra)
            after = fixed.place(shown)
            result["drift"] = float(max(np.hypot(before[a][0] - after[a][0], before[a][1] - after[a][1])
                                        for a in shown))
    result["knn_r2"] = by_encoding[default]
    result["knn_r2_by_encoding"] = by_encoding
    result["method_by_encoding"] = {k: method or preferred_method(k) for k in by_encoding}
    onehot = space.one_hot_many([space.from_string(a) for a in archs])
    result["onehot_highd"] = round(statistics.median(knn_r2(onehot[r], acc[r]) for r in draws), 4)
    if baseline:
        result.update(_baseline(onehot, acc, draws[0], map_seed, log))
    return result


def _baseline(onehot: np.ndarray, acc: np.ndarray, rows: np.ndarray, seed: int,
              log: Any) -> dict[str, Any]:
    """The previous map: UMAP of the raw one-hot codes of the explored points, refitted."""
    import umap

    def fit(data: np.ndarray) -> np.ndarray:
        model = umap.UMAP(n_components=2, n_neighbors=15, min_dist=0.1, random_state=seed, n_jobs=1)
        return np.asarray(model.fit_transform(data))

    first = fit(onehot[rows])
    r2 = knn_r2(first, acc[rows])
    grown = np.concatenate([rows, np.setdiff1d(np.arange(len(acc)), rows)[:500]])
    second = fit(onehot[grown])[: len(rows)]
    width = float(np.ptp(first[:, 0]))
    drift = float(np.max(np.hypot(*(second - first).T))) / max(width, 1e-9)
    log(f"baseline (UMAP of one-hot, explored points only): kNN R^2 {r2:.3f}, "
        f"largest move after +500 points {drift:.2f} map widths")
    return {"baseline_umap_explored": round(r2, 4), "baseline_drift_widths": round(drift, 3)}


def main(argv: list[str] | None = None) -> int:
    from supernet.encoders import encoder_names

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--table", default=DEFAULT_TABLE)
    parser.add_argument("--column", default=DEFAULT_COLUMN)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                        help="draws of --n cells (medians reported)")
    parser.add_argument("--map-seed", type=int, default=0, help="seed of the encoder and the map")
    parser.add_argument("--encodings", nargs="+", default=list(encoder_names()))
    parser.add_argument("--default", default="", help="the encoding called knn_r2 (the app's)")
    parser.add_argument("--cache", default="", help="reuse fitted encoders and maps in this folder")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the encoder fit")
    parser.add_argument("--method", default="", choices=["", "umap", "pca"],
                        help="the 2-D projection of every encoding (default: the app's choice "
                             "per encoding, supernet.projection.PREFERRED_METHOD)")
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(args.cache) if args.cache else Path(scratch)
        result = measure(args.table, args.column, args.n, args.seeds, args.encodings, args.default,
                         args.map_seed, cache, log, baseline=not args.no_baseline,
                         method=args.method, threads=args.threads)
    result["target_knn_r2"] = 0.4
    result["knn_r2_ok"] = result["knn_r2"] >= 0.4 and result["drift"] == 0.0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
