// ChargeWatch operations dashboard: sign-in with authorization code + PKCE, the fleet by site, this
// month's uptime per site against its SLA target, open incidents and security alerts, a station page
// (status timeline, energy chart), all kept live from /v1/events.
"use strict";

const STATUS_ORDER = ["Faulted", "Unavailable", "Charging", "Preparing", "SuspendedEV", "SuspendedEVSE",
  "Finishing", "Occupied", "Reserved", "Available", "Unknown"];
const STORE = window.sessionStorage;
const state = { config: null, stations: new Map(), sites: new Map(), lastEventId: null, stream: null,
  route: null, stationView: null, roles: new Set(), uptime: new Map(), incidents: new Map(), alerts: new Map(),
  timers: new Map() };
const ALERT_ROLES = ["operator", "security-analyst"];
const SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"];

// -- helpers ---------------------------------------------------------------------------------------
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined) continue;
    if (k === "text") node.textContent = v; else node.setAttribute(k, v);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}
function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  return node;
}
function b64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function randomString(n) { return b64url(crypto.getRandomValues(new Uint8Array(n))); }
function show(id) {
  for (const s of ["signin", "fleet", "station"]) document.getElementById(s).hidden = s !== id;
}
function worst(connectors) {
  let best = "Unknown";
  for (const c of connectors) if (STATUS_ORDER.indexOf(c.status) < STATUS_ORDER.indexOf(best)) best = c.status;
  return best;
}
function fmtTime(iso) { return iso ? new Date(iso).toLocaleString() : "—"; }

// -- sign-in: authorization code with PKCE -----------------------------------------------------------
async function loadConfig() {
  const reply = await fetch("/dashboard/config.json");
  state.config = await reply.json();
}
function redirectUri() { return `${location.origin}/dashboard/callback`; }

async function signIn() {
  const verifier = randomString(48);
  const challenge = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  const oauthState = randomString(16);
  STORE.setItem("pkce_verifier", verifier);
  STORE.setItem("oauth_state", oauthState);
  STORE.setItem("return_to", location.hash || "#/");
  const params = new URLSearchParams({ response_type: "code", client_id: state.config.client_id,
    redirect_uri: redirectUri(), scope: "openid profile", state: oauthState,
    code_challenge: challenge, code_challenge_method: "S256" });
  location.assign(`${state.config.authorization_endpoint}?${params}`);
}

async function tokenRequest(form) {
  const reply = await fetch(state.config.token_endpoint, { method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form) });
  const body = await reply.json();
  if (!reply.ok) throw new Error(body.error_description || body.error || `token endpoint answered ${reply.status}`);
  STORE.setItem("access_token", body.access_token);
  if (body.refresh_token) STORE.setItem("refresh_token", body.refresh_token);
  STORE.setItem("expires_at", String(Date.now() + body.expires_in * 1000));
  return body.access_token;
}

async function completeSignIn(params) {
  const expected = STORE.getItem("oauth_state");
  STORE.removeItem("oauth_state");
  if (!expected || params.get("state") !== expected) throw new Error("sign-in answer does not match this browser's request");
  const verifier = STORE.getItem("pkce_verifier");
  STORE.removeItem("pkce_verifier");
  await tokenRequest({ grant_type: "authorization_code", code: params.get("code"), redirect_uri: redirectUri(),
    client_id: state.config.client_id, code_verifier: verifier });
  const back = STORE.getItem("return_to") || "#/";
  history.replaceState(null, "", `/dashboard/${back}`);
}

async function accessToken() {
  const token = STORE.getItem("access_token");
  const expiresAt = Number(STORE.getItem("expires_at") || 0);
  if (token && Date.now() < expiresAt - 20000) return token;
  const refresh = STORE.getItem("refresh_token");
  if (!refresh) return null;
  try {
    return await tokenRequest({ grant_type: "refresh_token", refresh_token: refresh, client_id: state.config.client_id });
  } catch (error) {
    signOutLocally();
    return null;
  }
}

function signOutLocally() {
  for (const key of ["access_token", "refresh_token", "expires_at"]) STORE.removeItem(key);
}

