"""Evidence beyond the mean as text and figures: hover lines, the pair heatmap, the importance
bars and the advisor's preview lines. Pure functions of event payloads (``fitness``,
``evidence``, ``advice``) and record dicts; every number carries its count and interval.

:mod:`frontend.figures` imports the hover lines from here, so this module does not import it.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from supernet.evidence import pairwise
from supernet.space import SearchSpace


def _interval(low: float | None, high: float | None) -> str:
    """'95% CI a to b', with an open end shown as such (too few values to bound it)."""
    if low is None and high is None:
        return "no interval yet"
    lo = "…" if low is None else f"{low:.3f}"
    hi = "…" if high is None else f"{high:.3f}"
    return f"95% CI {lo} to {hi}"


def cell_evidence_lines(cell: dict[str, Any]) -> list[str]:
    """Hover lines of one (choice point, op) cell: mean, best, upper quantile, then the
    model's partial dependence and best reachable accuracy when an ``evidence`` event added
    them (:func:`with_model`)."""
    n = cell.get("count", 0)
    if not n:
        return ["not evaluated yet (n=0)"]
    lines = [f"mean {cell['mean']:.3f} ({_interval(cell.get('ci_low'), cell.get('ci_high'))}, "
             f"n={n})"]
    if cell.get("best") is not None:
        extreme = "lowest" if cell.get("lower_is_better") else "highest"  # metric_units.py
        lines.append(f"best {cell['best']:.3f} ({extreme} of n={n})")
    if cell.get("quantile") is not None:
        q = round(100 * cell.get("q", 0.9))
        lines.append(f"{q}th percentile {cell['quantile']:.3f} "
                     f"({_interval(cell.get('q_low'), cell.get('q_high'))}, n={n})")
    model = cell.get("model") or {}
    fits = f"{model.get('refits', 0)} fits on n={model.get('count', 0)}"
    for key, label in (("pd", "model: partial dependence"), ("potential", "model: best reachable")):
        if key in model:
            v = model[key]
            lines.append(f"{label} {v['value']:.3f} (range {v['low']:.3f} to {v['high']:.3f} "
                         f"over {fits})")
    return lines


def with_model(matrix: dict[str, dict[str, dict[str, Any]]], evidence: dict[str, Any]
               ) -> dict[str, dict[str, dict[str, Any]]]:
    """The fitness matrix with the model's per-op numbers of an ``evidence`` event merged in
    (under ``model``), so the hovers can show both."""
    if not evidence:
        return matrix
    pd, pot = evidence.get("partial_dependence", {}), evidence.get("potential", {})
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for cp, ops in matrix.items():
        out[cp] = {}
        for op, cell in ops.items():
            model: dict[str, Any] = {"count": evidence.get("count", 0),
                                     "refits": evidence.get("refits", 0)}
            if op in pd.get(cp, {}):
                model["pd"] = pd[cp][op]
            if op in pot.get(cp, {}):
                model["potential"] = pot[cp][op]
            out[cp][op] = cell | {"model": model}
    return out


def pair_heatmap(space: dict[str, Any], records: list[dict[str, Any]], first: str, second: str,
                 dark: bool = False) -> go.Figure:
    """Ops of ``first`` (rows) x ops of ``second`` (columns): colour = mean accuracy of the
    evaluated architectures with that pair, text = its count, hover = mean with its interval,
    best and count (how two choice points work together, which the one-op heatmap hides)."""
    sp = SearchSpace.from_dict(space["template"])
    archs = [sp.from_string(r["arch"]) for r in records]
    table = pairwise(sp, archs, [r["accuracy"] for r in records], first, second)
    rows, cols = list(table), list(next(iter(table.values())))
    z = [[table[a][b]["mean"] for b in cols] for a in rows]
    text = [[f"n={table[a][b]['count']}" for b in cols] for a in rows]
    hover = [[_pair_hover(first, a, second, b, table[a][b]) for b in cols] for a in rows]
    fig = go.Figure()
    fig.update_layout(template="plotly_dark" if dark else "plotly_white",
                      title={"text": f"Op pairs: {first} (rows) × {second} (columns), mean accuracy",
                             "x": 0.01, "font": {"size": 14}},
                      margin={"l": 50, "r": 20, "t": 40, "b": 40}, uirevision="keep",
                      xaxis={"title": second}, yaxis={"title": first, "autorange": "reversed"})
    fig.add_heatmap(z=z, x=cols, y=rows, text=text, texttemplate="%{text}", customdata=hover,
                    colorscale="Viridis", colorbar={"title": {"text": "accuracy"}},
                    hovertemplate="%{customdata}<extra></extra>", name="pairs")
    return fig


def _pair_hover(first: str, a: str, second: str, b: str, cell: dict[str, Any]) -> str:
    head = f"{first} = {a} · {second} = {b}"
    if not cell["count"]:
        return f"{head}<br>not evaluated together yet (n=0)"
    return (f"{head}<br>mean {cell['mean']:.3f} ({_interval(cell['ci_low'], cell['ci_high'])}, "
            f"n={cell['count']})<br>best {cell['best']:.3f} (highest of n={cell['count']})")


def importance_figure(evidence: dict[str, Any], dark: bool = False) -> go.Figure:
    """Per choice point: the share of the model's prediction variance its op explains
    (fANOVA's main effect), with the range over the refits as error bars."""
    imp = evidence.get("importance") or {}
    names = list(imp)
    values = [imp[n]["value"] for n in names]
    fig = go.Figure()
    fig.update_layout(template="plotly_dark" if dark else "plotly_white",
                      title={"text": f"Importance (random forest, {evidence.get('refits', 0)} fits "
                                     f"on n={evidence.get('count', 0)})", "x": 0.01,
                             "font": {"size": 14}},
                      margin={"l": 50, "r": 20, "t": 40, "b": 40}, uirevision="keep",
                      xaxis={"title": "choice point"}, yaxis={"title": "share of variance"})
    fig.add_bar(x=names, y=values, name="importance",
                error_y={"type": "data", "symmetric": False,
                         "array": [imp[n]["high"] - imp[n]["value"] for n in names],
                         "arrayminus": [imp[n]["value"] - imp[n]["low"] for n in names]},
                hovertemplate="%{x}: %{y:.3f}<extra>range over refits</extra>")
    return fig
