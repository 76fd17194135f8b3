"""What the UI needs of the web process's live hub, as a protocol.

The views are typed against :class:`Hub`, not against the runtime's ``LiveHub``, so the UI
depends on this small surface only: the composition root (``navigator/wsgi.py``) hands in
the real hub, and a test can hand in anything with these members.
"""

from __future__ import annotations

from typing import Any, Protocol

from navigator.commands import Command
from navigator.session_view import SessionView


class Hub(Protocol):
    """Session views to draw from, and the one way UI actions reach a session."""

    @property
    def user(self) -> str:
        """Who acts in the current request (the logged-in user, ``local``, or '' for nobody)."""
        ...

    def view(self, session: str) -> SessionView:
        """The live view of ``session``, followed from the bus from now on; raises
        :class:`navigator.auth.AccessDenied` when the acting user may not watch it."""
        ...

    def join(self, sid: str, session: str, after_seq: int = 0) -> int:
        """Put socket ``sid`` in the session's room and send it what it missed after ``after_seq``."""
        ...

    def sessions(self) -> list[str]:
        """The sessions the acting user may watch."""
        ...

    def session_summaries(self) -> list[dict[str, Any]]:
        """One line per watchable session, newest first: ``session``, ``label`` (name, start
        time, dataset, space, state, best accuracy), ``state``, ``message``, ``owner``,
        ``created_ts``, ``best``, ``budget_paused`` (see navigator/session_labels.py)."""
        ...

    def start_session(self, config: dict[str, Any], owner: str) -> str:
        """Queue a search for a worker; its session id. ValueError for a bad config."""
        ...

    def send(self, session: str | None, kind: str, args: dict[str, Any] | None = None) -> Command:
        """Validate and forward a command; CommandError (a ValueError) says why not."""
        ...

    def share(self, message: dict[str, Any]) -> Command:
        """The ``share`` command: who else may watch the session."""
        ...
