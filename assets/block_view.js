// The block view's hover ring on the architecture map (frontend/block_view.py).
// The server puts the arch strings that use the hovered block in a store; here they are
// matched against the map's own points (trace 0, customdata[0] = arch) and drawn as one
// extra overlay trace. Trace 0 is never touched, so the live appends (navigator_glue.liveMap)
// and a lasso selection keep working; a fresh server figure simply drops the overlay.
window.navigator_blocks = {
  highlight: function (hover, mapId) {
    const gd = document.querySelector("#" + mapId + " .js-plotly-plot");
    const none = {count: 0, choice_point: null, op: null};
    if (!gd || !gd.data || !gd.data[0] || !window.Plotly) { return none; }
    const old = gd.data.findIndex(t => t.meta && t.meta.blockHighlight);
    if (old >= 0) { window.Plotly.deleteTraces(gd, old); }
    const archs = new Set((hover && hover.archs) || []);
    if (!archs.size) { return none; }
    const base = gd.data[0], x = [], y = [];
    (base.customdata || []).forEach((c, i) => {
      if (c && archs.has(c[0]) && base.x[i] !== null && base.x[i] !== undefined) {
        x.push(base.x[i]); y.push(base.y[i]);
      }
    });
    window.Plotly.addTraces(gd, {
      type: "scattergl", mode: "markers", x: x, y: y, name: "uses " + hover.op,
      hoverinfo: "skip", showlegend: false,
      marker: {symbol: "circle-open", size: 14, color: "#ff6d00", line: {width: 2, color: "#ff6d00"}},
      meta: {blockHighlight: true, choice_point: hover.choice_point, op: hover.op}
    });
    return {count: x.length, choice_point: hover.choice_point, op: hover.op};
  }
};
