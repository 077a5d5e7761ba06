// The log pane's front end (anywidget ES module, no build step). See skyexec_nb/views/log_pane.py.
// Lines arrive as custom messages and are appended as DOM nodes (text is never parsed as HTML),
// so a selection survives updates. The scroll box is a column-reverse flex box: its scroll origin
// is the bottom, so it follows new lines while the reader is at the bottom and, thanks to the
// browser's scroll anchoring, holds still once the reader scrolled up.

const SGR = /\x1b\[([0-9;]*)m/g;
const NAMES = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"];
const CUBE = [0, 95, 135, 175, 215, 255];

// An xterm 256-colour index or a truecolor triple, as a class (16 colours) or an rgb() string.
function extended(params, i) {
  if (params[i + 1] === 5 && params[i + 2] !== undefined) {
    const n = params[i + 2];
    if (n < 16) return [{ cls: (n >= 8 ? "br-" : "") + NAMES[n % 8] }, i + 2];
    if (n < 232) {
      const k = n - 16;
      return [{ rgb: [CUBE[Math.floor(k / 36)], CUBE[Math.floor(k / 6) % 6], CUBE[k % 6]] }, i + 2];
    }
    const g = Math.min(255, 8 + 10 * (n - 232));
    return [{ rgb: [g, g, g] }, i + 2];
  }
  if (params[i + 1] === 2 && params[i + 4] !== undefined) {
    return [{ rgb: params.slice(i + 2, i + 5).map((v) => Math.max(0, Math.min(255, v | 0))) }, i + 4];
  }
  return [null, params.length];
}

// Apply one SGR parameter list (e.g. "1;31") to the style state.
function applySgr(state, code) {
  const params = code === "" ? [0] : code.split(";").map((p) => (p === "" ? 0 : Number(p)));
  for (let i = 0; i < params.length; i++) {
    const p = params[i];
    if (p === 0) Object.assign(state, { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false });
    else if (p === 1) state.bold = true;
    else if (p === 2) state.dim = true;
    else if (p === 3) state.italic = true;
    else if (p === 4) state.underline = true;
    else if (p === 22) state.bold = state.dim = false;
    else if (p === 23) state.italic = false;
    else if (p === 24) state.underline = false;
    else if (p >= 30 && p <= 37) state.fg = { cls: NAMES[p - 30] };
    else if (p >= 90 && p <= 97) state.fg = { cls: "br-" + NAMES[p - 90] };
    else if (p >= 40 && p <= 47) state.bg = { cls: NAMES[p - 40] };
    else if (p >= 100 && p <= 107) state.bg = { cls: "br-" + NAMES[p - 100] };
    else if (p === 39) state.fg = null;
    else if (p === 49) state.bg = null;
    else if (p === 38 || p === 48) {
      const [colour, next] = extended(params, i);
      if (p === 38) state.fg = colour;
      else state.bg = colour;
      i = next;
    }
  }
}

// Append `text` (with SGR codes) to `parent` as text nodes and styled spans.
export function renderAnsi(parent, text) {
  const state = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false };
  let last = 0;
  const emit = (segment) => {
    if (!segment) return;
    const plain = !state.fg && !state.bg && !state.bold && !state.dim && !state.italic && !state.underline;
    if (plain) return parent.append(document.createTextNode(segment));
    const span = document.createElement("span");
    span.textContent = segment;
    for (const [key, colour] of [["fg", state.fg], ["bg", state.bg]]) {
      if (!colour) continue;
      if (colour.cls) span.classList.add(`skx-${key}-${colour.cls}`);
      else span.style[key === "fg" ? "color" : "backgroundColor"] = `rgb(${colour.rgb.join(",")})`;
    }
    for (const flag of ["bold", "dim", "italic", "underline"]) if (state[flag]) span.classList.add(`skx-${flag}`);
    parent.append(span);
  };
  for (const m of text.matchAll(SGR)) {
    emit(text.slice(last, m.index));
    applySgr(state, m[1]);
    last = m.index + m[0].length;
  }
  emit(text.slice(last));
}

function button(label, cls, title) {
  const b = document.createElement("button");
  b.className = `skx-log-button ${cls}`;
  b.textContent = label;
  b.title = title;
  return b;
}

