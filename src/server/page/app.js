// berth serve's page (docs/serve.md, "The page"). Everything it shows comes from
// GET /api/v1/map; it re-reads it when /api/v1/events says the fleet changed. Every name from
// the fleet is untrusted: the DOM is built with createElement and text nodes only (never
// innerHTML), the grid and bands are drawn on canvases. The token for a claim stays in its
// input field: it is never stored.
"use strict";

// Rows shown at first in each of the hosts (with their bands), listeners and findings tables;
// "show more" adds as many again. `?rows=N` in the address sets it (1 to 10,000).
const PAGE_ROWS = (() => {
  const n = Number(new URLSearchParams(location.search).get("rows"));
  return Number.isInteger(n) && n >= 1 && n <= 10000 ? n : 100;
})();
let map = null;         // the last /api/v1/map document
const limits = { hosts: PAGE_ROWS, listeners: PAGE_ROWS, findings: PAGE_ROWS };
let fetching = null;

// ---- DOM helpers: text only ----
function el(tag, className, ...children) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  for (const c of children) {
    e.append(c instanceof Node ? c : document.createTextNode(c === null || c === undefined ? "" : String(c)));
  }
  return e;
}
function $(id) { return document.getElementById(id); }
function fill(tbody, rows) { tbody.replaceChildren(...rows); }
function ago(unix) {
  if (!unix) return "never";
  const s = Math.max(0, Math.round(Date.now() / 1000 - unix));
  if (s < 120) return s + " s ago";
  if (s < 7200) return Math.round(s / 60) + " min ago";
  return Math.round(s / 3600) + " h ago";
}

// ---- filters ----
function filters() {
  const port = $("f-port").value.trim();
  let lo = null, hi = null;
  const m = /^(\d{1,5})(?:\s*-\s*(\d{1,5}))?$/.exec(port);
  if (m) { lo = Number(m[1]); hi = m[2] ? Number(m[2]) : lo; }
  return {
    host: $("f-host").value.trim().toLowerCase(),
    group: $("f-group").value,
    service: $("f-service").value.trim().toLowerCase(),
    lo, hi,
    state: $("f-state").value,
  };
}
function hostPasses(h, f) {
  return (!f.host || h.name.toLowerCase().includes(f.host)) &&
         (!f.group || h.group === f.group) && (!f.state || h.state === f.state);
}
function portPasses(p, f) { return f.lo === null || (p >= f.lo && p <= f.hi); }

// ---- rendering ----
function renderStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = cls || "";
}

// A count for a heading: "(100 of 500)" when a table shows part of what passes the filters.
function shownOf(id, shown, total, more) {
  $(id).textContent = shown < total ? "(" + shown + " of " + total + ")" : "(" + total + ")";
  $(more).hidden = shown >= total;
}