async function signOut() {
  const refresh = STORE.getItem("refresh_token");
  signOutLocally();
  if (state.stream) state.stream.abort();
  if (refresh) {
    await fetch(state.config.logout_endpoint, { method: "POST", body: new URLSearchParams({
      client_id: state.config.client_id, refresh_token: refresh }) }).catch(() => {});
  }
  location.assign("/dashboard/");
}

function claims(token) {
  try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch { return {}; }
}

// -- API --------------------------------------------------------------------------------------------
async function api(path, method = "GET", body = undefined) {
  const token = await accessToken();
  if (!token) { show("signin"); throw new Error("signed out"); }
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (reply.status === 401) { signOutLocally(); show("signin"); throw new Error("signed out"); }
  if (!reply.ok) {
    const problem = await reply.json().catch(() => ({}));
    throw new Error(problem.detail || `${path} answered ${reply.status}`);
  }
  return reply.json();
}

async function allStations() {
  const stations = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "500" });
    if (cursor) query.set("cursor", cursor);
    const page = await api(`/v1/stations?${query}`);
    stations.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return stations;
}

// -- fleet view --------------------------------------------------------------------------------------
function renderSummary() {
  const counts = {};
  let online = 0;
  for (const s of state.stations.values()) {
    if (s.online) online += 1;
    for (const c of s.connectors) counts[c.status] = (counts[c.status] || 0) + 1;
  }
  const summary = document.getElementById("summary");
  summary.replaceChildren(
    el("div", { class: "stat", "data-count": "stations" }, el("b", { text: String(state.stations.size) }), el("span", { text: "stations" })),
    el("div", { class: "stat", "data-count": "online" }, el("b", { text: String(online) }), el("span", { text: "online" })),
    ...STATUS_ORDER.filter((s) => counts[s]).map((s) =>
      el("div", { class: "stat", "data-count": s }, el("b", { text: String(counts[s]) }),
        el("span", {}, el("i", { class: "swatch", "data-status": s }), s))));
}

function tile(station) {
  const dots = el("div", { class: "dots" });
  for (const c of station.connectors) {
    dots.append(el("span", { class: "dot", "data-connector-dot": `${station.id}/${c.evse_id}/${c.connector_id}`,
      "data-status": c.status, "data-since": c.status_since || "", title: `EVSE ${c.evse_id}: ${c.status}` }));
  }
  return el("a", { class: "tile", href: `#/stations/${encodeURIComponent(station.id)}`, "data-station-tile": station.id,
    "data-status": worst(station.connectors), "data-online": String(station.online), title: station.name },
  el("div", { class: "id", text: station.id }), dots);
}

