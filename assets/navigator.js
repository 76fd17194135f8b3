// Small client-side glue: seq tracking for gap-free live updates, and the theme switch.
window.navigator_glue = {
  // Keep the last seq seen for the current session. Events arrive in seq order; a batch whose
  // first seq skips ahead means some were missed, so ask the server to resend after last_seq.
  // ``triggers`` lists, per live view, the event types it draws: the view's trigger store gets
  // the batch's last seq when the batch holds one of them, and is left alone otherwise.
  trackSeq: function (events, seq, session, triggers) {
    const state = Object.assign({last_seq: 0, session: session}, seq || {});
    if (state.session !== session) { state.last_seq = 0; state.session = session; }
    let resync = window.dash_clientside.no_update;
    const accepted = [];
    for (const ev of (events || [])) {
      if (ev.session !== session || ev.seq <= state.last_seq) { continue; }
      if (ev.seq !== state.last_seq + 1) { resync = {after: state.last_seq, at: Date.now()}; break; }
      state.last_seq = ev.seq;
      accepted.push(ev);
    }
    window.navigator_glue.liveMap(session, accepted);
    const last = accepted.length ? accepted[accepted.length - 1].seq : null;
    const fire = (triggers || []).map(types =>
      accepted.some(ev => types.includes(ev.type)) ? last : window.dash_clientside.no_update);
    return [state, resync, ...fire];
  },
  // Connection badge (``sid`` is an input so that a reconnect redraws it).
  connection: function (connected, sid) {
    return connected ? ["live", "badge ok"] : ["reconnecting…", "badge warn"];
  },
  // Live map without a server round-trip: the browser keeps every candidate of the session
  // it has received and appends the ones the map does not show yet with Plotly.extendTraces
  // (a few ms of work, however many points are shown). The server sends a whole figure only
  // when the session, colour key, theme or coordinates (a UMAP refit) change; the trace's
  // meta names its session and colour key, and after such a figure is drawn any points it
  // lacks (computed before they arrived) are appended too. Dedup is by arch string.
  mapPoints: {session: null, order: [], byArch: new Map()},
  liveMap: function (session, events) {
    const acc = this.mapPoints;
    if (acc.session !== session) { acc.session = session; acc.order = []; acc.byArch = new Map(); }
    for (const ev of events) {
      if (ev.type === "candidates") {
        for (const r of ev.data.records || []) {
          if (!acc.byArch.has(r.arch)) { acc.order.push(r.arch); }
          acc.byArch.set(r.arch, r);
        }
      } else if (ev.type === "map_update") {
        for (const [arch, xy] of Object.entries(ev.data.coords || {})) {
          const r = acc.byArch.get(arch);
          if (r) { r.x = xy[0]; r.y = xy[1]; }
        }
      }
    }
    this.syncMap();
  },
  syncMap: function () {
    const gd = document.querySelector("#map .js-plotly-plot");
    if (!gd || !gd.data || !gd.data[0] || !window.Plotly) { return 0; }
    if (!gd.__navigatorHooked && gd.on) {
      gd.__navigatorHooked = true;  // complete a freshly drawn server figure, after it is drawn
      gd.on("plotly_afterplot", () => setTimeout(() => window.navigator_glue.syncMap(), 0));
    }
    const trace = gd.data[0], meta = trace.meta || {}, acc = this.mapPoints;
    if (!meta.session || meta.session !== acc.session || !trace.customdata) { return 0; }
    if (gd.__navigatorSource !== trace.customdata || gd.__navigatorCount !== trace.customdata.length) {
      gd.__navigatorShown = new Set(trace.customdata.map(c => c[0]));
    }
    const shown = gd.__navigatorShown, key = meta.color || "accuracy";
    const x = [], y = [], custom = [], colour = [];
    for (const arch of acc.order) {
      const r = acc.byArch.get(arch);
      if (shown.has(arch) || r.x === null || r.x === undefined) { continue; }
      shown.add(arch);
      x.push(r.x); y.push(r.y); custom.push([arch, r.accuracy, r.params, this.hoverDetails(r)]);
      const value = key in r ? r[key] : (r.scores || {})[key];
      colour.push(value === undefined ? null : value);
    }
    if (x.length) {
      window.Plotly.extendTraces(gd, {x: [x], y: [y], customdata: [custom], "marker.color": [colour]}, [0]);
      // The count in the title, without another redraw.
      const n = gd.data[0].customdata.length, method = meta.method ? ", " + meta.method : "";
      const head = "Search-space map (" + n.toLocaleString("en-US") + " candidates" + method + ")";
      // keep what follows the count (the fixed map's "· map of N of M")
      const text = ((gd.layout.title && gd.layout.title.text) || head).replace(/^Search-space map \([^)]*\)/, head);
      if (gd.layout.title) { gd.layout.title.text = text; }
      const title = gd.querySelector(".gtitle");
      if (title) { title.textContent = text; }
    }
    gd.__navigatorSource = gd.data[0].customdata;
    gd.__navigatorCount = gd.data[0].customdata.length;
    return x.length;
  },
  // The map hover's last line, as frontend/figures.py (map_hover_details) words it.
  hoverDetails: function (r) {
    const num = v => typeof v === "number" && isFinite(v);
    return [r.generation === null || r.generation === undefined ? "generation ?" : "generation " + r.generation,
            num(r.flops) ? "FLOPs " + r.flops.toLocaleString("en-US") : "FLOPs ?",
            num(r.latency_ms) ? "latency " + r.latency_ms.toFixed(2) + " ms" : "latency ?"].join(" · ");
  },
  toggleTheme: function (n, theme) {
    let next = theme || "light";
    if (n) { next = next === "dark" ? "light" : "dark"; }
    document.documentElement.dataset.theme = next;
    return next;
  }
};
