/* lstmkit.explain report: an LSTMVis-like explorer of one trace, in plain JavaScript.
 *
 * Everything comes from the JSON embedded in the page (#report-data; schema in report.py) and is
 * drawn on canvases that share one time axis: the inputs (or tokens), the attribution/attention
 * bars, the heatmap (rows = units, columns = steps) and the selected unit's detail chart. Nothing
 * is fetched: the page works from file://. Data strings only ever reach the page as textContent.
 */
"use strict";

(function () {
  const DATA = JSON.parse(document.getElementById("report-data").textContent);

  const LABEL = {
    input: "input gate", forget: "forget gate", output: "output gate",
    cell_input: "cell input", cell: "cell state", hidden: "hidden state",
  };
  const COLOUR = {
    input: "#16a34a", forget: "#ea580c", output: "#9333ea",
    cell_input: "#0891b2", cell: "#dc2626", hidden: "#2563eb",
  };
  const GATES = ["input", "forget", "output"];
  const STATES = ["cell_input", "cell", "hidden"];
  const FEATURE_COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04",
    "#db2777", "#4b5563", "#65a30d"];
  const GUTTER = 84;            // px left of the time axis, for row labels; the same on every canvas
  const RIGHT = 16;
  const ACCENT = "#2563eb";
  const MISSING = "#e5e7eb";
  const FONT = getComputedStyle(document.body).fontFamily || "sans-serif";
  const $ = (id) => document.getElementById(id);

  const state = {
    seq: 0, layer: 0, quantity: "cell", unit: 0, sort: "unit",
    hover: null,                // {t, u} under the mouse on the heatmap
    range: null,                // [from, to] steps, inclusive (pattern search)
    drag: null, pendingFrom: null, pattern: null, patternUnits: new Map(),
  };
  let geom = null;
  let heatBase = null;
  const scaleCache = new Map();

  // ---------------------------------------------------------------------------------------------
  // Small helpers

  function el(tag, props, text) {
    const e = document.createElement(tag);
    if (props) for (const [k, v] of Object.entries(props)) {
      if (k === "class") e.className = v; else if (k.startsWith("data-")) e.setAttribute(k, v); else e[k] = v;
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (typeof v !== "number") return String(v);
    if (v === 0) return "0";
    const d = digits || 3, a = Math.abs(v);
    const s = a >= 1e5 || a < 1e-3 ? v.toExponential(d - 1) : String(Number(v.toPrecision(d)));
    return s.replace("-", "\u2212");
  }

  function isInfiniteWhenNull(stat) { return /half_life|time_scale|memory/.test(stat); }

  function fmtStat(stat, v) {
    if (v === null || v === undefined) return isInfiniteWhenNull(stat) ? "\u221e" : "–";
    return fmt(v);
  }

  function statLabel(stat) { return stat.replace(/_/g, " "); }

  function clamp(x, lo, hi) { return Math.max(lo, Math.min(hi, x)); }

  function setupCanvas(c, w, h) {
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(w * dpr);
    c.height = Math.round(h * dpr);
    c.style.width = w + "px";
    c.style.height = h + "px";
    const ctx = c.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return ctx;
  }

  function font(ctx, size, weight) { ctx.font = (weight || "") + " " + size + "px " + FONT; }

  function palette(stops, n) {
    const rgb = stops.map(([p, h]) => [p, parseInt(h.slice(1, 3), 16), parseInt(h.slice(3, 5), 16),
      parseInt(h.slice(5, 7), 16)]);
    const out = [];
    for (let i = 0; i < n; i++) {
      const f = i / (n - 1);
      let k = 0;
      while (k < rgb.length - 2 && f > rgb[k + 1][0]) k++;
      const a = rgb[k], b = rgb[k + 1], w = (f - a[0]) / (b[0] - a[0]);
      out.push("rgb(" + [1, 2, 3].map((j) => Math.round(a[j] + w * (b[j] - a[j]))).join(",") + ")");
    }
    return out;
  }
  // Diverging (negative blue, 0 white, positive red) for values around 0; sequential for gates.
  const DIVERGING = palette([[0, "#053061"], [0.15, "#2166ac"], [0.3, "#4393c3"], [0.42, "#d1e5f0"],
    [0.5, "#f7f7f7"], [0.58, "#fddbc7"], [0.7, "#d6604d"], [0.85, "#b2182b"], [1, "#67001f"]], 257);
  const SEQUENTIAL = palette([[0, "#ffffe5"], [0.2, "#d9f0a3"], [0.4, "#78c679"], [0.6, "#31a354"],
    [0.8, "#1d6b5d"], [1, "#0b2c4d"]], 257);

  function currentSeq() { return DATA.sequences[state.seq]; }
  function currentLayer() { return DATA.layers[state.layer]; }
  function isGate(q) { return GATES.includes(q); }

  /** The colour scale of quantity q of layer k: gates on [0, 1], the rest symmetric around 0, as
   * wide as the largest |value| of that quantity in any sequence (so sequences compare). */
  function scaleOf(k, q) {
    if (isGate(q)) return {lo: 0, hi: 1, lut: SEQUENTIAL};
    const key = k + ":" + q;
    if (!scaleCache.has(key)) {
      let m = 0;
      for (const steps of DATA.layers[k].values[q]) for (const row of steps) for (const v of row) {
        if (v !== null && Math.abs(v) > m) m = Math.abs(v);
      }
      scaleCache.set(key, m > 0 ? m : 1);
    }
    const m = scaleCache.get(key);
    return {lo: -m, hi: m, lut: DIVERGING};
  }

  function colourOf(v, scale) {
    if (v === null) return MISSING;
    const f = clamp((v - scale.lo) / (scale.hi - scale.lo), 0, 1);
    return scale.lut[Math.round(f * (scale.lut.length - 1))];
  }

  function tickStep(colW) {
    const want = 46 / colW;
    for (const s of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000]) if (s >= want) return s;
    return 20000;
  }

  function colX(t) { return GUTTER + t * geom.colW; }
  function colMid(t) { return GUTTER + (t + 0.5) * geom.colW; }

  // ---------------------------------------------------------------------------------------------
  // Layout and the shared overlays (selected range, hovered step)

  function layout() {
    const seq = currentSeq(), layer = currentLayer();
    const T = seq.length, units = layer.units;
    const avail = Math.max(240, $("timeline").clientWidth - GUTTER - RIGHT);
    const colW = Math.min(96, Math.max(3, avail / T));
    const plotW = colW * T;
    const rowH = Math.max(4, Math.min(24, Math.floor(480 / units)));
    geom = {T, units, colW, plotW, rowH, width: Math.ceil(GUTTER + plotW + RIGHT), axisH: 24};
  }

  function shadeRange(ctx, top, bottom) {
    if (!state.range) return;
    const [a, b] = state.range;
    const x0 = colX(a), x1 = colX(b + 1);
    ctx.fillStyle = "rgba(37, 99, 235, 0.09)";
    ctx.fillRect(x0, top, x1 - x0, bottom - top);
    ctx.strokeStyle = "rgba(37, 99, 235, 0.7)";
    ctx.lineWidth = 1;
    ctx.setLineDash([4, 3]);
    ctx.beginPath();
    ctx.moveTo(x0 + 0.5, top); ctx.lineTo(x0 + 0.5, bottom);
    ctx.moveTo(x1 - 0.5, top); ctx.lineTo(x1 - 0.5, bottom);
    ctx.stroke();
    ctx.setLineDash([]);
  }

  function hoverLine(ctx, top, bottom) {
    if (!state.hover) return;
    const x = Math.round(colMid(state.hover.t)) + 0.5;
    ctx.strokeStyle = "rgba(17, 24, 39, 0.45)";
    ctx.lineWidth = 1;
    ctx.beginPath(); ctx.moveTo(x, top); ctx.lineTo(x, bottom); ctx.stroke();
  }

  function gutterLabel(ctx, text, y, opts) {
    const o = opts || {};
    font(ctx, o.size || 11, o.weight || "");
    ctx.fillStyle = o.colour || "#6b7280";
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    ctx.fillText(text, GUTTER - 8, y);
  }

  function timeAxis(ctx, y) {
    const step = tickStep(geom.colW);
    ctx.strokeStyle = "#d1d5db";
    ctx.fillStyle = "#6b7280";
    ctx.lineWidth = 1;
    font(ctx, 11);
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.beginPath();
    ctx.moveTo(GUTTER, y + 0.5); ctx.lineTo(GUTTER + geom.plotW, y + 0.5);
    for (let t = 0; t < geom.T; t += step) {
      const x = Math.round(colMid(t)) + 0.5;
      ctx.moveTo(x, y); ctx.lineTo(x, y + 4);
    }
    ctx.stroke();
    for (let t = 0; t < geom.T; t += step) ctx.fillText(String(t), colMid(t), y + 6);
    ctx.textAlign = "right";
    ctx.fillText("step", GUTTER - 8, y + 6);
  }

  // ---------------------------------------------------------------------------------------------
  // The input chart (or the tokens) and the attribution / attention bars

  function paintInputs() {
    const c = $("inputs"), seq = currentSeq();
    if (seq.tokens) { paintTokens(c, seq); return; }
    const I = seq.input_names.length, legendH = I ? 18 : 0, h = I ? 104 : 28;
    const ctx = setupCanvas(c, geom.width, h);
    gutterLabel(ctx, "input", legendH + (h - legendH) / 2, {weight: "600", colour: "#374151"});
    if (!seq.inputs.length || !I) {
      font(ctx, 12); ctx.fillStyle = "#9ca3af"; ctx.textAlign = "left";
      ctx.fillText("this sequence has no input features to show", GUTTER + 4, h / 2);
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (const row of seq.inputs) for (const v of row) if (v !== null) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    if (!isFinite(lo)) { lo = -1; hi = 1; }
    if (hi - lo < 1e-12) { lo -= 1; hi += 1; }
    const top = legendH + 6, bottom = h - 6;
    const y = (v) => bottom - (v - lo) / (hi - lo) * (bottom - top);
    // legend
    font(ctx, 11);
    ctx.textBaseline = "middle"; ctx.textAlign = "left";
    let lx = GUTTER;
    const shown = Math.min(I, 10);
    for (let f = 0; f < shown; f++) {
      const name = seq.input_names[f], w = ctx.measureText(name).width;
      if (lx + w + 24 > geom.width) break;
      ctx.fillStyle = FEATURE_COLOURS[f % FEATURE_COLOURS.length];
      ctx.fillRect(lx, 6, 12, 3);
      ctx.fillStyle = "#4b5563"; ctx.fillText(name, lx + 16, 8);
      lx += w + 30;
    }
    if (I > shown) { ctx.fillStyle = "#9ca3af"; ctx.fillText("+" + (I - shown) + " more", lx, 8); }
    shadeRange(ctx, top - 4, bottom + 4);
    // frame, zero line, range labels
    ctx.strokeStyle = "#eceef2"; ctx.lineWidth = 1;
    ctx.strokeRect(GUTTER + 0.5, top - 3.5, geom.plotW - 1, bottom - top + 7);
    if (lo < 0 && hi > 0) {
      ctx.strokeStyle = "#d1d5db"; ctx.setLineDash([3, 3]);
      const y0 = Math.round(y(0)) + 0.5;
      ctx.beginPath(); ctx.moveTo(GUTTER, y0); ctx.lineTo(GUTTER + geom.plotW, y0); ctx.stroke(); ctx.setLineDash([]);
    }
    font(ctx, 10); ctx.fillStyle = "#9ca3af"; ctx.textAlign = "right";
    ctx.textBaseline = "top"; ctx.fillText(fmt(hi), GUTTER - 8, top - 2);
    ctx.textBaseline = "bottom"; ctx.fillText(fmt(lo), GUTTER - 8, bottom + 2);
    const alpha = I > 10 ? 0.55 : 1;
    ctx.globalAlpha = alpha;
    for (let f = 0; f < I; f++) {
      ctx.strokeStyle = FEATURE_COLOURS[f % FEATURE_COLOURS.length];
      ctx.fillStyle = ctx.strokeStyle;
      ctx.lineWidth = I > 10 ? 1 : 1.6;
      ctx.beginPath();
      let pen = false;
      for (let t = 0; t < geom.T; t++) {
        const v = seq.inputs[t][f];
        if (v === null) { pen = false; continue; }
        if (pen) ctx.lineTo(colMid(t), y(v)); else ctx.moveTo(colMid(t), y(v));
        pen = true;
      }
      ctx.stroke();
      if (geom.colW >= 14 && I <= 10) {
        for (let t = 0; t < geom.T; t++) {
          const v = seq.inputs[t][f];
          if (v !== null) { ctx.beginPath(); ctx.arc(colMid(t), y(v), 2.2, 0, 2 * Math.PI); ctx.fill(); }
        }
      }
    }
    ctx.globalAlpha = 1;
    hoverLine(ctx, top - 4, bottom + 4);
  }

  function ellipsize(ctx, text, max) {
    if (ctx.measureText(text).width <= max) return text;
    let s = text;
    while (s.length > 1 && ctx.measureText(s + "…").width > max) s = s.slice(0, -1);
    return s + "…";
  }

  function paintTokens(c, seq) {
    const probe = c.getContext("2d");
    font(probe, 12);
    let maxW = 0;
    for (const w of seq.tokens) maxW = Math.max(maxW, probe.measureText(w).width);
    const horizontal = maxW + 8 <= geom.colW;
    const h = horizontal ? 30 : Math.min(96, Math.ceil(maxW) + 16);
    const ctx = setupCanvas(c, geom.width, h);
    gutterLabel(ctx, "tokens", h / 2, {weight: "600", colour: "#374151"});
    shadeRange(ctx, 0, h);
    const every = horizontal ? 1 : Math.max(1, Math.ceil(14 / geom.colW));
    for (let t = 0; t < geom.T; t++) {
      const x0 = Math.floor(colX(t)), x1 = Math.floor(colX(t + 1));
      const hovered = state.hover && state.hover.t === t;
      ctx.fillStyle = hovered ? "#dbe6fe" : (t % 2 ? "#f7f8fa" : "#ffffff");
      ctx.fillRect(x0, 2, x1 - x0, h - 4);
      if (t % every) continue;
      font(ctx, 12, hovered ? "600" : "");
      ctx.fillStyle = "#1f2430";
      if (horizontal) {
        ctx.textAlign = "center"; ctx.textBaseline = "middle";
        ctx.fillText(seq.tokens[t], colMid(t), h / 2);
      } else {
        ctx.save();
        ctx.translate(colMid(t), h - 6);
        ctx.rotate(-Math.PI / 2);
        ctx.textAlign = "left"; ctx.textBaseline = "middle";
        ctx.fillText(ellipsize(ctx, seq.tokens[t], h - 12), 0, 0);
        ctx.restore();
      }
    }
  }

  function paintBars() {
    const c = $("bars"), seq = currentSeq();
    const rows = [];
    if (seq.attribution) rows.push(["attribution", seq.attribution, true]);
    if (seq.attention) rows.push(["attention", seq.attention, false]);
    if (!rows.length) { c.style.display = "none"; return; }
    c.style.display = "block";
    const rowH = 30, h = rows.length * rowH + 4;
    const ctx = setupCanvas(c, geom.width, h);
    shadeRange(ctx, 0, h);
    rows.forEach(([name, values, signed], i) => {
      const top = i * rowH + 4, bottom = top + rowH - 6;
      gutterLabel(ctx, name, (top + bottom) / 2, {weight: "600", colour: "#374151"});
      let m = 0;
      for (const v of values) if (v !== null) m = Math.max(m, Math.abs(v));
      if (m === 0) m = 1;
      const base = signed ? (top + bottom) / 2 : bottom;
      const span = signed ? (bottom - top) / 2 : bottom - top;
      ctx.strokeStyle = "#e5e7eb"; ctx.lineWidth = 1;
      const yb = Math.round(base) + 0.5;
      ctx.beginPath(); ctx.moveTo(GUTTER, yb); ctx.lineTo(GUTTER + geom.plotW, yb); ctx.stroke();
      const pad = geom.colW >= 6 ? Math.min(3, geom.colW * 0.18) : 0;
      for (let t = 0; t < geom.T; t++) {
        const v = values[t];
        if (v === null) continue;
        const len = Math.abs(v) / m * span;
        ctx.fillStyle = signed ? (v >= 0 ? "#d6604d" : "#4393c3") : "#7c3aed";
        const x0 = colX(t) + pad, w = Math.max(1, geom.colW - 2 * pad);
        ctx.fillRect(x0, v >= 0 ? base - len : base, w, Math.max(len, 0.5));
      }
    });
    hoverLine(ctx, 0, h);
  }

  // ---------------------------------------------------------------------------------------------
  // The heatmap

  function buildHeatBase() {
    const layer = currentLayer(), q = state.quantity, values = layer.values[q][state.seq];
    const scale = scaleOf(state.layer, q);
    const h = geom.units * geom.rowH + geom.axisH;
    const dpr = window.devicePixelRatio || 1;
    heatBase = document.createElement("canvas");
    heatBase.width = Math.round(geom.width * dpr);
    heatBase.height = Math.round(h * dpr);
    const ctx = heatBase.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    for (let t = 0; t < geom.T; t++) {
      const x0 = Math.floor(colX(t)), x1 = Math.floor(colX(t + 1));
      const row = values[t];
      for (let u = 0; u < geom.units; u++) {
        ctx.fillStyle = colourOf(row[u], scale);
        ctx.fillRect(x0, u * geom.rowH, x1 - x0, geom.rowH);
      }
    }
    if (geom.rowH >= 12) {                                  // hairlines between rows, where rows are tall
      ctx.fillStyle = "rgba(255, 255, 255, 0.55)";
      for (let u = 1; u < geom.units; u++) ctx.fillRect(GUTTER, u * geom.rowH, geom.plotW, 1);
    }
    timeAxis(ctx, geom.units * geom.rowH + 2);
  }

  function labelEvery() { return Math.max(1, Math.ceil(12 / geom.rowH)); }

  function paintHeatmap() {
    const c = $("heatmap");
    const h = geom.units * geom.rowH + geom.axisH;
    const ctx = setupCanvas(c, geom.width, h);
    ctx.drawImage(heatBase, 0, 0, geom.width, h);
    const every = labelEvery(), size = Math.min(11, Math.max(8, geom.rowH - 2));
    for (let u = 0; u < geom.units; u++) {
      const mid = (u + 0.5) * geom.rowH;
      const selected = u === state.unit, hovered = state.hover && state.hover.u === u;
      if (state.patternUnits.has(u)) {
        ctx.fillStyle = ACCENT;
        ctx.beginPath(); ctx.arc(10, mid, Math.min(3.5, geom.rowH / 2), 0, 2 * Math.PI); ctx.fill();
      }
      const near = every > 1 && !selected && !hovered && (Math.abs(u - state.unit) < every ||
        (state.hover && Math.abs(u - state.hover.u) < every));
      if (selected || hovered || (u % every === 0 && !near)) {
        gutterLabel(ctx, (selected || hovered) && geom.rowH >= 10 ? "unit " + u : String(u), mid,
          {size, weight: selected ? "700" : "", colour: selected ? ACCENT : hovered ? "#111827" : "#6b7280"});
      }
    }
    const bottom = geom.units * geom.rowH;
    shadeRange(ctx, 0, bottom);
    if (state.hover) {
      const {t, u} = state.hover;
      ctx.strokeStyle = "rgba(17, 24, 39, 0.35)"; ctx.lineWidth = 1;
      ctx.strokeRect(GUTTER + 0.5, u * geom.rowH + 0.5, geom.plotW - 1, geom.rowH - 1);
      ctx.strokeStyle = "#111827"; ctx.lineWidth = 1.5;
      const x0 = Math.floor(colX(t)), x1 = Math.floor(colX(t + 1));
      ctx.strokeRect(x0 + 0.75, u * geom.rowH + 0.75, x1 - x0 - 1.5, geom.rowH - 1.5);
    }
    ctx.strokeStyle = "#111827"; ctx.lineWidth = 2;
    ctx.strokeRect(GUTTER + 1, state.unit * geom.rowH + 1, geom.plotW - 2, Math.max(2, geom.rowH - 2));
    ctx.fillStyle = ACCENT;
    ctx.fillRect(GUTTER - 5, state.unit * geom.rowH, 3, geom.rowH);
    // geometry for tests and tools: a row's y is rowHeight * unit, a step's x is gutter + colWidth * t
    Object.assign(c.dataset, {gutter: GUTTER, colWidth: geom.colW, rowHeight: geom.rowH, units: geom.units,
      steps: geom.T});
  }

  function cellAt(ev) {
    const r = $("heatmap").getBoundingClientRect();
    const x = ev.clientX - r.left, y = ev.clientY - r.top;
    const u = Math.floor(y / geom.rowH), tRaw = Math.floor((x - GUTTER) / geom.colW);
    return {t: clamp(tRaw, 0, geom.T - 1), u, onRow: u >= 0 && u < geom.units, onCell: tRaw >= 0 && tRaw < geom.T};
  }

  // ---------------------------------------------------------------------------------------------
  // The detail chart of the selected unit: gates on [0, 1] above, cell input / cell / hidden below

  function paintDetail() {
    const c = $("detail-chart"), layer = currentLayer(), u = state.unit, s = state.seq;
    const panels = [];
    const gates = GATES.filter((q) => layer.quantities.includes(q));
    const states = STATES.filter((q) => layer.quantities.includes(q));
    if (gates.length) panels.push({name: "gates", qs: gates, lo: 0, hi: 1});
    if (states.length) {
      let m = 0;
      for (const q of states) {
        for (const row of layer.values[q][s]) if (row[u] !== null) m = Math.max(m, Math.abs(row[u]));
      }
      m = m > 0 ? m * 1.08 : 1;
      panels.push({name: "states", qs: states, lo: -m, hi: m});
    }
    const legendH = 20, panelH = 112, gap = 16;
    const h = panels.length * (legendH + panelH + gap) + geom.axisH - gap + 4;
    const ctx = setupCanvas(c, geom.width, h);
    let top = 0;
    for (const p of panels) {
      // legend
      font(ctx, 11.5); ctx.textBaseline = "middle"; ctx.textAlign = "left";
      let lx = GUTTER;
      for (const q of p.qs) {
        ctx.fillStyle = COLOUR[q];
        ctx.fillRect(lx, top + 9, 14, q === state.quantity ? 3.5 : 2);
        font(ctx, 11.5, q === state.quantity ? "600" : "");
        ctx.fillStyle = "#374151";
        ctx.fillText(LABEL[q], lx + 19, top + 10);
        lx += ctx.measureText(LABEL[q]).width + 36;
      }
      const y0 = top + legendH, y1 = y0 + panelH;
      const y = (v) => y1 - (v - p.lo) / (p.hi - p.lo) * (y1 - y0);
      ctx.fillStyle = "#fafbfc";
      ctx.fillRect(GUTTER, y0, geom.plotW, panelH);
      shadeRange(ctx, y0, y1);
      // grid and y labels
      const ticks = p.name === "gates" ? [0, 0.5, 1] : [p.lo / 1.08, 0, p.hi / 1.08];
      ctx.lineWidth = 1;
      for (const v of ticks) {
        const yy = Math.round(y(v)) + 0.5;
        ctx.strokeStyle = v === 0 && p.name === "states" ? "#cbd0d8" : "#eceef2";
        ctx.beginPath(); ctx.moveTo(GUTTER, yy); ctx.lineTo(GUTTER + geom.plotW, yy); ctx.stroke();
        font(ctx, 10); ctx.fillStyle = "#9ca3af"; ctx.textAlign = "right"; ctx.textBaseline = "middle";
        ctx.fillText(fmt(v, 2), GUTTER - 8, clamp(yy, y0 + 5, y1 - 5));
      }
      font(ctx, 11, "600"); ctx.fillStyle = "#374151"; ctx.textAlign = "left"; ctx.textBaseline = "middle";
      ctx.fillText(p.name, 4, (y0 + y1) / 2);
      // lines, the heatmap's quantity on top
      const order = p.qs.filter((q) => q !== state.quantity).concat(p.qs.filter((q) => q === state.quantity));
      for (const q of order) {
        const steps = layer.values[q][s];
        ctx.strokeStyle = COLOUR[q];
        ctx.lineWidth = q === state.quantity ? 2.4 : 1.4;
        ctx.globalAlpha = q === state.quantity ? 1 : 0.85;
        ctx.beginPath();
        let pen = false;
        for (let t = 0; t < geom.T; t++) {
          const v = steps[t][u];
          if (v === null) { pen = false; continue; }
          if (pen) ctx.lineTo(colMid(t), y(v)); else ctx.moveTo(colMid(t), y(v));
          pen = true;
        }
        ctx.stroke();
        if (geom.colW >= 14) {
          ctx.fillStyle = COLOUR[q];
          for (let t = 0; t < geom.T; t++) {
            const v = steps[t][u];
            if (v === null) continue;
            ctx.beginPath(); ctx.arc(colMid(t), y(v), q === state.quantity ? 2.6 : 1.8, 0, 2 * Math.PI); ctx.fill();
          }
        }
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = "#e2e5ea"; ctx.lineWidth = 1;
      ctx.strokeRect(GUTTER + 0.5, y0 + 0.5, geom.plotW - 1, panelH - 1);
      hoverLine(ctx, y0, y1);
      top = y1 + gap;
    }
    timeAxis(ctx, top - gap + 2);
  }

  function updateDetailText() {
    const layer = currentLayer(), u = state.unit;
    $("detail-unit").textContent = String(u);
    $("detail-where").textContent = "of " + layer.name + " · sequence “" + currentSeq().name + "”";
    const dl = $("detail-stats");
    dl.replaceChildren();
    for (const [stat, values] of Object.entries(layer.unit_stats)) {
      const d = el("div");
      d.append(el("dt", null, statLabel(stat)), el("dd", null, fmtStat(stat, values[u])));
      dl.append(d);
    }
    if (!dl.children.length) dl.append(el("div", null, "no unit statistics"));
  }

  // ---------------------------------------------------------------------------------------------
  // Lists: summary, highlights, units, pattern results

  function buildSummary() {
    const table = $("summary");
    table.replaceChildren();
    const entries = Object.entries(DATA.summary);
    if (!entries.length) {
      const tr = el("tr");
      tr.append(el("td", {class: "muted"}, "no summary"));
      table.append(tr);
      return;
    }
    for (const [k, v] of entries) {
      const tr = el("tr");
      const text = typeof v === "number" && Number.isInteger(v) && Math.abs(v) >= 1e4 ? v.toLocaleString("en-US")
        : typeof v === "number" ? fmt(v, 4) : v === null ? "–" : String(v);
      const code = typeof v === "string" && (v.includes("\n") || /^\w+\(/.test(v));
      tr.append(el("th", null, k), el("td", code ? {class: "code"} : null, text));
      table.append(tr);
    }
  }

  function buildHighlights() {
    const ul = $("highlights");
    ul.replaceChildren();
    if (!DATA.highlights.length) { ul.append(el("p", {class: "muted small"}, "No unit was singled out.")); return; }
    DATA.highlights.forEach((hl, i) => {
      const li = el("li", {"data-layer": String(hl.layer), "data-unit": String(hl.unit), "data-index": String(i)});
      const tag = el("span", {class: "tag"}, "unit " + hl.unit);
      const why = el("span", {class: "why"}, hl.why);
      if (DATA.layers.length > 1) why.append(el("span", {class: "muted small"}, " · " + DATA.layers[hl.layer].name));
      li.append(tag, why);
      ul.append(li);
    });
  }

  function sortKey(stat, v) {
    if (v === null || v === undefined) return isInfiniteWhenNull(stat) ? Infinity : -Infinity;
    return v;
  }

  function buildSortOptions() {
    const sel = $("unit-sort"), stats = Object.keys(currentLayer().unit_stats);
    sel.replaceChildren(el("option", {value: "unit"}, "unit"));
    for (const s of stats) sel.append(el("option", {value: s}, statLabel(s) + " \u2193"));
    if (state.sort !== "unit" && !stats.includes(state.sort)) state.sort = "unit";
    sel.value = state.sort;
  }

  function buildUnitList() {
    // The list shows three stats at most (the sorted one first), to stay readable in the sidebar;
    // every stat of the selected unit is in the detail view.
    const layer = currentLayer(), ul = $("units"), all = Object.entries(layer.unit_stats);
    const sorted = all.filter(([s]) => s === state.sort), rest = all.filter(([s]) => s !== state.sort);
    const stats = sorted.concat(rest).slice(0, 3);
    const order = Array.from({length: layer.units}, (_, u) => u);
    if (state.sort !== "unit") {
      const vals = layer.unit_stats[state.sort];
      order.sort((a, b) => sortKey(state.sort, vals[b]) - sortKey(state.sort, vals[a]) || a - b);
    }
    const columns = "58px" + " minmax(0, 1fr)".repeat(stats.length);
    const head = $("units-header");
    head.replaceChildren(el("span", null, "unit"));
    for (const [s] of stats) head.append(el("span", {title: s}, statLabel(s)));
    head.style.gridTemplateColumns = columns;
    ul.replaceChildren();
    for (const u of order) {
      const li = el("li", {"data-unit": String(u)});
      li.style.gridTemplateColumns = columns;
      li.append(el("span", {class: "tag"}, "unit " + u));
      for (const [s, v] of stats) li.append(el("span", {class: "stat"}, fmtStat(s, v[u])));
      ul.append(li);
    }
    markSelected();
  }

  function markSelected() {
    for (const li of $("units").children) li.classList.toggle("selected", Number(li.dataset.unit) === state.unit);
    for (const li of $("pattern-results").children) {
      li.classList.toggle("selected", Number(li.dataset.unit) === state.unit);
    }
    for (const li of $("highlights").querySelectorAll("li")) {
      const same = Number(li.dataset.layer) === state.layer && Number(li.dataset.unit) === state.unit;
      li.classList.toggle("selected", same);
    }
  }

  function scrollUnitIntoView() {
    const ul = $("units"), li = ul.querySelector('li[data-unit="' + state.unit + '"]');
    if (!li) return;
    const top = li.offsetTop, bottom = top + li.offsetHeight;
    if (top < ul.scrollTop) ul.scrollTop = top - 4;
    else if (bottom > ul.scrollTop + ul.clientHeight) ul.scrollTop = bottom - ul.clientHeight + 4;
  }

  // ---------------------------------------------------------------------------------------------
  // Pattern search: units whose scaled quantity is >= threshold inside [from, to] and below outside

  function patternScores(a, b, thr) {
    const layer = currentLayer(), values = layer.values[state.quantity][state.seq], T = values.length;
    const scores = [];
    for (let u = 0; u < layer.units; u++) {
      let m = 0;
      for (let t = 0; t < T; t++) { const v = values[t][u]; if (v !== null) m = Math.max(m, Math.abs(v)); }
      let inOn = 0, inN = 0, outOn = 0, outN = 0;
      for (let t = 0; t < T; t++) {
        const v = values[t][u];
        if (v === null) continue;
        const on = (m > 0 ? v / m : 0) >= thr ? 1 : 0;
        if (t >= a && t <= b) { inOn += on; inN++; } else { outOn += on; outN++; }
      }
      const score = (inN ? inOn / inN : 0) - (outN ? outOn / outN : 0);
      scores.push({u, score});
    }
    return scores.filter((s) => s.score > 0).sort((x, y) => y.score - x.score || x.u - y.u).slice(0, 10);
  }

  function runPattern() {
    const msg = $("pattern-message"), ol = $("pattern-results"), T = currentSeq().length;
    const fromText = $("pattern-from").value, toText = $("pattern-to").value;
    const thr = parseFloat($("pattern-threshold").value);
    ol.replaceChildren();
    state.patternUnits = new Map();
    if (fromText === "" || toText === "") {
      msg.textContent = "Give the steps (from, to), or shift+drag across the heatmap.";
      state.pattern = null; state.range = null; paintAll(); return;
    }
    if (!isFinite(thr)) { msg.textContent = "The threshold must be a number in [−1, 1]."; return; }
    let a = clamp(Math.round(Number(fromText)), 0, T - 1), b = clamp(Math.round(Number(toText)), 0, T - 1);
    if (a > b) [a, b] = [b, a];
    $("pattern-from").value = a; $("pattern-to").value = b;
    state.range = [a, b];
    state.pattern = {thr};
    const results = patternScores(a, b, thr);
    for (const {u, score} of results) {
      state.patternUnits.set(u, score);
      const li = el("li", {"data-unit": String(u)});
      const bar = el("span", {class: "bar"}), fill = el("span");
      fill.style.width = Math.round(score * 100) + "%";
      bar.append(fill);
      li.append(el("span", {class: "tag"}, "unit " + u), bar, el("span", {class: "score"}, score.toFixed(2)));
      ol.append(li);
    }
    const q = LABEL[state.quantity], where = a === b ? "step " + a : "steps " + a + "–" + b;
    msg.textContent = results.length
      ? results.length + (results.length === 1 ? " unit has its " : " units have their ") + q + " ≥ " + fmt(thr) +
        " in " + where + " more than elsewhere:"
      : "No unit's " + q + " is ≥ " + fmt(thr) + " in " + where + " more than elsewhere; " +
        "try a lower threshold or another range.";
    markSelected();
    paintAll();
  }

  function setRange(a, b, run) {
    $("pattern-from").value = Math.min(a, b);
    $("pattern-to").value = Math.max(a, b);
    state.range = [Math.min(a, b), Math.max(a, b)];
    if (run) runPattern(); else paintAll();
  }

  // ---------------------------------------------------------------------------------------------
  // Hover text, legend, controls

  function showHover() {
    const box = $("hover");
    if (!state.hover) {
      box.textContent = "Hover to read a value · click a row to select a unit · " +
        "shift+drag to mark steps for the pattern search";
      box.classList.add("muted");
      return;
    }
    const {t, u} = state.hover, seq = currentSeq(), layer = currentLayer();
    const value = layer.values[state.quantity][state.seq][t][u];
    const parts = [["step", String(t)], ["unit", String(u)], [LABEL[state.quantity], fmt(value)]];
    if (seq.tokens) parts.push(["token", "“" + seq.tokens[t] + "”"]);
    else if (seq.inputs.length) {
      const names = seq.input_names, row = seq.inputs[t];
      const shown = names.slice(0, 6).map((n, i) => n + " = " + fmt(row[i])).join(", ");
      parts.push(["input", shown + (names.length > 6 ? ", …" : "")]);
    }
    if (seq.attribution) parts.push(["attribution", fmt(seq.attribution[t])]);
    if (seq.attention) parts.push(["attention", fmt(seq.attention[t])]);
    box.classList.remove("muted");
    box.replaceChildren();
    parts.forEach(([k, v], i) => {
      if (i) box.append(document.createTextNode("  ·  "));
      box.append(document.createTextNode(k + " "), el("b", null, v));
    });
  }

  function paintLegend() {
    const c = $("legend"), scale = scaleOf(state.layer, state.quantity);
    const w = 160, h = 30;
    const ctx = setupCanvas(c, w, h);
    for (let x = 0; x < w - 16; x++) {
      ctx.fillStyle = scale.lut[Math.round(x / (w - 17) * (scale.lut.length - 1))];
      ctx.fillRect(8 + x, 2, 1, 11);
    }
    ctx.strokeStyle = "#d1d5db"; ctx.strokeRect(8.5, 2.5, w - 17, 10);
    font(ctx, 10.5); ctx.fillStyle = "#4b5563"; ctx.textBaseline = "top";
    const labels = [[8, scale.lo, "left"], [w / 2, (scale.lo + scale.hi) / 2, "center"], [w - 8, scale.hi, "right"]];
    for (const [x, v, align] of labels) { ctx.textAlign = align; ctx.fillText(fmt(v, 2), x, 16); }
    $("legend-label").textContent = LABEL[state.quantity];
    for (const e of document.querySelectorAll(".q-name")) e.textContent = LABEL[state.quantity];
  }

  function fillQuantities() {
    const layer = currentLayer(), sel = $("quantity");
    sel.replaceChildren();
    for (const q of layer.quantities) sel.append(el("option", {value: q}, LABEL[q]));
    if (!layer.quantities.includes(state.quantity)) {
      state.quantity = layer.quantities.includes("cell") ? "cell" : layer.quantities[0];
    }
    sel.value = state.quantity;
  }

  function sequenceInfo() {
    const seq = currentSeq(), parts = [seq.length + " steps"];
    if (seq.target !== null) parts.push("target " + fmt(seq.target, 4));
    if (seq.prediction !== null) parts.push("prediction " + fmt(seq.prediction, 4));
    $("sequence-info").textContent = parts.join(" · ");
  }

  function paintAll() { paintInputs(); paintBars(); paintHeatmap(); paintDetail(); }

  function renderAll() {
    layout();
    buildHeatBase();
    paintAll();
    paintLegend();
    sequenceInfo();
    updateDetailText();
    showHover();
  }

  function refreshPattern() { if (state.pattern) runPattern(); }

  function setLayer(k, unit) {
    state.layer = k;
    $("layer").value = String(k);
    fillQuantities();
    const units = currentLayer().units;
    state.unit = unit !== undefined ? unit : Math.min(state.unit, units - 1);
    state.hover = null;
    buildSortOptions();
    buildUnitList();
    renderAll();
    refreshPattern();
    scrollUnitIntoView();
  }

  function selectUnit(u) {
    if (!(u >= 0 && u < currentLayer().units)) return;
    state.unit = u;
    markSelected();
    paintHeatmap();
    paintDetail();
    updateDetailText();
    scrollUnitIntoView();
  }

  function unitOf(ev, list) {
    const li = ev.target.closest("li[data-unit]");
    return li && list.contains(li) ? li : null;
  }

  function init() {
    const seqSel = $("sequence"), layerSel = $("layer");
    DATA.sequences.forEach((s, i) => {
      seqSel.append(el("option", {value: String(i)}, s.name + "  (" + s.length + " steps)"));
    });
    DATA.layers.forEach((l, i) => {
      layerSel.append(el("option", {value: String(i)}, l.name + "  (" + l.units + " units)"));
    });
    buildSummary();
    buildHighlights();
    if (DATA.highlights.length) { state.layer = DATA.highlights[0].layer; state.unit = DATA.highlights[0].unit; }

    seqSel.addEventListener("change", () => {
      state.seq = Number(seqSel.value); state.hover = null;
      renderAll(); refreshPattern();
    });
    layerSel.addEventListener("change", () => setLayer(Number(layerSel.value)));
    $("quantity").addEventListener("change", () => {
      state.quantity = $("quantity").value;
      buildHeatBase(); paintAll(); paintLegend(); showHover(); refreshPattern();
    });
    $("unit-sort").addEventListener("change", () => {
      state.sort = $("unit-sort").value; buildUnitList(); scrollUnitIntoView();
    });
    $("units").addEventListener("click", (ev) => {
      const li = unitOf(ev, $("units")); if (li) selectUnit(Number(li.dataset.unit));
    });
    $("pattern-results").addEventListener("click", (ev) => {
      const li = unitOf(ev, $("pattern-results")); if (li) selectUnit(Number(li.dataset.unit));
    });
    $("highlights").addEventListener("click", (ev) => {
      const li = unitOf(ev, $("highlights"));
      if (!li) return;
      const k = Number(li.dataset.layer), u = Number(li.dataset.unit);
      if (k !== state.layer) setLayer(k, u); else selectUnit(u);
      markSelected();
    });
    $("pattern-find").addEventListener("click", runPattern);
    for (const id of ["pattern-from", "pattern-to", "pattern-threshold"]) {
      $(id).addEventListener("keydown", (ev) => { if (ev.key === "Enter") runPattern(); });
    }

    const heat = $("heatmap");
    heat.addEventListener("mousemove", (ev) => {
      const cell = cellAt(ev);
      if (state.drag !== null) state.range = [Math.min(state.drag, cell.t), Math.max(state.drag, cell.t)];
      state.hover = cell.onRow && cell.onCell ? {t: cell.t, u: cell.u} : null;
      paintAll(); showHover();
    });
    heat.addEventListener("mouseleave", () => { state.hover = null; paintAll(); showHover(); });
    heat.addEventListener("mousedown", (ev) => {
      if (!ev.shiftKey) return;
      ev.preventDefault();
      state.drag = cellAt(ev).t;
    });
    window.addEventListener("mouseup", (ev) => {
      if (state.drag === null) return;
      const start = state.drag, end = geom ? cellAt(ev).t : start;
      state.drag = null;
      if (end !== start) { state.pendingFrom = null; setRange(start, end, true); return; }
      if (state.pendingFrom === null) { state.pendingFrom = start; setRange(start, start, false); }
      else { const a = state.pendingFrom; state.pendingFrom = null; setRange(a, start, true); }
    });
    heat.addEventListener("click", (ev) => {
      if (ev.shiftKey) return;
      const cell = cellAt(ev);
      if (cell.onRow) selectUnit(cell.u);
    });
    let resizeTimer = null;
    window.addEventListener("resize", () => {
      clearTimeout(resizeTimer);
      resizeTimer = setTimeout(() => { renderAll(); }, 120);
    });

    setLayer(state.layer, state.unit);
    seqSel.value = String(state.seq);
    markSelected();
    document.body.dataset.ready = "1";
  }

  init();
})();
