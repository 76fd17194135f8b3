// Verdicts next to the controls (frontend/feedback_view.py): a command this tab sent (its id in
// the sent-commands store, with the element that sent it) gets the worker's command_ack or
// command_rejected written into that element. The verdict may arrive over the socket before
// the click's own reply has stored the id, so verdicts are kept (by command id) until the
// store names them. Answers to other commands of the session that arrive live (received in
// the last 10 s, so a catch-up after a reload stays quiet) go to the header's toast, the
// last target.
window.navigator_feedback = {
  verdicts: new Map(),  // command id -> {session, text}
  shown: new Set(),     // command ids already written into their target
  toasted: null,        // the command id whose verdict the toast shows
  verdict: function (ev) {
    const d = ev.data || {};
    if (ev.type === "command_rejected") { return d.command + " rejected: " + d.reason; }
    const how = d.detail || d.effective || "";
    return d.command + " accepted" + (how ? ": " + how : "");
  },
  answers: function (events, sent, session, targets) {
    const skip = window.dash_clientside.no_update;
    const out = targets.map(() => skip);
    const mine = (sent && sent.session === session && sent.sent) || {};
    const now = Date.now() / 1000;
    for (const ev of (events || [])) {
      if (ev.session !== session || (ev.type !== "command_ack" && ev.type !== "command_rejected")) {
        continue;
      }
      const id = ev.data.command_id, text = this.verdict(ev);
      if (id in mine || ev.data.received_ts && now - ev.data.received_ts < 10) {
        this.verdicts.set(id, {session: session, text: text});
      }
      if (!(id in mine) && ev.data.received_ts && now - ev.data.received_ts < 10) {
        out[targets.length - 1] = (ev.data.user ? ev.data.user + ": " : "") + text;
        this.toasted = id;
      }
    }
    for (const [id, entry] of Object.entries(mine)) {
      const found = this.verdicts.get(id), at = targets.indexOf(entry[1]);
      if (found && found.session === session && at >= 0 && !this.shown.has(id)) {
        out[at] = found.text;
        this.shown.add(id);
        // it beat the click's reply to the page and went to the toast: it belongs here
        if (this.toasted === id) { out[targets.length - 1] = ""; this.toasted = null; }
      }
    }
    while (this.verdicts.size > 200) { this.verdicts.delete(this.verdicts.keys().next().value); }
    return out;
  }
};
