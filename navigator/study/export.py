"""A study's tables for analysis in pandas or R: one row per action, one outcome row per
session and the best accuracy over time, keyed by study, participant, condition and session."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navigator.study.analytics import BEST_AT_S, action_rows, best_over_time, session_outcomes
from navigator.study.store import get_study
from navigator.tabular_io import check_format, write_rows

if TYPE_CHECKING:
    from navigator.recording import RecordingStore

ACTION_COLUMNS = ("study", "participant", "condition", "session", "seq", "ts", "t_since_start",
                  "source", "kind", "user", "outcome", "detail", "reason", "sent_ts")
OUTCOME_COLUMNS = ("study", "participant", "condition", "session", "time_limit_s", "duration_s",
                   "n_candidates", "best_accuracy", *(f"best_at_{t}s" for t in BEST_AT_S),
                   "time_to_top1pct_s", "time_to_table_top1pct_s", "n_edits", "n_prunes",
                   "n_locks", "n_weights", "n_focus", "n_commands", "n_rejected", "n_ui_actions",
                   "hit_time_limit")
BEST_COLUMNS = ("study", "participant", "condition", "session", "t_since_start",
                "best_accuracy", "n_candidates")


def study_tables(store: RecordingStore, name: str) -> dict[str, list[dict[str, Any]]]:
    """The study's three tables as rows: actions, outcomes and best_accuracy (over time)."""
    study = get_study(store, name)
    tables: dict[str, list[dict[str, Any]]] = {"actions": [], "outcomes": [], "best_accuracy": []}
    for member in study.sessions:
        events = store.events(member.session)
        keys = {"study": study.name, "participant": member.participant,
                "condition": member.condition, "session": member.session}
        tables["actions"] += [keys | row for row in action_rows(events)]
        tables["outcomes"].append(keys | {"time_limit_s": member.time_limit_s}
                                  | session_outcomes(events))
        tables["best_accuracy"] += [keys | row for row in best_over_time(events)]
    return tables


def export_study(store: RecordingStore, name: str, out_dir: str | Path,
                 fmt: str = "csv") -> dict[str, Path]:
    """Write ``<study>-actions``, ``<study>-outcomes`` and ``<study>-best_accuracy`` tables
    (private files, as the recording they come from)."""
    check_format(fmt)
    tables = study_tables(store, name)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = name.replace(" ", "_")
    columns = {"actions": ACTION_COLUMNS, "outcomes": OUTCOME_COLUMNS,
               "best_accuracy": BEST_COLUMNS}
    paths = {}
    for key, rows in tables.items():
        paths[key] = out / f"{stem}-{key}.{fmt}"
        write_rows(paths[key], rows, columns[key], fmt)
    return paths


def export_zip(store: RecordingStore, name: str, fmt: str = "csv") -> bytes:
    """The same tables in one zip file (the UI's download button)."""
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w") as zf:
        for path in export_study(store, name, tmp, fmt).values():
            zf.write(path, path.name)
    return buffer.getvalue()