// The hosts that pass the filters, those that need a look first (down, then stale), then by name.
const STATE_ORDER = { down: 0, stale: 1 };
function passingHosts(f) {
  const rank = (h) => STATE_ORDER[h.state] ?? 2;
  return map.hosts.filter((h) => hostPasses(h, f))
    .sort((a, b) => rank(a) - rank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function renderHosts(hosts) {
  const shown = hosts.slice(0, limits.hosts);
  fill($("hosts").tBodies[0], shown.map((h) =>
    el("tr", null, el("td", "name", h.name), el("td", "state " + h.state, h.state), el("td", "why", h.reason),
      el("td", null, h.group), el("td", null, h.ephemeral[0] + "–" + h.ephemeral[1]),
      el("td", "num", h.listeners), el("td", "num", h.findings), el("td", null, ago(h.scanned)))));
  shownOf("host-count", shown.length, hosts.length, "more-hosts");
  return shown;
}

// One canvas for the bands of the hosts the table shows (a canvas per host cost more in layout
// than in drawing): names are drawn as canvas text, which no markup can come out of.
const BAND_H = 16, BAND_NAME_W = 220, BAND_W = 1024;
function renderBands(hosts, rowsByHost) {
  const c = $("bands");
  c.width = BAND_NAME_W + BAND_W;
  c.height = Math.max(1, hosts.length * BAND_H);
  c.dataset.hosts = String(hosts.length);
  const g = c.getContext("2d");
  const x = (p) => BAND_NAME_W + Math.floor(p / 64);
  g.font = "12px ui-monospace, monospace";
  g.textBaseline = "middle";
  // One path per colour, filled once: 25,000 listeners are 25,000 rects added to a path, not
  // 25,000 fills each with its own fill style.
  const grey = new Path2D(), eph = new Path2D(), reserved = new Path2D(), inEph = new Path2D(), other = new Path2D();
  g.fillStyle = "#1d2228";
  hosts.forEach((h, i) => {
    const y = i * BAND_H;
    // A name longer than its column is cut at the column (canvas text: no markup).
    let name = h.name.slice(0, 48);  // wider than the column in any font: the loop is short
    if (g.measureText(name).width > BAND_NAME_W - 8) {
      while (name.length > 1 && g.measureText(name + "…").width > BAND_NAME_W - 8) name = name.slice(0, -1);
      name += "…";
    }
    g.fillText(name, 0, y + BAND_H / 2);
    grey.rect(BAND_NAME_W, y + 1, BAND_W, BAND_H - 2);
    eph.rect(x(h.ephemeral[0]), y + 1, Math.max(1, x(h.ephemeral[1]) - x(h.ephemeral[0]) + 1), BAND_H - 2);
    for (const [a, b] of h.reserved) reserved.rect(x(a), y + 1, Math.max(1, x(b) - x(a) + 1), BAND_H - 2);
    for (const r of rowsByHost.get(h.name) || []) (r[5] === "ephemeral" ? inEph : other).rect(x(r[1]), y + 3, 1, BAND_H - 6);
  });
  for (const [path, colour] of [[grey, "#e8e8e8"], [eph, "#b8c4d0"], [reserved, "#445"], [other, "#1f6f3f"], [inEph, "#c0392b"]]) {
    g.fillStyle = colour;
    g.fill(path);
  }
}

function renderGrid() {
  const group = $("grid-group").value;
  const c = $("grid");
  const g = c.getContext("2d");
  const state = new Uint8Array(65536);  // 0 free, 1 ephemeral, 2 claimed, 3 listening, 4 drifted
  const groupHosts = new Set(map.hosts.filter((h) => h.group === group).map((h) => h.name));
  for (const grp of map.groups) {
    if (grp.name !== group) continue;
    for (const n of grp.hosts) groupHosts.add(n);
    for (const [a, b] of grp.ephemeral) state.fill(1, a, b + 1);
  }
  for (const h of map.hosts) {
    if (groupHosts.has(h.name)) state.fill(1, h.ephemeral[0], h.ephemeral[1] + 1);
  }
  for (const cl of map.claims) if (cl.group === group) state[cl.port] = 2;
  for (const l of map.listeners) {
    if (!groupHosts.has(l.host)) continue;
    for (const r of l.rows) state[r[1]] = 3;
  }
  for (const d of map.drift) if (d.group === group && d.seen_port !== null) state[d.seen_port] = 4;
  // A port is 2x2 pixels, written as whole pixels (RGBA bytes seen as one 32-bit word each).
  const img = g.createImageData(512, 512);
  const px = new Uint32Array(img.data.buffer);
  const colors = new Uint32Array(new Uint8ClampedArray([0xf4, 0xf4, 0xf4, 255, 0xb8, 0xc4, 0xd0, 255,
    0x2e, 0x6f, 0xb7, 255, 0x1f, 0x9d, 0x55, 255, 0xd3, 0x54, 0x00, 255]).buffer);
  for (let p = 0; p < 65536; p++) {
    const i = (p >> 8) * 1024 + (p & 255) * 2;  // row p/256 is pixel rows 2r and 2r+1
    px[i] = px[i + 1] = px[i + 512] = px[i + 513] = colors[state[p]];
  }
  g.putImageData(img, 0, 0);
  c.dataset.state = "";
  c.onmousemove = (ev) => {
    const rect = c.getBoundingClientRect();
    const px = Math.floor((ev.clientX - rect.left) / (rect.width / 256));
    const py = Math.floor((ev.clientY - rect.top) / (rect.height / 256));
    const p = py * 256 + px;
    if (p >= 0 && p < 65536) {
      $("grid-port").textContent = "port " + p + ": " + ["free", "inside an ephemeral range", "claimed", "listening", "drifted"][state[p]];
    }
  };
}

function renderListeners(f, services) {
  const rows = [];
  let total = 0;
  const states = new Map(map.hosts.map((h) => [h.name, h]));
  for (const l of map.listeners) {
    const h = states.get(l.host);
    if (!h || !hostPasses(h, f)) continue;
    for (const r of l.rows) {
      const svc = r[4] ? services.get(r[4]) : null;
      if (f.service && !(r[4].toLowerCase().includes(f.service) || r[3].toLowerCase().includes(f.service))) continue;
      if (!portPasses(r[1], f)) continue;
      total++;
      if (rows.length >= limits.listeners) continue;
      rows.push(el("tr", r[5] === "ephemeral" ? "warn" : null, el("td", "name", l.host), el("td", null, r[0]),
        el("td", "num", r[1]), el("td", "class " + r[5], r[5]),
        el("td", null, r[3] + (r[2] ? " (pid " + r[2] + ")" : "")),
        el("td", null, r[4]), el("td", null, svc ? svc.owner : ""), el("td", null, svc ? svc.group : ""),
        el("td", null, r[6]), el("td", null, ago(r[7]))));
    }
  }
  fill($("listeners").tBodies[0], rows);
  shownOf("listener-count", rows.length, total, "more-listeners");
}

function renderFindings(f) {
  const rows = [];
  let total = 0;
  const states = new Map(map.hosts.map((h) => [h.name, h]));
  for (const x of map.findings) {
    const h = states.get(x.host);
    if (h && !hostPasses(h, f)) continue;
    const fd = x.finding;
    if (f.lo !== null && !(fd.ports || []).some((p) => portPasses(p, f))) continue;
    total++;
    if (rows.length >= limits.findings) continue;
    rows.push(el("tr", "sev " + fd.severity, el("td", "name", x.host), el("td", null, fd.severity),
      el("td", null, fd.id), el("td", null, fd.subject), el("td", null, fd.why),
      el("td", null, el("pre", null, fd.fix))));
  }
  fill($("findings").tBodies[0], rows);
  shownOf("finding-count", rows.length, total, "more-findings");
}

function renderDrift(f) {
  const rows = [];
  for (const d of map.drift) {
    if (f.group && d.group !== f.group) continue;
    if (f.service && !d.service.includes(f.service)) continue;
    const what = d.kind === "other-port" ? "listening on " + d.seen_port + "/" + d.proto : "not listening on any host of its group";
    rows.push(el("tr", null, el("td", "name", d.service), el("td", null, d.group),
      el("td", "num", d.registered_port), el("td", null, what), el("td", null, d.host)));
  }
  fill($("drift").tBodies[0], rows);
}

function setOptions(select, values, keepAny) {
  const current = select.value;
  const opts = keepAny ? [el("option", null, "any")] : [];
  if (keepAny) opts[0].value = "";
  for (const v of values) { const o = el("option", null, v); o.value = v; opts.push(o); }
  select.replaceChildren(...opts);
  if ([...select.options].some((o) => o.value === current)) select.value = current;
}

function render() {
  if (!map) return;
  const f = filters();
  const groups = [...new Set([...map.groups.map((g) => g.name), ...map.hosts.map((h) => h.group), "default"])].sort();
  setOptions($("f-group"), groups, true);
  setOptions($("grid-group"), groups, false);
  const services = new Map(map.services.map((s) => [s.name, s.service || s]));
  const rowsByHost = new Map(map.listeners.map((l) => [l.host, l.rows]));
  renderBands(renderHosts(passingHosts(f)), rowsByHost);
  renderGrid();
  renderListeners(f, services);
  renderFindings(f);
  renderDrift(f);
  const up = map.hosts.filter((h) => h.state === "up").length;
  renderStatus((map.stale ? "may be stale: " + map.stale + " · " : "") + map.hosts.length + " hosts, " + up +
    " up · revision " + map.revision, map.stale ? "stale" : "live");
  document.body.dataset.revision = String(map.revision);
  document.body.dataset.rendered = String(Number(document.body.dataset.rendered || 0) + 1);
}

async function load() {
  if (fetching) return fetching;
  fetching = (async () => {
    try {
      // The first load takes the response the page preloads (index.html); the server marks
      // every reply no-store, so each later load reads the fleet afresh.
      document.body.dataset.reads = String(Number(document.body.dataset.reads || 0) + 1);
      const res = await fetch("/api/v1/map", { mode: "cors", credentials: "same-origin" });
      if (!res.ok) throw new Error("GET /api/v1/map answered " + res.status);
      map = await res.json();
      render();
    } catch (e) {
      renderStatus("cannot read the fleet: " + e.message, "error");
    } finally {
      fetching = null;
    }
  })();
  return fetching;
}

// ---- the claim action ----
async function claim(ev) {
  ev.preventDefault();
  const out = $("claim-result");
  const token = $("c-token").value;
  const body = JSON.stringify({ name: $("c-name").value.trim(), group: $("c-group").value.trim() });
  out.className = "";
  out.textContent = "claiming…";
  try {
    const headers = { "Content-Type": "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    const res = await fetch("/api/v1/assign", { method: "POST", headers, body });
    const doc = await res.json();
    if (res.ok) {
      out.className = "ok";
      out.textContent = doc.service.name + " has port " + doc.service.port + "/" + doc.service.proto +
        " in group " + doc.service.group + (doc.created ? "" : " (it was registered already)");
      // What the registry accepted with a warning (docs/api.md): shown as text, never as markup.
      for (const w of doc.warnings || []) out.textContent += "\nwarning: " + w.message;
      await load();
    } else {
      out.className = "error";
      out.textContent = "refused (" + res.status + " " + doc.error + "): " + doc.message;
    }
  } catch (e) {
    out.className = "error";
    out.textContent = "the request failed: " + e.message;
  }
}

// ---- live updates ----
// Every stream opens with an event of the server's current generation: the page skips an
// event that names the generation and revision it already shows, except the first after a
// reconnect (the server may have restarted, its generations counting from 0 again).
function listen() {
  const es = new EventSource("/api/v1/events");
  let resync = false;
  es.addEventListener("change", (ev) => {
    let d = null;
    try { d = JSON.parse(ev.data); } catch { /* not ours to judge: read again */ }
    const known = !resync && map && d && d.generation === map.generation && d.revision === map.revision;
    resync = false;
    if (!known) load();
    document.body.dataset.events = String(Number(document.body.dataset.events || 0) + 1);
  });
  es.onerror = () => { resync = true; renderStatus("reconnecting to the event stream…", "stale"); };
}

document.addEventListener("DOMContentLoaded", () => {
  // A new filter starts every table at its first rows again.
  const refilter = () => { for (const k in limits) limits[k] = PAGE_ROWS; render(); };
  for (const id of ["f-host", "f-service", "f-port"]) $(id).addEventListener("input", refilter);
  for (const id of ["f-group", "f-state"]) $(id).addEventListener("change", refilter);
  $("grid-group").addEventListener("change", renderGrid);
  for (const k in limits) $("more-" + k).addEventListener("click", () => { limits[k] += PAGE_ROWS; render(); });
  $("claim").addEventListener("submit", claim);
  load().then(listen);
});
