// The metric chart's front end (anywidget ES module, no build step, no library).
// See skyexec_nb/views/metric_chart.py. Points arrive as custom messages ({t: "a"|"reset", x, d:
// {series id: {metric: [[x...], [y...]]}}}); each curve keeps at most `front_max` points (halved
// by min/max when over). Drawn as SVG, redrawn at most once per animation frame; colours of text
// and grid come from JupyterLab's --jp-* variables (see metric_chart_front.css).

const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
  "#9c755f", "#bab0ac"];
const HEIGHT = 190, LEFT = 52, RIGHT = 10, TOP = 8, BOTTOM = 30;

function svg(tag, attrs, parent) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

function html(tag, cls, parent, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

export function niceTicks(lo, hi, count) {
  if (!isFinite(lo) || !isFinite(hi)) return [];
  if (hi <= lo) hi = lo + (Math.abs(lo) || 1);
  const raw = (hi - lo) / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.floor(lo / step) * step; v <= hi + step * 0.5 && ticks.length < 12; v += step) {
    ticks.push(Math.round(v * 1e12) / 1e12);
  }
  return ticks;
}

export function tickText(v) {
  const a = Math.abs(v);
  if (v === 0) return "0";
  if (a >= 10000) return (v / 1000).toPrecision(3).replace(/\.?0+$/, "") + "k";
  if (a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

// Keep at most `max` points: groups of 4 become their lowest and highest point (in order); the
// newest point always stays.
export function halve(curve, max) {
  while (curve.xs.length > max && curve.xs.length > 4) {
    const xs = [], ys = [], n = curve.xs.length;
    for (let i = 0; i < n; i += 4) {
      const end = Math.min(n, i + 4);
      let lo = i, hi = i;
      for (let j = i; j < end; j++) {
        if (curve.ys[j] < curve.ys[lo]) lo = j;
        if (curve.ys[j] > curve.ys[hi]) hi = j;
      }
      const keep = [...new Set([Math.min(lo, hi), Math.max(lo, hi)])];
      if (end === n && keep[keep.length - 1] !== n - 1) keep.push(n - 1);
      for (const k of keep) { xs.push(curve.xs[k]); ys.push(curve.ys[k]); }
    }
    curve.xs = xs; curve.ys = ys;
  }
}

function render({ model, el }) {
  el.classList.add("skx-mc");
  const bar = html("div", "skx-mc-bar", el);
  const charts = html("div", "skx-mc-charts", el);
  const legend = html("div", "skx-mc-legend", el);
  const tableBox = html("div", "skx-mc-table-box", el);
  const note = html("div", "skx-mc-note", el);
  let data = {}; // series id -> metric -> {xs, ys}
  let xUsed = "";
  let frame = 0;
  let sort = null; // {col, dir}

  const curve = (sid, metric) => ((data[sid] ||= {})[metric] ||= { xs: [], ys: [] });

  function merge(d, replace) {
    if (replace) data = {};
    const max = model.get("front_max") || 4000;
    for (const [sid, metrics] of Object.entries(d || {})) {
      for (const [metric, [xs, ys]] of Object.entries(metrics)) {
        const c = curve(sid, metric);
        for (let i = 0; i < xs.length; i++) { c.xs.push(xs[i]); c.ys.push(ys[i]); }
        if (c.xs.length > max) halve(c, Math.floor(max / 2));
      }
    }
  }

  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = 0; draw(); });
  }

  function groups() {
    const key = model.get("color_key");
    const out = new Map();
    for (const s of model.get("series")) {
      const v = key ? String((s.values || {})[key]) : s.label;
      if (!out.has(v)) out.set(v, out.size);
    }
    return out;
  }

  function colourOf(s, index, groupMap) {
    if (model.get("mode") !== "sweep") return PALETTE[index % PALETTE.length];
    const key = model.get("color_key");
    return PALETTE[groupMap.get(key ? String((s.values || {})[key]) : s.label) % PALETTE.length];
  }

  function drawBar() {
    bar.replaceChildren();
    const metrics = model.get("metrics"), shown = model.get("shown");
    if (model.get("mode") === "sweep") {
      html("span", "skx-mc-label", bar, "metric");
      const pick = html("select", "skx-mc-metric", bar);
      for (const m of metrics) { const o = html("option", "", pick, m); o.value = m; o.selected = shown[0] === m; }
      pick.onchange = () => { model.set("shown", [pick.value]); model.save_changes(); };
      const keys = model.get("color_keys");
      if (keys.length) {
        html("span", "skx-mc-label", bar, "colour by");
        const ck = html("select", "skx-mc-colour", bar);
        for (const k of keys) { const o = html("option", "", ck, k); o.value = k; o.selected = model.get("color_key") === k; }
        ck.onchange = () => { model.set("color_key", ck.value); model.save_changes(); };
      }
    } else {
      html("span", "skx-mc-label", bar, "metrics");
      for (const m of metrics) {
        const b = html("button", "skx-mc-toggle", bar, m);
        b.setAttribute("aria-pressed", String(shown.includes(m)));
        b.title = shown.includes(m) ? `hide ${m}` : `show ${m}`;
        b.onclick = () => {
          const next = shown.includes(m) ? shown.filter((n) => n !== m) : [...shown, m];
          model.set("shown", metrics.filter((n) => next.includes(n)));
          model.save_changes();
        };
      }
    }
    const options = model.get("x_options");
    if (options.length) {
      html("span", "skx-mc-label", bar, "x");
      const xs = html("select", "skx-mc-x", bar);
      const current = model.get("x_key") || xUsed;
      for (const k of [...new Set([...options, current].filter(Boolean))]) {
        const o = html("option", "", xs, k); o.value = k; o.selected = k === current;
      }
      xs.onchange = () => { model.set("x_key", xs.value); model.save_changes(); };
    }
  }

  function drawPanel(metric, width) {
    const panel = html("div", "skx-mc-panel", charts);
    const title = html("div", "skx-mc-title", panel, metric);
    const readout = html("span", "skx-mc-readout", title);
    const plot = svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, class: "skx-mc-svg" }, panel);
    const series = model.get("series"), groupMap = groups();
    const curves = [];
    series.forEach((s, i) => {
      const c = data[s.id] && data[s.id][metric];
      if (c && c.xs.length) curves.push({ s, c, colour: colourOf(s, model.get("mode") === "sweep" ? i : model.get("shown").indexOf(metric), groupMap) });
    });
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (const { c } of curves) {
      for (let i = 0; i < c.xs.length; i++) {
        if (c.xs[i] < x0) x0 = c.xs[i]; if (c.xs[i] > x1) x1 = c.xs[i];
        if (c.ys[i] < y0) y0 = c.ys[i]; if (c.ys[i] > y1) y1 = c.ys[i];
      }
    }
    if (!curves.length) {
      svg("text", { x: LEFT, y: HEIGHT / 2, class: "skx-mc-muted" }, plot).textContent = "no points yet";
      return;
    }
    const xt = niceTicks(x0, x1, Math.max(2, Math.floor(width / 90))), yt = niceTicks(y0, y1, 4);
    x0 = Math.min(x0, xt[0]); x1 = Math.max(x1, xt[xt.length - 1]);
    y0 = Math.min(y0, yt[0]); y1 = Math.max(y1, yt[yt.length - 1]);
    const pw = width - LEFT - RIGHT, ph = HEIGHT - TOP - BOTTOM;
    const sx = (x) => LEFT + ((x - x0) / ((x1 - x0) || 1)) * pw;
    const sy = (y) => TOP + ph - ((y - y0) / ((y1 - y0) || 1)) * ph;
    for (const t of yt) {
      svg("line", { x1: LEFT, x2: LEFT + pw, y1: sy(t), y2: sy(t), class: "skx-mc-grid" }, plot);
      svg("text", { x: LEFT - 4, y: sy(t) + 3, "text-anchor": "end", class: "skx-mc-muted" }, plot).textContent = tickText(t);
    }
    for (const t of xt) {
      svg("line", { x1: sx(t), x2: sx(t), y1: TOP, y2: TOP + ph, class: "skx-mc-grid" }, plot);
      svg("text", { x: sx(t), y: TOP + ph + 12, "text-anchor": "middle", class: "skx-mc-muted" }, plot).textContent = tickText(t);
    }
    svg("text", { x: LEFT + pw, y: HEIGHT - 3, "text-anchor": "end", class: "skx-mc-muted" }, plot).textContent = xUsed;
    for (const { s, c, colour } of curves) {
      let pts = "";
      for (let i = 0; i < c.xs.length; i++) pts += `${sx(c.xs[i]).toFixed(1)},${sy(c.ys[i]).toFixed(1)} `;
      const line = svg("polyline", { points: pts, fill: "none", stroke: colour, "stroke-width": 1.5,
        "stroke-linejoin": "round", class: "skx-mc-line", "data-series": s.id, "data-points": c.xs.length }, plot);
      svg("title", {}, line).textContent = s.label;
      if (c.xs.length === 1) svg("circle", { cx: sx(c.xs[0]), cy: sy(c.ys[0]), r: 2.5, fill: colour }, plot);
    }
    const cursor = svg("line", { y1: TOP, y2: TOP + ph, class: "skx-mc-cursor", visibility: "hidden" }, plot);
    plot.onmousemove = (ev) => {
      const box = plot.getBoundingClientRect();
      const px = ((ev.clientX - box.left) / box.width) * width, py = ((ev.clientY - box.top) / box.height) * HEIGHT;
      let best = null;
      for (const { s, c } of curves) {
        for (let i = 0; i < c.xs.length; i++) {
          const d = Math.abs(sx(c.xs[i]) - px) + (curves.length > 1 ? Math.abs(sy(c.ys[i]) - py) * 0.5 : 0);
          if (!best || d < best.d) best = { d, s, x: c.xs[i], y: c.ys[i] };
        }
      }
      if (!best) return;
      cursor.setAttribute("x1", sx(best.x)); cursor.setAttribute("x2", sx(best.x)); cursor.setAttribute("visibility", "visible");
      const who = model.get("mode") === "sweep" ? `${best.s.label} · ` : "";
      readout.textContent = ` ${who}${xUsed} ${tickText(best.x)}: ${Number(best.y.toPrecision(5))}`;
    };
    plot.onmouseleave = () => { cursor.setAttribute("visibility", "hidden"); readout.textContent = ""; };
  }

  function drawLegend() {
    legend.replaceChildren();
    if (model.get("mode") !== "sweep") return;
    const key = model.get("color_key");
    if (key) html("span", "skx-mc-label", legend, key);
    for (const [v, i] of groups()) {
      const item = html("span", "skx-mc-legend-item", legend);
      html("span", "skx-mc-swatch", item).style.background = PALETTE[i % PALETTE.length];
      item.append(document.createTextNode(v));
    }
  }

  function drawTable() {
    tableBox.replaceChildren();
    const table = model.get("table");
    if (model.get("mode") !== "sweep" || !table || !table.columns || !table.columns.length) return;
    const cols = table.columns;
    const bestCol = cols.findIndex((c) => c.startsWith("best "));
    const active = sort && sort.col < cols.length ? sort : { col: bestCol, dir: table.lower ? 1 : -1 };
    const rows = [...table.rows].sort((a, b) => {
      const u = a[active.col], v = b[active.col];
      if (u === null || u === undefined) return 1;
      if (v === null || v === undefined) return -1;
      const nu = Number(u), nv = Number(v); // grid values typed as text ("3e-4") sort as numbers
      const numeric = u !== "" && v !== "" && isFinite(nu) && isFinite(nv);
      return (numeric ? nu - nv : String(u).localeCompare(String(v), undefined, { numeric: true })) * active.dir;
    });
    const t = html("table", "skx-mc-table", tableBox);
    const head = html("tr", "", html("thead", "", t));
    cols.forEach((c, i) => {
      const th = html("th", "", head, c + (i === active.col ? (active.dir > 0 ? " ▲" : " ▼") : ""));
      th.title = "sort by " + c;
      th.setAttribute("aria-sort", i === active.col ? (active.dir > 0 ? "ascending" : "descending") : "none");
      th.onclick = () => { sort = { col: i, dir: i === active.col ? -active.dir : 1 }; drawTable(); };
    });
    const body = html("tbody", "", t);
    for (const r of rows) {
      const tr = html("tr", "", body);
      r.forEach((v) => html("td", typeof v === "number" ? "skx-mc-num" : "", tr,
        v === null || v === undefined ? "–" : typeof v === "number" ? String(Number(v.toPrecision(5))) : String(v)));
    }
  }

  function draw() {
    drawBar();
    charts.replaceChildren();
    const shown = model.get("shown");
    const full = charts.clientWidth || el.clientWidth || 640;
    const perRow = model.get("mode") === "sweep" ? 1 : Math.max(1, Math.min(shown.length, Math.floor(full / 300)));
    const width = Math.max(220, Math.floor((full - 8 * (perRow - 1)) / perRow));
    for (const m of shown) drawPanel(m, model.get("mode") === "sweep" ? Math.min(full, 900) : width);
    drawLegend();
    drawTable();
    note.textContent = model.get("note");
  }

  model.on("msg:custom", (msg) => {
    if (!msg || (msg.t !== "a" && msg.t !== "reset")) return;
    xUsed = msg.x || xUsed;
    merge(msg.d, msg.t === "reset");
    schedule();
  });
  for (const name of ["metrics", "shown", "x_options", "x_key", "series", "color_key", "table", "note"]) {
    model.on(`change:${name}`, schedule);
  }
  const resize = new ResizeObserver(() => schedule());
  resize.observe(el);
  model.send({ t: "hello" });
  schedule();
  return () => { resize.disconnect(); if (frame) cancelAnimationFrame(frame); };
}

export default { render };
