"""Command line entry point: ``navigator <command>`` (also ``python -m navigator``).

The configuration is resolved here, once (flags > NAVIGATOR_* environment > TOML
file > defaults), and passed down to the parts it builds.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from navigator.config import ServerConfig, WorkerConfig, is_loopback, resolve


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="TOML file with [server] / [worker] sections")
    parser.add_argument("--data-dir", type=Path, help="recordings, checkpoints and exports "
                                                      "(default: ~/.local/share/navigator)")


def build_parser() -> argparse.ArgumentParser:
    from supernet.cli import add_search_arguments

    parser = argparse.ArgumentParser(
        prog="navigator",
        description="NAS Navigator: human-in-the-loop one-shot neural architecture search.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="start the web app (embedded worker on digits by default)")
    _common(serve)
    serve.add_argument("--host", help="loopback interface to listen on (default 127.0.0.1); "
                                      "a lab server runs under gunicorn (README)")
    serve.add_argument("--port", type=int, help="port (default 8050)")
    serve.add_argument("--redis", dest="redis_url", help="Redis URL: web process only, "
                                                         "workers run elsewhere")
    serve.add_argument("--embedded-workers", type=int,
                       help="worker threads in this process (default 1 without Redis, 0 with)")
    serve.add_argument("--device", help="device of embedded workers: auto | cpu | cuda[:N]")
    serve.add_argument("--log-requests", action="store_true",
                       help="log every HTTP request (Dash's callbacks are several a second)")

    worker = sub.add_parser("worker", help="data-parallel worker under torchrun (one session, "
                                           "N ranks; the lab's sessions run on Ray: `lab`)")
    _common(worker)
    worker.add_argument("--redis", dest="redis_url", required=False, help="Redis URL")
    worker.add_argument("--max-sessions", type=int, help="sessions this worker runs at once")
    worker.add_argument("--device", help="auto | cpu | cuda[:N]")

    lab = sub.add_parser("lab", help="run the lab's sessions on a Ray cluster (next to the "
                                     "Ray head; README, Lab server)")
    _common(lab)
    lab.add_argument("--redis", dest="redis_url", help="Redis URL of the lab's bus")
    lab.add_argument("--ray-address", help="Ray cluster to join (default: auto)")
    lab.add_argument("--storage", help="checkpoints, seen by every node: a shared directory "
                                       "or an fsspec URI (default <data dir>/checkpoints)")
    lab.add_argument("--accelerator-type", help="Ray accelerator type GPU sessions ask for")

    search = sub.add_parser("search", help="run a whole search without the UI")
    search.add_argument("--headless", action="store_true", help="no web UI (the only mode)")
    add_search_arguments(search)

    sessions = sub.add_parser("sessions", help="list, export or replay recorded sessions")
    _common(sessions)
    actions = sessions.add_subparsers(dest="action", required=True, metavar="ACTION")
    actions.add_parser("list", help="list recorded sessions")
    export = actions.add_parser("export", help="write events and actions tables")
    export.add_argument("session")
    export.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
    export.add_argument("--out", type=Path, default=Path("."), help="output folder")
    replay = actions.add_parser("replay", help="print a session's events, paced at speed x k")
    replay.add_argument("session")
    replay.add_argument("--speed", type=float, default=10.0)

    users = sub.add_parser("users", help="manage the lab server's logins (auth = password)")
    _common(users)
    users.add_argument("--users-file", dest="users_file", type=Path,
                       help="JSON or TOML users file (default <data dir>/users.json)")
    user_actions = users.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = user_actions.add_parser("add", help="add a user, or set a new password (asks for it)")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may steer and watch every session")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    user_actions.add_parser("list", help="list users and roles (never hashes)")
    remove = user_actions.add_parser("remove", help="remove a user from the users file")
    remove.add_argument("name")
    hashed = user_actions.add_parser("hash", help="print a password hash for NAVIGATOR_USERS")
    hashed.add_argument("--password-stdin", action="store_true")
    from navigator.study import add_study_parser

    add_study_parser(sub, _common)  # navigator study create|list|export
    return parser


def _flags(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    return {n: getattr(args, n, None) for n in names}


def cmd_serve(args: argparse.Namespace) -> int:
    from navigator.bus import MemoryBus, make_bus
    from navigator.recording import Recorder, RecordingStore
    from navigator.worker import WorkerOptions
    from navigator.worker_host import WorkerHost, resume_interrupted
    from navigator.wsgi import GUNICORN_COMMAND, create_app

    flags = _flags(args, "host", "port", "redis_url", "data_dir", "device", "embedded_workers")
    if flags["embedded_workers"] is None and flags["redis_url"]:
        flags["embedded_workers"] = 0
    config = resolve(ServerConfig, flags, args.config)
    if not is_loopback(config.host):
        raise ValueError(f"host {config.host!r}: `navigator serve` runs Werkzeug's development "
                         "server, which must not face a network (a thread per socket, no "
                         "hardening); serve only 127.0.0.1 or localhost with it. For a lab, "
                         "serve the web with gunicorn and run the workers apart (README, Lab "
                         f"server): REDIS_URL=redis://... NAVIGATOR_SECRET=... {GUNICORN_COMMAND} "
                         "and `navigator worker --redis ...` per GPU")
    bus = make_bus(config.redis_url)
    store = RecordingStore(config.recording_path)
    host = None
    if config.embedded_workers:
        options = WorkerOptions(checkpoint_dir=config.data_dir / "checkpoints",
                                device=None if config.device == "auto" else config.device,
                                data_roots=config.user_data_roots)
        if isinstance(bus, MemoryBus):  # a crash left sessions in the recording only
            resume_interrupted(bus, store, options.checkpoint_dir)
        host = WorkerHost(bus, options, max_sessions=config.embedded_workers).start()
    recorder = Recorder(bus, store).start()
    app, socketio = create_app(config, bus, async_mode="threading")  # torch runs in-process
    mode = f"Redis {config.redis_url}" if config.lab_mode else "embedded worker, in-process bus"
    print(f"NAS Navigator on http://{config.host}:{config.port}/  ({mode}; "
          f"recordings in {config.recording_path})", flush=True)
    if config.login_required:
        print(f"login required: users from {config.users_path} and NAVIGATOR_USERS "
              "(add one with `navigator users add NAME`)", flush=True)
    if not args.log_requests:  # Werkzeug logs each request at INFO; warnings and errors stay
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        socketio.run(app.server, host=config.host, port=config.port, allow_unsafe_werkzeug=True,
                     use_reloader=False, log_output=False)
    finally:
        if host is not None:
            host.stop()
        recorder.stop()
        bus.close()
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    config = resolve(WorkerConfig, _flags(args, "redis_url", "data_dir", "device", "max_sessions"),
                     args.config)
    if not config.redis_url:
        raise ValueError("a worker process needs --redis URL (or NAVIGATOR_REDIS_URL); "
                         "`navigator serve` runs an embedded worker without Redis")
    if os.environ.get("NAVIGATOR_SECRET"):
        # A worker runs analysts' searches and reads their files: a secret it holds is one a
        # hostile input could leak. It never needs it (only the web process signs logins).
        raise ValueError("NAVIGATOR_SECRET is set in this worker's environment: a worker never "
                         "needs it and must not hold it; start it without (e.g. `env -u "
                         "NAVIGATOR_SECRET navigator worker ...`, or a separate environment file)")
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        raise ValueError("the lab server's sessions run on Ray: start `navigator lab --redis "
                         "URL` next to the Ray head and join GPU hosts with `ray start "
                         "--address ...` (README, Lab server); `navigator worker` is the "
                         "data-parallel worker, started under torchrun")
    from navigator.ddp import run_worker_ranks

    return run_worker_ranks(config)


def cmd_sessions(args: argparse.Namespace) -> int:
    from navigator.recording import RecordingStore
    from navigator.session_labels import session_label

    config = resolve(ServerConfig, _flags(args, "data_dir"), args.config)
    if not config.recording_path.exists():
        raise ValueError(f"no recordings yet at {config.recording_path}")
    store = RecordingStore(config.recording_path)
    if args.action == "list":
        rows = store.sessions()
        if not rows:
            print("no recorded sessions")
        for s in rows:  # worded as the session picker and the replay list word it
            label = session_label("", s.config, s.created_ts, s.state, store.best_accuracy(s.id))
            print(f"{s.id}  owner={s.owner or '-'}  {label}  events={s.last_seq}")
    elif args.action == "export":
        paths = store.export(args.session, args.out, args.format)
        print("\n".join(f"{k}: {v}" for k, v in paths.items()))
    else:
        store.session(args.session)
        for event in store.replay(args.session, args.speed):
            print(json.dumps(event.to_dict()), flush=True)
    return 0


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    import getpass

    password = getpass.getpass("password: ")
    if password != getpass.getpass("again: "):
        raise ValueError("the two passwords differ")
    return password


def cmd_users(args: argparse.Namespace) -> int:
    from werkzeug.security import generate_password_hash

    from navigator.auth import MIN_PASSWORD, UserStore

    if args.action == "hash":
        password = _read_password(args.password_stdin)
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"password must have at least {MIN_PASSWORD} characters")
        print(generate_password_hash(password))
        return 0
    config = resolve(ServerConfig, _flags(args, "data_dir", "users_file"), args.config)
    store = UserStore(config.users_path)
    if args.action == "add":
        user = store.add_user(args.name, _read_password(args.password_stdin),
                              "admin" if args.admin else "analyst")
        print(f"{user.name} ({user.role}) saved in {config.users_path}")
    elif args.action == "remove":
        store.remove_user(args.name)
        print(f"{args.name} removed from {config.users_path}")
    else:
        rows = store.users()
        if not rows:
            print(f"no users in {config.users_path} or NAVIGATOR_USERS")
        for u in rows:
            print(f"{u.name}  {u.role}")
    return 0


def cmd_study(args: argparse.Namespace) -> int:
    from navigator.recording import RecordingStore
    from navigator.study import cmd_study as run

    config = resolve(ServerConfig, _flags(args, "data_dir"), args.config)
    if args.action != "create" and not config.recording_path.exists():
        raise ValueError(f"no recordings yet at {config.recording_path}")
    return run(args, RecordingStore(config.recording_path))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "serve":
            return cmd_serve(args)
        if args.command == "worker":
            return cmd_worker(args)
        if args.command == "lab":
            from navigator.ray_lab import cmd_lab

            return cmd_lab(resolve(WorkerConfig, _flags(
                args, "redis_url", "data_dir", "ray_address", "storage", "accelerator_type"),
                args.config))
        if args.command == "search":
            from supernet.cli import run_search

            return run_search(args)
        if args.command == "users":
            return cmd_users(args)
        if args.command == "study":
            return cmd_study(args)
        return cmd_sessions(args)
    except ValueError as exc:
        print(f"navigator {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
