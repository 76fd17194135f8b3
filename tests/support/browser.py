"""What the browser tests observe inside a page, injected by the tests, never shipped.

The product's glue (``assets/navigator.js``) carries no test hooks. :data:`OBSERVER` is a
Playwright init script that runs before the page's own scripts: when the glue object is
assigned to ``window.navigator_glue`` it wraps ``trackSeq`` and ``connection``, and keeps

- ``window.navigatorSeqLog``: the seq of every event the page accepted, in order;
- ``window.navigatorEvents``: those events (the latest 4,000 to 5,000);
- ``window.navigatorSocket``: ``{id, ids, connected}`` of the page's socket (ids: every one
  it had, so a reconnect shows as a new id).

An event counts as accepted exactly when ``trackSeq`` moved the session's ``last_seq`` over
it: the events of the batch for the current session with a seq above the one it had and
at most the one it returned.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from frontend import ids

OBSERVER = """(() => {
  window.navigatorSeqLog = [];
  window.navigatorEvents = [];
  let glue;
  Object.defineProperty(window, "navigator_glue", {
    configurable: true,
    get: () => glue,
    set: (value) => {
      const trackSeq = value.trackSeq, connection = value.connection;
      value.trackSeq = function (events, seq, session, triggers) {
        const out = trackSeq.call(this, events, seq, session, triggers);
        const before = Object.assign({last_seq: 0, session: session}, seq || {});
        let last = before.session === session ? before.last_seq : 0;
        const upTo = out[0].last_seq;
        for (const ev of (events || [])) {
          if (ev.session !== session || ev.seq <= last || ev.seq > upTo) { continue; }
          last = ev.seq;
          window.navigatorSeqLog.push(ev.seq);
          window.navigatorEvents.push(ev);
          if (window.navigatorEvents.length > 5000) { window.navigatorEvents.splice(0, 1000); }
        }
        return out;
      };
      value.connection = function (connected, sid) {
        const info = window.navigatorSocket = window.navigatorSocket || {id: null, ids: [], connected: false};
        info.connected = !!connected;
        if (sid && sid !== info.id) { info.id = sid; info.ids.push(sid); }
        return connection.call(this, connected, sid);
      };
      glue = value;
    },
  });
})();"""


def wait(page: Any, js: str, arg: Any = None, timeout: float = 15_000) -> Any:
    return page.wait_for_function(js, arg=arg, timeout=timeout)


def wait_live(page: Any) -> None:
    """Wait for the socket badge (the element itself may not be rendered yet after a load)."""
    wait(page, f"() => document.getElementById('{ids.CONNECTION}')?.textContent === 'live'")


def session_of(page: Any) -> str:
    """The id of the session the page shows, from its status line."""
    return page.evaluate(f"() => document.querySelector('#{ids.SESSION_STATE}').textContent"
                         ).split(" · ")[0]


@contextmanager
def running_session(browser: Any, server: Any, viewport: dict[str, int],
                    timeout_ms: float = 15_000) -> Iterator[tuple[Any, str]]:
    """A page on ``server`` whose Start button began a session that now runs, and its id; the
    page's context is closed afterwards whatever the test did."""
    context = observed_context(browser, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(timeout_ms)
    try:
        page.goto(server.url)
        wait_live(page)
        page.click(f"#{ids.START}")
        wait(page, f"() => document.getElementById('{ids.SESSION_STATE}').textContent.includes('running')")
        yield page, session_of(page)
    finally:
        context.close()


def observed_context(browser: Any, **kwargs: Any) -> Any:
    """``browser.new_context(**kwargs)`` whose pages run :data:`OBSERVER` first."""
    context = browser.new_context(**kwargs)
    context.add_init_script(OBSERVER)
    return context
