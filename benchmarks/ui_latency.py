"""UI latency: from the server publishing a candidate batch to the points being drawn.

The real app (``create_app`` on a free port, in-process bus) is fed by a synthetic
session; headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright) shows it.
With 1,000 and then 10,000 points already on the map, each run publishes a batch of
candidates (plus the fitness and leaderboard events a worker sends with it) while
progress ticks stream in the background, and measures, on the same wall clock, the
time until the map's ``plotly_afterplot`` that first shows the new points and until
the next animation frame after it (what the analyst sees). The second is reported
as ``p50_ms``/``p95_ms``. Then a UMAP refit of 5,000 NAS-Bench-201 architectures is
timed after a warm-up fit (``supernet.projection.MapProjector``).

    python -m benchmarks.ui_latency --json          # last line: JSON summary
    python -m benchmarks.ui_latency --runs 10 --sizes 1000 --no-umap
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from typing import Any

GRAPH = "document.querySelector('#map .js-plotly-plot')"
HOOK = """() => {
  const gd = GRAPH;
  window.__afterplots = [];
  if (!gd.__benchHooked) {
    gd.__benchHooked = true;
    gd.on('plotly_afterplot', () => {
      const now = () => performance.timeOrigin + performance.now();  // wall clock, sub-ms
      const t = now();
      const n = gd.data && gd.data[0] ? gd.data[0].x.length : 0;
      const entry = {plot: t, frame: null, n: n};
      window.__afterplots.push(entry);
      requestAnimationFrame(() => { entry.frame = now(); });
    });
  }
}""".replace("GRAPH", GRAPH)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _summary(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 0.5), 1), "p95_ms": round(_percentile(values, 0.95), 1),
            "mean_ms": round(statistics.fmean(values), 1), "max_ms": round(max(values), 1)}


def _prefill(session: Any, n: int, chunk: int = 1000) -> None:
    while len(session.records) < n:
        session.publish_candidates(min(chunk, n - len(session.records)), fitness=False)
    session.publish_fitness()


def measure_size(page: Any, server: Any, points: int, runs: int, batch: int,
                 log: Any) -> dict[str, Any]:
    from tests.support.synthetic import SyntheticSession

    session = SyntheticSession(server.bus, f"bench-{points}", preset="nb201", seed=points)
    session.publish_start()
    _prefill(session, points)
    t0 = time.perf_counter()
    page.evaluate(f"() => window.dash_clientside.set_props('session-store', {{data: 'bench-{points}'}})")
    page.wait_for_function(f"n => {{ const g = {GRAPH}; return g && g.data && g.data[0] "
                           "&& g.data[0].x.length >= n; }", arg=points, timeout=120_000)
    first_render_s = time.perf_counter() - t0
    page.evaluate(HOOK)
    time.sleep(1.0)

    stop = threading.Event()

    def progress() -> None:  # a worker's progress ticks keep flowing meanwhile (5 a second)
        step = 0
        while not stop.is_set():
            step += 1
            session.publish_progress(0, step % 10 + 1)
            stop.wait(0.2)

    ticker = threading.Thread(target=progress, daemon=True)
    ticker.start()
    plot_ms, frame_ms = [], []
    try:
        for run in range(runs):
            shown = page.evaluate(f"() => {GRAPH}.data[0].x.length")
            page.evaluate("() => { window.__afterplots = []; }")
            published = time.time() * 1000
            session.publish_candidates(batch)
            handle = page.wait_for_function(
                "n => (window.__afterplots || []).find(e => e.n >= n && e.frame !== null) || false",
                arg=shown + batch, timeout=30_000)
            entry = handle.json_value()
            plot_ms.append(entry["plot"] - published)
            frame_ms.append(entry["frame"] - published)
            log(f"  {points:>6} points, run {run + 1:>2}: afterplot {plot_ms[-1]:6.1f} ms, "
                f"frame {frame_ms[-1]:6.1f} ms")
            time.sleep(0.25 + 0.1 * (run % 3))
    finally:
        stop.set()
        ticker.join()
    return {"points": points, "runs": runs, "batch": batch, "first_render_s": round(first_render_s, 2),
            **_summary(frame_ms), "afterplot": _summary(plot_ms)}


def measure_ui(sizes: list[int], runs: int, batch: int, chromium: str, log: Any) -> list[dict]:
    from playwright.sync_api import sync_playwright

    from tests.conftest import CHROMIUM_ARGS
    from tests.support.synthetic import LiveServer

    results = []
    with LiveServer() as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        page.goto(server.url)
        page.wait_for_function("() => document.querySelector('#connection-status')?"
                               ".textContent === 'live'", timeout=60_000)
        for points in sizes:
            results.append(measure_size(page, server, points, runs, batch, log))
        browser.close()
    return results


def measure_umap(n: int = 5000, warmup: int | None = None) -> dict[str, Any]:
    """Seconds for a UMAP refit of ``n`` NAS-Bench-201 archs after a warm-up fit (JIT compiled).

    The warm-up fits as many points as the timed refit (by default): above 4,096 points
    UMAP switches to approximate nearest neighbours (pynndescent), whose JIT compilation
    a smaller warm-up would leave inside the timed refit.
    """
    warmup = n if warmup is None else warmup
    import numpy as np

    from supernet.projection import MapProjector
    from supernet.space import SearchSpace

    space = SearchSpace.from_preset("nb201")
    rng = np.random.default_rng(0)
    indices = rng.choice(space.size(), size=n, replace=False)
    archs = [space.from_index(int(i)) for i in indices]
    keys = [space.to_string(a) for a in archs]
    vectors = space.one_hot_many(archs)
    t0 = time.perf_counter()
    warm = MapProjector(seed=0, pca_until=10)
    warm.add(keys[:warmup], vectors[:warmup])
    warm.refit()
    warmup_s = time.perf_counter() - t0
    projector = MapProjector(seed=0, pca_until=10)
    projector.add(keys, vectors)
    t0 = time.perf_counter()
    coords = projector.refit()
    refit_s = time.perf_counter() - t0
    assert len(coords) == n
    t0 = time.perf_counter()
    extra = [space.from_index(int(i)) for i in rng.choice(space.size(), size=20, replace=False)]
    projector.add([space.to_string(a) + "#new" for a in extra], space.one_hot_many(extra))
    transform_ms = (time.perf_counter() - t0) * 1000
    return {"umap_refit_s": round(refit_s, 2), "umap_points": n,
            "umap_import_and_warmup_s": round(warmup_s, 1),
            "umap_transform_20_ms": round(transform_ms, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="points already on the map before each measurement")
    parser.add_argument("--runs", type=int, default=30, help="measured batches per size")
    parser.add_argument("--batch", type=int, default=20, help="candidates per batch")
    parser.add_argument("--chromium", default=os.environ.get("NAVIGATOR_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--no-umap", action="store_true", help="skip the UMAP refit timing")
    parser.add_argument("--umap-points", type=int, default=5000)
    args = parser.parse_args(argv)

    def log(text: str) -> None:
        print(text, file=sys.stderr if args.json else sys.stdout, flush=True)

    by_size = measure_ui(args.sizes, args.runs, args.batch, args.chromium, log)
    for r in by_size:
        log(f"{r['points']:>6} points: publish -> drawn p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms "
            f"(afterplot p95 {r['afterplot']['p95_ms']} ms; first full render {r['first_render_s']} s)")
    largest = by_size[-1]
    summary: dict[str, Any] = {
        "p50_ms": largest["p50_ms"], "p95_ms": largest["p95_ms"], "points": largest["points"],
        "batch": args.batch, "runs": args.runs, "target_p95_ms": 100,
        "p95_ok": largest["p95_ms"] < 100, "by_points": {str(r["points"]): r for r in by_size}}
    if not args.no_umap:
        log(f"UMAP: importing, warming up, then refitting {args.umap_points} archs ...")
        summary.update(measure_umap(args.umap_points))
        summary["umap_target_s"] = 2.0
        log(f"UMAP refit of {args.umap_points}: {summary['umap_refit_s']} s "
            f"(import + warm-up {summary['umap_import_and_warmup_s']} s)")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
