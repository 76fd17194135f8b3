"""Layout pieces that several panels share, so that a field or a leaderboard looks the same
in the main layout, the Lego builder and the study panels."""

from __future__ import annotations

from dash import html
from dash.dash_table.DataTable import DataTable
from dash.development.base_component import Component

LEADERBOARD_COLUMNS: list[DataTable.Columns] = [
    {"name": "rank", "id": "rank", "type": "numeric"},
    {"name": "architecture", "id": "arch"},
    {"name": "accuracy", "id": "accuracy", "type": "numeric", "format": {"specifier": ".3f"}},
    {"name": "params", "id": "params", "type": "numeric", "format": {"specifier": ".3~s"}},
    {"name": "FLOPs", "id": "flops", "type": "numeric", "format": {"specifier": ".3~s"}},
    {"name": "latency ms", "id": "latency_ms", "type": "numeric", "format": {"specifier": ".2f"}},
    {"name": "gen", "id": "generation", "type": "numeric"},
    {"name": "true rank", "id": "table_rank", "type": "numeric", "format": {"specifier": ","}},
]
"""Columns of the live leaderboard (``SessionView`` rows); a replay shows the first three."""


def field(label: str, control: Component) -> html.Label:
    """``control`` under its label (styled by the ``field`` / ``field-label`` CSS classes)."""
    return html.Label([html.Span(label, className="field-label"), control], className="field")
