"""``navigator study create|list|export``: studies defined and exported without the server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from navigator.study.export import export_study
from navigator.study.model import Study
from navigator.study.store import list_studies, save_study

if TYPE_CHECKING:
    from navigator.recording import RecordingStore


def add_study_parser(sub: Any, common: Any) -> None:
    study = sub.add_parser("study", help="create, list or export user studies")
    common(study)
    actions = study.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser("create", help="define a study")
    create.add_argument("name")
    create.add_argument("--conditions", required=True,
                        help="comma-separated, e.g. human-in-the-loop,automated")
    create.add_argument("--task", default="", help="task description shown to participants")
    create.add_argument("--time-limit", type=float, help="seconds per session (default: none)")
    create.add_argument("--participants", default="", help="comma-separated allowed ids (optional)")
    actions.add_parser("list", help="list studies and their sessions")
    export = actions.add_parser("export", help="write actions, outcomes and best_accuracy tables")
    export.add_argument("name")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("--out", type=Path, default=Path("."), help="output folder")


def cmd_study(args: argparse.Namespace, store: RecordingStore) -> int:
    if args.action == "create":
        study = Study(name=args.name, conditions=args.conditions, task=args.task,
                      time_limit_s=args.time_limit,
                      participants=[p.strip() for p in args.participants.split(",") if p.strip()])
        save_study(store, study)
        print(f"study {study.name!r}: conditions {study.conditions}")
    elif args.action == "list":
        studies = list_studies(store)
        if not studies:
            print("no studies")
        for s in studies:
            limit = f"{s.time_limit_s:g}s" if s.time_limit_s else "none"
            print(f"{s.name}  conditions={','.join(s.conditions)}  time_limit={limit}  "
                  f"sessions={len(s.sessions)}")
            for m in s.sessions:
                print(f"  {m.session}  participant={m.participant}  condition={m.condition}")
    else:
        paths = export_study(store, args.name, args.out, args.format)
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
    return 0