function render({ model, el }) {
  const view = Math.random().toString(36).slice(2);
  const bar = document.createElement("div");
  bar.className = "skx-log-bar";
  const filter = document.createElement("select");
  filter.className = "skx-log-rank-filter";
  filter.title = "Show the lines of one node";
  const copy = button("Copy", "skx-log-copy", "Copy the lines shown to the clipboard");
  const download = button("Download", "skx-log-download", "Download the full log (through the kernel)");
  const open = button("Open", "skx-log-open", "Open the full log in a new browser tab");
  const note = document.createElement("span");
  note.className = "skx-log-note";
  bar.append(filter, copy, download, open, note);
  const box = document.createElement("div");
  box.className = "skx-log";
  const pre = document.createElement("pre");
  pre.className = "skx-log-text";
  box.append(pre);
  el.append(bar, box);

  let ready = false; // true once the kernel answered our hello (until then: the saved snapshot)
  let complete = false; // the DOM holds the whole log
  let pending = null; // the node of the line still being written (a progress bar)
  const requests = new Map();

  const visible = (line) => filter.value === "" || line.dataset.rank === filter.value || line.classList.contains("skx-log-skip");
  function lineNode(rank, text, cls) {
    const line = document.createElement("span");
    line.className = cls || "skx-line";
    if (rank !== null && rank !== undefined) {
      line.dataset.rank = String(rank);
      const prefix = document.createElement("span");
      prefix.className = "skx-rank";
      prefix.textContent = `[${rank}] `;
      line.append(prefix);
    }
    renderAnsi(line, text);
    line.append(document.createTextNode("\n"));
    line.hidden = !visible(line);
    return line;
  }
  function append(msg) {
    if (pending) pending.remove();
    pending = null;
    const nodes = [];
    if (msg.s) nodes.push(lineNode(null, msg.s, "skx-line skx-log-skip"));
    (msg.l || []).forEach((text, i) => nodes.push(lineNode(msg.r ? msg.r[i] : null, text)));
    if (msg.p) nodes.push((pending = lineNode(msg.p[0], msg.p[1], "skx-line skx-pending")));
    pre.append(...nodes);
    const cap = model.get("tail_lines") + 1;
    if (pre.childElementCount > cap) complete = false;
    while (pre.childElementCount > cap) pre.firstElementChild.remove();
    if (msg.s) complete = false;
  }
  function reset(msg) {
    pre.replaceChildren();
    pending = null;
    complete = !!msg.c;
    append(msg);
  }

  function refilter() {
    for (const line of pre.children) line.hidden = !visible(line);
  }
  function syncRanks() {
    const ranks = model.get("ranks") || [];
    const chosen = filter.value;
    filter.replaceChildren(new Option("All nodes", ""), ...ranks.map((r) => new Option(`Node ${r}`, String(r))));
    filter.value = ranks.map(String).includes(chosen) ? chosen : "";
    filter.hidden = ranks.length < 2;
  }
  function syncFile() {
    download.disabled = open.disabled = !model.get("has_file");
    open.title = model.get("files_url") ? "Open the full log (served by Jupyter) in a new tab" : open.title;
  }
  function say(text) {
    note.textContent = text;
  }

  async function copyText() {
    const text = [...pre.children].filter((l) => !l.hidden).map((l) => l.textContent).join("");
    const n = text.split("\n").length - 1;
    try {
      await navigator.clipboard.writeText(text);
    } catch (err) {
      const area = document.createElement("textarea");
      area.value = text;
      area.style.position = "fixed";
      area.style.opacity = "0";
      el.append(area);
      area.select();
      const ok = document.execCommand("copy");
      area.remove();
      if (!ok) return say("Copy failed: the browser refused the clipboard");
    }
    say(complete && filter.value === "" ? `Copied the whole log (${n} lines)` : `Copied the ${n} lines shown; Download has the full log`);
  }

  function fetchLog(onDone) {
    const id = Math.random().toString(36).slice(2);
    requests.set(id, { chunks: [], onDone });
    say("Reading the log through the kernel…");
    model.send({ t: "fetch", id });
  }
  function received(msg, buffers) {
    const req = requests.get(msg.id);
    if (!req) return;
    if (msg.error) {
      requests.delete(msg.id);
      return say(msg.error);
    }
    for (const b of buffers || []) req.chunks.push(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    if (!msg.last) return say(`Reading the log… ${Math.round((100 * req.chunks.reduce((s, c) => s + c.length, 0)) / (msg.size || 1))}%`);
    requests.delete(msg.id);
    const url = URL.createObjectURL(new Blob(req.chunks, { type: "text/plain;charset=utf-8" }));
    req.onDone(url);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
  function save(url) {
    const a = document.createElement("a");
    a.href = url;
    a.download = model.get("file_name") || "job.log";
    el.append(a);
    a.click();
    a.remove();
    say(`Downloaded ${a.download}`);
  }

  copy.addEventListener("click", copyText);
  download.addEventListener("click", () => fetchLog(save));
  open.addEventListener("click", () => {
    const served = model.get("files_url");
    if (served) return void window.open(served, "_blank", "noopener");
    const tab = window.open("", "_blank"); // opened now, while the click still counts as a user gesture
    fetchLog((url) => {
      if (!tab) return save(url); // popup blocked: save it instead
      tab.location.href = url;
      say("Opened the full log in a new tab");
    });
  });
  filter.addEventListener("change", refilter);

  const onMessage = (msg, buffers) => {
    if (msg.t === "file") return received(msg, buffers);
    if (msg.t === "reset" && (!msg.to || msg.to === view)) {
      ready = true;
      return reset(msg);
    }
    if (msg.t === "a" && ready) append(msg);
  };
  model.on("msg:custom", onMessage);
  model.on("change:ranks", syncRanks);
  model.on("change:has_file", syncFile);
  model.on("change:files_url", syncFile);
  box.style.maxHeight = model.get("max_height");
  syncRanks();
  syncFile();
  const snap = model.get("snapshot");
  if (snap && snap.l) reset({ ...snap, c: snap.complete });
  model.send({ t: "hello", view });
  return () => {
    model.off("msg:custom", onMessage);
    model.off("change:ranks", syncRanks);
    model.off("change:has_file", syncFile);
    model.off("change:files_url", syncFile);
  };
}

export default { render };