function renderFleet() {
  const bySite = new Map();
  for (const s of [...state.stations.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const key = `${s.tenant_id}/${s.site_id}`;
    if (!bySite.has(key)) bySite.set(key, []);
    bySite.get(key).push(s);
  }
  const sites = document.getElementById("sites");
  sites.replaceChildren(...[...bySite.entries()].sort().map(([key, stations]) => {
    const online = stations.filter((s) => s.online).length;
    return el("section", { class: "site", "data-site": key },
      el("h2", { text: stations[0].site_id }),
      el("div", { class: "meta", text: `${stations[0].tenant_id} · ${stations.length} stations · ${online} online` }),
      siteBadge(key),
      el("div", { class: "tiles" }, ...stations.map(tile)));
  }));
  const legend = document.getElementById("legend");
  legend.replaceChildren(...["Available", "Charging", "Preparing", "Reserved", "Faulted", "Unavailable", "Unknown"]
    .map((s) => el("li", {}, el("i", { class: "swatch", "data-status": s }), s)));
  renderSummary();
}

async function showFleet() {
  show("fleet");
  const stations = await allStations();
  state.stations = new Map(stations.map((s) => [s.id, s]));
  renderFleet();
  await Promise.all([refreshUptime(), refreshIncidents(), refreshAlerts()]);
}

// -- uptime per site against its SLA target -------------------------------------------------------------
function siteKeys() {
  return [...new Set([...state.stations.values()].map((s) => `${s.tenant_id}/${s.site_id}`))].sort();
}

function pct(value) { return `${value.toFixed(value >= 99.995 ? 0 : 2)} %`; }

function siteBadge(key) {
  const report = state.uptime.get(key);
  if (!report) return el("div", { class: "site-uptime", "data-site-uptime-badge": key, hidden: "" });
  return el("div", { class: "site-uptime", "data-site-uptime-badge": key, "data-meets": String(report.meets_target),
    title: `this month, target ${pct(report.target_percent)}`, text: `uptime ${pct(report.uptime_percent)}` });
}

function bar(percent) {
  const fill = el("i");
  // Through the CSSOM: the Content-Security-Policy refuses inline style attributes.
  fill.style.width = `${Math.max(1, Math.min(100, percent))}%`;
  return fill;
}

function renderUptime() {
  const rows = document.getElementById("uptime-rows");
  rows.replaceChildren(...siteKeys().filter((key) => state.uptime.has(key)).map((key) => {
    const r = state.uptime.get(key);
    return el("tr", { "data-site-uptime": key, "data-uptime": String(r.uptime_percent), "data-target": String(r.target_percent),
      "data-meets": String(r.meets_target), "data-updated-at": String(r.fetchedAt) },
    el("td", { text: key.split("/")[1], title: key }),
    el("td", { class: "value", text: pct(r.uptime_percent) }),
    el("td", { text: pct(r.target_percent) }),
    el("td", { class: "bar" }, bar(r.uptime_percent)),
    el("td", { text: `${r.ports_below_target} of ${r.port_count}` }));
  }));
  for (const node of document.querySelectorAll("[data-site-uptime-badge]")) node.replaceWith(siteBadge(node.dataset.siteUptimeBadge));
}

async function refreshSiteUptime(key) {
  const site = key.split("/")[1];
  try {
    const report = await api(`/v1/uptime?${new URLSearchParams({ site_id: site, period: "month", ports: "false" })}`);
    state.uptime.set(key, { ...report, fetchedAt: Date.now() });
  } catch (error) {
    if (error.message === "signed out") throw error;
    state.uptime.delete(key);  // a site without measured ports yet
  }
}

async function refreshUptime() {
  await Promise.all(siteKeys().map(refreshSiteUptime));
  renderUptime();
  const note = document.getElementById("uptime-note");
  note.hidden = state.uptime.size > 0;
  note.textContent = "No port has reported a status yet.";
}

// Many events in a burst cause one fetch: each job runs once, `ms` after its last request.
function debounce(name, ms, job) {
  clearTimeout(state.timers.get(name));
  state.timers.set(name, setTimeout(() => job().catch(() => {}), ms));
}

// -- open incidents and security alerts ----------------------------------------------------------------
function canSeeAlerts() { return ALERT_ROLES.some((role) => state.roles.has(role)); }

function bySeverity(a, b) {
  return SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || (b.opened_at || b.raised_at || "")
    .localeCompare(a.opened_at || a.raised_at || "");
}

function actionButton(label, run) {
  const button = el("button", { type: "button", text: label });
  button.addEventListener("click", async () => {
    button.disabled = true;
    try { await run(); } catch (error) { button.disabled = false; button.title = error.message; }
  });
  return button;
}

function incidentItem(i) {
  const port = `${i.station_id}/${i.evse_id}`;
  const canAct = state.roles.has("operator") && i.state === "open";
  return el("li", { "data-incident": i.id, "data-station": i.station_id, "data-state": i.state, "data-new": i.isNew ? "true" : null,
    "data-shown-at": String(i.shownAt || "") },
  el("span", { class: "sev", "data-severity": i.severity, text: i.severity }),
  el("span", { class: "what", text: `Port ${port} (${i.site_id}) down: ${i.cause}` }),
  el("span", { class: "muted", text: fmtTime(i.opened_at) }),
  canAct ? actionButton("Acknowledge", async () => {
    const updated = await api(`/v1/incidents/${encodeURIComponent(i.id)}/acknowledge`, "POST", { note: "acknowledged on the dashboard" });
    state.incidents.set(updated.id, updated);
    renderIncidents();
  }) : null);
}

function alertItem(a) {
  const canAct = a.state === "open";
  return el("li", { "data-alert": a.id, "data-rule": a.rule, "data-subject": a.subject_id, "data-state": a.state,
    "data-new": a.isNew ? "true" : null, "data-shown-at": String(a.shownAt || "") },
  el("span", { class: "sev", "data-severity": a.severity, text: a.severity }),
  el("span", { class: "what", text: a.title, title: a.explanation }),
  el("span", { class: "muted", text: `${a.subject_kind} ${a.subject_id}` }),
  canAct ? actionButton("Acknowledge", async () => {
    const updated = await api(`/v1/alerts/${encodeURIComponent(a.id)}/acknowledge`, "POST", { note: "acknowledged on the dashboard" });
    state.alerts.set(updated.id, updated);
    renderAlerts();
  }) : null);
}

function renderIncidents() {
  const open = [...state.incidents.values()].filter((i) => i.state !== "resolved").sort(bySeverity);
  document.getElementById("incident-count").textContent = String(open.length);
  document.getElementById("incident-list").replaceChildren(...open.map(incidentItem));
}

function renderAlerts() {
  const note = document.getElementById("alert-note");
  if (!canSeeAlerts()) {
    note.hidden = false;
    note.textContent = "Security alerts are shown to operators and security analysts.";
    document.getElementById("alert-count").textContent = "–";
    return;
  }
  const open = [...state.alerts.values()].filter((a) => a.state === "open" || a.state === "acknowledged").sort(bySeverity);
  document.getElementById("alert-count").textContent = String(open.length);
  document.getElementById("alert-list").replaceChildren(...open.map(alertItem));
}

async function listAll(path, states) {
  const pages = await Promise.all(states.map((s) => api(`${path}?${new URLSearchParams({ state: s, limit: "200" })}`)));
  return pages.flatMap((page) => page.items);
}

async function refreshIncidents() {
  const items = await listAll("/v1/incidents", ["open", "acknowledged"]);
  state.incidents = new Map(items.map((i) => [i.id, i]));
  renderIncidents();
}

async function refreshAlerts() {
  if (canSeeAlerts()) {
    const items = await listAll("/v1/alerts", ["open", "acknowledged"]);
    state.alerts = new Map(items.map((a) => [a.id, a]));
  }
  renderAlerts();
}

function applyIncident(type, event) {
  const d = event.data;
  const id = d.incident_id;
  if (type === "incident.resolved") {
    state.incidents.delete(id);
  } else {
    // Shown from the event at once; the engine stores the incident's details within a second or two,
    // then they replace these.
    const [stationId, evse] = d.subject_id.split("/");
    const known = state.incidents.get(id) || {};
    state.incidents.set(id, { station_id: stationId, evse_id: Number(evse), opened_at: event.time,
      site_id: (state.stations.get(stationId) || {}).site_id || "", cause: d.title.split(": ").slice(1).join(": ") || d.rule,
      ...known, id, severity: d.severity, state: known.state || "open", isNew: type === "incident.opened" && !known.id,
      shownAt: known.shownAt || Date.now() });
    for (const wait of [1500, 4000]) setTimeout(() => refreshIncident(id), wait);
  }
  renderIncidents();
  // The site's uptime changes with every outage (and keeps falling while it lasts).
  debounce("uptime", 1000, refreshUptime);
}

async function refreshIncident(id) {
  const shown = state.incidents.get(id);
  if (!shown) return;  // resolved meanwhile
  try {
    const incident = await api(`/v1/incidents/${encodeURIComponent(id)}`);
    if (!state.incidents.has(id)) return;
    if (incident.state === "resolved") state.incidents.delete(id);
    else state.incidents.set(id, { ...incident, isNew: false, shownAt: shown.shownAt });
    renderIncidents();
  } catch (error) {
    // Not stored yet: the later try, or the periodic refresh, gets it.
  }
}

function applyAlert(type, event) {
  const d = event.data;
  const known = state.alerts.get(d.alert_id) || {};
  state.alerts.set(d.alert_id, { ...known, id: d.alert_id, rule: d.rule, severity: d.severity, state: d.state, title: d.title,
    explanation: d.explanation, subject_kind: d.subject_kind, subject_id: d.subject_id, raised_at: known.raised_at || event.time,
    isNew: type === "alert.raised" && !known.id, shownAt: Date.now() });
  renderAlerts();
}

// -- station page ------------------------------------------------------------------------------------
const TIMELINE_HOURS = 24;

function timelineSvg(station, history) {
  const width = 900, rowHeight = 22, left = 70;
  const connectors = station.connectors;
  const end = Date.now();
  // The window starts with the oldest change known (a minute before it), at most TIMELINE_HOURS back.
  const known = [...history.map((h) => Date.parse(h.at)), ...connectors.filter((c) => c.status_since)
    .map((c) => Date.parse(c.status_since))];
  const start = Math.max(end - TIMELINE_HOURS * 3600 * 1000, Math.min(end - 60000, ...known) - 60000);
  const x = (t) => left + ((Math.max(t, start) - start) / (end - start)) * (width - left - 10);
  const drawing = svg("svg", { viewBox: `0 0 ${width} ${connectors.length * rowHeight + 24}`, "data-chart": "timeline" });
  connectors.forEach((c, row) => {
    const y = row * rowHeight + 4;
    const label = svg("text", { x: 4, y: y + 14, class: "axis-label" });
    label.textContent = `EVSE ${c.evse_id}/${c.connector_id}`;
    drawing.append(label);
    const changes = history.filter((h) => h.evse_id === c.evse_id && h.connector_id === c.connector_id)
      .map((h) => ({ t: Date.parse(h.at), status: h.status }));
    if (!changes.length || changes[0].t > start) {
      const since = c.status_since ? Date.parse(c.status_since) : start;
      changes.unshift({ t: Math.min(since, changes.length ? changes[0].t : since), status: changes.length ? "Unknown" : c.status });
    }
    changes.forEach((change, i) => {
      const until = i + 1 < changes.length ? changes[i + 1].t : end;
      const rect = svg("rect", { x: x(change.t), y, width: Math.max(1, x(until) - x(change.t)), height: rowHeight - 6,
        "data-status": change.status, class: "segment" });
      rect.style.fill = `var(--${cssStatus(change.status)})`;
      const tip = svg("title");
      tip.textContent = `${change.status} from ${new Date(change.t).toLocaleString()}`;
      rect.append(tip);
      drawing.append(rect);
    });
  });
  const axis = svg("text", { x: left, y: connectors.length * rowHeight + 18, class: "axis-label" });
  axis.textContent = new Date(start).toLocaleString();
  const now = svg("text", { x: width - 40, y: connectors.length * rowHeight + 18, class: "axis-label" });
  now.textContent = "now";
  drawing.append(axis, now);
  return drawing;
}

function cssStatus(status) {
  return { Available: "available", Charging: "charging", Reserved: "reserved", Faulted: "faulted",
    Unavailable: "unavailable", Unknown: "unknown" }[status] || "busy";
}

function energySvg(series, since, until) {
  const width = 900, height = 220, left = 70, bottom = 24, top = 12;
  const drawing = svg("svg", { viewBox: `0 0 ${width} ${height}`, "data-chart": "energy" });
  drawing.append(svg("line", { x1: left, y1: height - bottom, x2: width - 8, y2: height - bottom, class: "axis" }));
  const points = series.flatMap((s) => s.points);
  if (!points.length) {
    const empty = svg("text", { x: left + 10, y: 40, class: "axis-label" });
    empty.textContent = "No meter readings in this window";
    drawing.append(empty);
    return drawing;
  }
  // Energy is a register: each connector is drawn as what it delivered since its first reading in the window.
  const delivered = series.map((s) => s.points.map((p) => (p.energy_wh - (s.points[0]?.energy_wh ?? 0)) / 1000));
  const powers = points.map((p) => p.power_w / 1000);
  const eMin = 0, eMax = Math.max(...delivered.flat(), 0.001), pMax = Math.max(...powers, 0.001);
  const x = (t) => left + ((t - since) / Math.max(1, until - since)) * (width - left - 8);
  const y = (v, lo, hi) => height - bottom - ((v - lo) / (hi - lo)) * (height - bottom - top);
  series.forEach((s, index) => {
    const at = s.points.map((p) => x(Date.parse(p.timestamp)));
    const energy = delivered[index].map((v, i) => [at[i], y(v, eMin, eMax)]);
    const power = s.points.map((p, i) => [at[i], y(p.power_w / 1000, 0, pMax)]);
    if (power.length) drawing.append(svg("polyline", { points: power.map((p) => p.join(",")).join(" "), class: "power-line" }));
    if (energy.length) drawing.append(svg("polyline", { points: energy.map((p) => p.join(",")).join(" "), class: "energy-line" }));
    for (const [px, py] of energy) drawing.append(svg("circle", { cx: px, cy: py, r: 2, class: "energy-point" }));
  });
  const labels = [[`+${(eMax - eMin).toFixed(2)} kWh`, top + 4], [`${pMax.toFixed(1)} kW peak`, top + 18],
    [new Date(since).toLocaleTimeString(), height - 6]];
  for (const [text, ly] of labels) {
    const label = svg("text", { x: 4, y: ly, class: "axis-label" });
    label.textContent = text;
    drawing.append(label);
  }
  return drawing;
}

function connectorCard(station, c) {
  return el("div", { class: "connector", "data-connector": `${station.id}/${c.evse_id}/${c.connector_id}`,
    "data-status": c.status, "data-since": c.status_since || "" },
  el("b", { text: `EVSE ${c.evse_id} · connector ${c.connector_id}` }),
  el("div", { "data-role": "status", text: c.status }),
  el("div", { class: "muted", "data-role": "since", text: `since ${fmtTime(c.status_since)}` }),
  el("div", { class: "muted", text: c.last_energy_wh !== null && c.last_energy_wh !== undefined
    ? `register ${(c.last_energy_wh / 1000).toFixed(2)} kWh` : "no reading yet" }));
}

async function showStation(id) {
  show("station");
  const root = document.getElementById("station");
  root.replaceChildren(el("p", { class: "muted", text: "Loading…" }));
  const from = new Date(Date.now() - TIMELINE_HOURS * 3600 * 1000).toISOString();
  const station = await api(`/v1/stations/${encodeURIComponent(id)}`);
  const history = await api(`/v1/stations/${encodeURIComponent(id)}/status-history?${new URLSearchParams({ from, limit: "1000" })}`);
  const evses = [...new Set(station.connectors.map((c) => c.evse_id))];
  // About 200 buckets over the window: from registration (a young station) or TIMELINE_HOURS back.
  const since = Math.max(Date.parse(from), station.registered_at ? Date.parse(station.registered_at) : 0);
  const step = Math.max(5, Math.round((Date.now() - since) / 1000 / 200));
  const series = await Promise.all(evses.map((evse) => api(`/v1/stations/${encodeURIComponent(id)}/meter-values?${
    new URLSearchParams({ evse_id: String(evse), from: new Date(since).toISOString(), step_seconds: String(step) })}`)
    .catch(() => ({ points: [] }))));
  state.stationView = { station, history: history.items };
  state.stations.set(station.id, station);
  root.replaceChildren(el("div", { class: "station", "data-station-page": station.id },
    el("a", { href: "#/", text: "← Fleet" }),
    el("h1", { text: station.name }),
    el("div", { class: "meta", text: `${station.id} · ${station.tenant_id} / ${station.site_id} · OCPP ${station.ocpp_version || "?"} · ${
      station.online ? "online" : "offline"} · last seen ${fmtTime(station.last_seen)}` }),
    el("div", { class: "connectors", id: "connectors" }, ...station.connectors.map((c) => connectorCard(station, c))),
    el("section", { class: "chart" }, el("h2", { text: `Status timeline (last ${TIMELINE_HOURS} h)` }),
      el("div", { id: "timeline" }, timelineSvg(station, history.items))),
    el("section", { class: "chart" }, el("h2", { text: `Energy delivered (kWh, blue) and power (kW, yellow), ${step}-second steps` }),
      energySvg(series, since, Date.now()))));
}

// -- live updates ------------------------------------------------------------------------------------
function applyStatus(event) {
  const station = state.stations.get(event.station_id);
  if (!station) return;
  const { evse_id: evse, connector_id: connector, status } = event.data;
  let target = station.connectors.find((c) => c.evse_id === evse && c.connector_id === connector);
  if (!target) {
    target = { evse_id: evse, connector_id: connector, status };
    station.connectors.push(target);
  }
  target.status = status;
  target.status_since = event.time;
  const key = `${event.station_id}/${evse}/${connector}`;
  const changedAt = String(Date.now());
  for (const node of document.querySelectorAll(`[data-connector-dot="${CSS.escape(key)}"], [data-connector="${CSS.escape(key)}"]`)) {
    node.dataset.status = status;
    node.dataset.since = event.time;
    node.dataset.changedAt = changedAt;
    node.title = `EVSE ${evse}: ${status}`;
    const label = node.querySelector('[data-role="status"]');
    if (label) label.textContent = status;
    const since = node.querySelector('[data-role="since"]');
    if (since) since.textContent = `since ${fmtTime(event.time)}`;
  }
  const tileNode = document.querySelector(`[data-station-tile="${CSS.escape(event.station_id)}"]`);
  if (tileNode) tileNode.dataset.status = worst(station.connectors);
  if (state.stationView && state.stationView.station.id === event.station_id) {
    state.stationView.history.push({ evse_id: evse, connector_id: connector, status, at: event.time });
    const timeline = document.getElementById("timeline");
    if (timeline) timeline.replaceChildren(timelineSvg(station, state.stationView.history));
  }
  renderSummary();
}

function applyConnection(event) {
  const station = state.stations.get(event.station_id);
  if (!station) return;
  station.online = event.data.online;
  const tileNode = document.querySelector(`[data-station-tile="${CSS.escape(event.station_id)}"]`);
  if (tileNode) tileNode.dataset.online = String(event.data.online);
  renderSummary();
}

function handleMessage(type, data, id) {
  if (id) state.lastEventId = id;
  if (!data) return;
  const event = JSON.parse(data);
  if (type === "station.status") applyStatus(event);
  else if (type === "station.connection") applyConnection(event);
  else if (type.startsWith("incident.")) applyIncident(type, event);
  else if (type === "alert.raised" || type === "alert.updated") applyAlert(type, event);
  else if (type === "uptime.at_risk") debounce("uptime", 1000, refreshUptime);
}

async function follow() {
  const live = document.getElementById("live");
  for (;;) {
    const token = await accessToken();
    if (!token) return;
    const controller = new AbortController();
    state.stream = controller;
    try {
      const headers = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (state.lastEventId) headers["Last-Event-ID"] = state.lastEventId;
      const reply = await fetch("/v1/events", { headers, signal: controller.signal });
      if (!reply.ok || !reply.body) throw new Error(`events answered ${reply.status}`);
      live.dataset.state = "on";
      live.textContent = "live";
      const reader = reply.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let type = "message", data = "", id = null;
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) type = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
            else if (line.startsWith("id: ")) id = line.slice(4);
          }
          if (type === "token-expired" || type === "overflow") break;
          handleMessage(type, data, id);
        }
      }
    } catch (error) {
      if (controller.signal.aborted) return;
    }
    live.dataset.state = "off";
    live.textContent = "reconnecting";
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// -- routing -----------------------------------------------------------------------------------------
async function route() {
  const match = location.hash.match(/^#\/stations\/(.+)$/);
  try {
    if (match) {
      if (!state.stations.size) state.stations = new Map((await allStations()).map((s) => [s.id, s]));
      await showStation(decodeURIComponent(match[1]));
    } else {
      state.stationView = null;
      await showFleet();
    }
  } catch (error) {
    if (error.message !== "signed out") {
      document.getElementById("main").prepend(el("p", { class: "error", "data-role": "error", text: error.message }));
    }
  }
}

async function start() {
  await loadConfig();
  document.getElementById("signin-button").addEventListener("click", () => signIn());
  document.getElementById("signout").addEventListener("click", () => signOut());
  const params = new URLSearchParams(location.search);
  if (location.pathname.endsWith("/callback") && params.get("code")) {
    try {
      await completeSignIn(params);
    } catch (error) {
      show("signin");
      const box = document.getElementById("signin-error");
      box.textContent = error.message;
      box.hidden = false;
      return;
    }
  }
  const token = await accessToken();
  if (!token) { show("signin"); return; }
  const who = claims(token);
  state.roles = new Set((who.realm_access && who.realm_access.roles) || []);
  document.getElementById("who").textContent = `${who.preferred_username || "signed in"}${who.tenant_id ? ` (${who.tenant_id})` : ""}`;
  document.getElementById("signout").hidden = false;
  window.addEventListener("hashchange", route);
  await route();
  follow();
  // Uptime moves while a port is down, and incidents are acknowledged by others: a slow refresh on top.
  setInterval(() => {
    if (document.getElementById("fleet").hidden) return;
    refreshUptime().catch(() => {});
    refreshIncidents().then(refreshAlerts).catch(() => {});
  }, 30000);
}

start();
