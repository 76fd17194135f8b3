"""UI latency: from the server publishing a candidate batch to the points being drawn.

The real app (``create_app`` on a free port, in-process bus) is fed by a synthetic
session; headless Chromium (Debian's ``/usr/bin/chromium`` via Playwright) shows it.
With 1,000 and then 10,000 points already on the map, each run publishes a batch of
candidates (plus the fitness and leaderboard events a worker sends with it) while
progress ticks stream in the background, and measures, on the same wall clock, the
time until the map's ``plotly_afterplot`` that first shows the new points and until
the next animation frame after it (what the analyst sees). The second is reported
as ``p50_ms``/``p95_ms``. The map is fixed (``supernet.projection``): nothing is refitted
as points arrive, so the last part times placing 20 new points on it.

    python -m benchmarks.ui_latency --json          # last line: JSON summary
    python -m benchmarks.ui_latency --runs 10 --sizes 1000 --no-placement
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


def measure_placement(sample: int = 5000) -> dict[str, Any]:
    """Milliseconds to place 20 new NAS-Bench-201 points on a fixed map, with no refit: a
    lookup on the whole-space map the app builds once, and the kNN interpolation used for
    spaces too large to map whole (here a ``sample``-point map). No UMAP refit or
    ``transform`` is on the hot path any more (``supernet.projection``)."""
    import numpy as np

    from supernet.encoders import fitted_encoder
    from supernet.projection import FixedMap, build_space_map
    from supernet.space import SearchSpace

    space = SearchSpace.from_preset("nb201")
    encoder = fitted_encoder("onehot", space)
    rng = np.random.default_rng(0)

    def twenty() -> list[str]:
        return [space.to_string(space.from_index(int(i)))
                for i in rng.choice(space.size(), size=20, replace=False)]

    out: dict[str, Any] = {"refit_on_hot_path": False, "placement_encoding": "onehot"}
    for name, size in (("whole_space", space.size()), ("sampled", sample)):
        fixed = FixedMap(space, build_space_map(space, "onehot", 0, None, method="pca",
                                                sample=size, encoder=encoder), encoder)
        fixed.place(twenty())  # warm-up (the sampled map builds its neighbour index once)
        times = []
        for _ in range(10):
            batch = twenty()
            t0 = time.perf_counter()
            fixed.place(batch)
            times.append((time.perf_counter() - t0) * 1000)
        out[f"place_20_ms_{name}"] = round(statistics.median(times), 2)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print a JSON summary as the last line")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000],
                        help="points already on the map before each measurement")
    parser.add_argument("--runs", type=int, default=30, help="measured batches per size")
    parser.add_argument("--batch", type=int, default=20, help="candidates per batch")
    parser.add_argument("--chromium", default=os.environ.get("NAVIGATOR_CHROMIUM", "/usr/bin/chromium"))
    parser.add_argument("--no-placement", action="store_true",
                        help="skip timing the placement of new points on the fixed map")
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
    if not args.no_placement:
        summary.update(measure_placement())
        log(f"placing 20 new points on the fixed map: {summary['place_20_ms_whole_space']} ms "
            f"(whole-space map), {summary['place_20_ms_sampled']} ms (sampled map, kNN "
            "interpolation); no refit or UMAP transform on the hot path")
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
