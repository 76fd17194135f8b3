"""Who may watch and who may steer a search session.

The owner (from the session's ``session_state`` events) and admins steer; the owner may
share a session read-only with everyone or named users. Shares are published on the
session's stream as a ``command_ack`` of a ``share`` command, so they are recorded and
survive a restart.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from navigator.auth.users import NAME_RE, UserStore
from navigator.commands import Command

SHARE = "share"  # the server-side command that sets who may watch a session
EVERYONE = "*"

@dataclass
class SessionAccess:
    """What the policy knows about one session: owner, read-only shares, command ids seen."""

    owner: str = ""
    everyone: bool = False
    watchers: frozenset[str] = frozenset()
    exists: bool = False
    seen: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def shared(self) -> str | list[str]:
        return EVERYONE if self.everyone else sorted(self.watchers)


class AccessDenied(ValueError):
    """A command or join the sender has no right to; the message names who and why."""


class AccessPolicy:
    """Decides who may watch and steer a session, and spots forged and replayed commands.

    With ``login_required=False`` (the embedded default) everybody is ``local`` and may do
    everything; only replayed command ids are still refused. A session's owner and shares are
    folded from its bus history on first use and kept in memory afterwards (one web process,
    which is what Flask-SocketIO in threading mode needs anyway).
    """

    MAX_SEEN = 20_000  # command ids remembered per session
    MAX_SHARE = 500  # user names in one share

    def __init__(self, bus: Any, users: UserStore | None = None, login_required: bool = False) -> None:
        self.bus = bus
        self.users = users
        self.login_required = login_required
        self._sessions: dict[str, SessionAccess] = {}
        self._lock = threading.RLock()

    def _fold(self, session: str) -> SessionAccess:
        state = SessionAccess()
        for event in self.bus.history(session, 0):
            state.exists = True
            d = event.data
            if event.type == "session_state" and d.get("owner"):
                state.owner = d["owner"]
            elif event.type in ("command_ack", "command_rejected"):
                state.seen[d.get("command_id", "")] = None
                if event.type == "command_ack" and d.get("command") == SHARE:
                    self._apply_share(state, d.get("args", {}).get("with", []))
        return state

    @staticmethod
    def _apply_share(state: SessionAccess, with_: Any) -> None:
        state.everyone = with_ == EVERYONE
        state.watchers = frozenset(with_) if isinstance(with_, list) else frozenset()

    def access(self, session: str) -> SessionAccess:
        with self._lock:
            state = self._sessions.get(session)
            # An unknown session may appear any moment, and its owner with a later event.
            if state is None or not state.exists or (self.login_required and not state.owner):
                fresh = self._fold(session)
                if state is not None:
                    fresh.seen.update(state.seen)
                self._sessions[session] = state = fresh
            return state

    def is_admin(self, user: str) -> bool:
        found = self.users.get(user) if self.users is not None else None
        return bool(found and found.is_admin)

    def watch_problem(self, user: str, session: str) -> str | None:
        """Why ``user`` may not watch ``session``, or None when they may."""
        if not self.login_required:
            return None
        if not user:
            return "login required"
        state = self.access(session)
        if not state.exists:
            return f"no session {session!r}"
        if user == state.owner or self.is_admin(user) or state.everyone or user in state.watchers:
            return None
        return (f"{user} may not watch session {session} (owner: {state.owner or 'nobody'}; "
                "it is not shared with them)")

    def steer_problem(self, user: str, session: str) -> str | None:
        """Why ``user`` may not steer ``session`` (owner or admin only), or None."""
        if not self.login_required:
            return None
        if not user:
            return "login required"
        state = self.access(session)
        if not state.exists:  # nothing to steer yet: only an admin may address it
            return None if self.is_admin(user) else f"no session {session!r}"
        if user == state.owner or self.is_admin(user):
            return None
        return f"{user} may not steer session {session} (owner: {state.owner or 'nobody'})"

    def command_problem(self, sender: str, command: Command, claimed: Any = None) -> str | None:
        """Why a command from ``sender`` is refused: forged user, no right to steer, or a
        replayed id. Every id checked is remembered, accepted or not."""
        if self.login_required and claimed is not None and claimed != sender:
            return f"forged command: it claims user {claimed!r} but {sender or 'nobody'} sent it"
        problem = self.steer_problem(sender, command.session)
        with self._lock:
            state = self.access(command.session)
            duplicate = command.id in state.seen
            state.seen[command.id] = None
            while len(state.seen) > self.MAX_SEEN:
                state.seen.popitem(last=False)
        if problem:
            return problem
        if duplicate:
            return (f"duplicate command id {command.id!r} for session {command.session}: "
                    "a replayed command is not applied twice")
        return None

    def share(self, user: str, session: str, with_: Any) -> str | list[str]:
        """Validate a share request from ``user``; returns the normalized audience.

        ``with_`` is ``"*"`` (everyone logged in), a list of user names, or ``[]`` (private again).
        Only the owner or an admin may share; the reply is the same whether or not a named
        user exists, except to an admin.
        """
        if with_ != EVERYONE and not (isinstance(with_, list) and all(isinstance(n, str) for n in with_)):
            raise AccessDenied("share: 'with' must be '*' (everyone) or a list of user names")
        problem = self.steer_problem(user, session)
        if problem:
            raise AccessDenied(problem.replace("may not steer", "may not share"))
        if isinstance(with_, list):
            names = sorted(set(with_))
            malformed = [n[:40] for n in names if not NAME_RE.match(n)]
            if malformed or len(names) > self.MAX_SHARE:
                raise AccessDenied(f"share: at most {self.MAX_SHARE} user names (letters, digits "
                                   f"or . _ @ -), got {malformed[:3] or len(names)}")
            # Only an admin, who may list the users anyway, hears which names are nobody's:
            # to anyone else that answer would probe user names. An unknown name grants nothing.
            unknown = [n for n in names if self.users is not None and self.users.get(n) is None]
            if self.login_required and unknown and self.is_admin(user):
                raise AccessDenied(f"share: unknown user(s) {unknown}")
            return names
        return EVERYONE

    def shared(self, session: str, with_: str | list[str]) -> None:
        """Record in memory a share that was just published on the session's stream."""
        with self._lock:
            self._apply_share(self.access(session), with_)

    def watchable(self, user: str, sessions: Iterable[str]) -> list[str]:
        return [s for s in sessions if self.watch_problem(user, s) is None]


