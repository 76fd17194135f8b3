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

from typing import Any

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


def observed_context(browser: Any, **kwargs: Any) -> Any:
    """``browser.new_context(**kwargs)`` whose pages run :data:`OBSERVER` first."""
    context = browser.new_context(**kwargs)
    context.add_init_script(OBSERVER)
    return context
