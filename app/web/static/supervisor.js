// Supervisor wallboard: every call's state from the supervisor stream, escalations first.
"use strict";

(() => {
  const { takeToken, fetchJson, EventStream, el, levelOf, TREND, clock } = CareCue;
  const $ = (id) => document.getElementById(id);
  const token = takeToken("carecue.supervisor.token");
  const calls = new Map(); // call_id -> {row, agent, startedAt, endedAt, distress, trend, escalated}
  let escalations = 0;
  // The board shows today's calls, live and ended; at midnight yesterday's ended calls go.
  const startOfToday = () => { const d = new Date(); d.setHours(0, 0, 0, 0); return d; };

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }
  if (!token) {
    setStatus("denied", "No access token. Open this page as /supervisor?token=…");
    return;
  }

  function call(callId, data = {}) {
    let c = calls.get(callId);
    if (!c) {
      $("calls").querySelector("tr.none")?.remove();
      const row = el("tr", { "data-call-id": callId },
        el("th", { scope: "row", class: "cid" },
          // Same tab: the review page finds this tab's token in sessionStorage (no token in URLs).
          el("a", { href: `/calls/${encodeURIComponent(callId)}`, title: "Call review", text: callId })),
        el("td", { class: "agent", text: data.agent_id || "–" }),
        el("td", { class: "dur", text: "–" }),
        el("td", {}, el("div", { class: "mini" },
          el("div", { class: "meter", role: "meter", "aria-valuemin": "0", "aria-valuemax": "100",
            "aria-valuenow": "0", "aria-label": `Distress on call ${callId}` },
            el("div", { class: "meter-fill" })),
          el("span", { class: "pct", text: "–" }))),
        el("td", { class: "trend", text: "" }),
        el("td", { class: "state" }, el("span", { class: "pill live", text: "Live" })));
      $("calls").prepend(row);
      c = { row, agent: data.agent_id || "", startedAt: null, endedAt: null, distress: 0, escalated: false };
      calls.set(callId, c);
    }
    if (data.agent_id && !c.agent) {
      c.agent = data.agent_id;
      c.row.querySelector(".agent").textContent = data.agent_id;
    }
    return c;
  }

  function showDuration(c, now = Date.now()) {
    if (!c.startedAt) return;
    const end = c.endedAt ? c.endedAt.getTime() : now;
    const s = Math.max(0, Math.round((end - c.startedAt.getTime()) / 1000));
    c.row.querySelector(".dur").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function kpis() {
    const live = [...calls.values()].filter((c) => !c.endedAt);
    $("kpi-live").textContent = String(live.length);
    $("kpi-high").textContent = String(live.filter((c) => levelOf(c.distress) === "high").length);
    $("kpi-esc").textContent = String(escalations);
  }

  function setDistress(c, data) {
    const d = Math.max(0, Math.min(1, Number(data.distress) || 0));
    c.distress = d;
    const meter = c.row.querySelector(".meter");
    meter.dataset.level = levelOf(d);
    meter.setAttribute("aria-valuenow", String(Math.round(d * 100)));
    meter.querySelector(".meter-fill").style.width = `${Math.round(d * 100)}%`;
    c.row.querySelector(".pct").textContent = `${Math.round(d * 100)}%`;
    const t = TREND[data.trend] || TREND.steady;
    const cell = c.row.querySelector(".trend");
    cell.textContent = `${t.arrow} ${t.label}`;
    cell.dataset.trend = data.trend || "steady";
  }

  function setState(c, kind, text) {
    c.row.querySelector(".state").replaceChildren(el("span", { class: `pill ${kind}`, text }));
  }

  function addEscalation(env) {
    const data = env.data || {};
    const c = call(env.call_id, data);
    c.escalated = true;
    c.row.classList.add("escalated");
    if (!c.endedAt) setState(c, "alert", "Escalated");
    escalations += 1;
    const list = $("escalations");
    list.querySelector(".empty")?.remove();
    const severity = data.severity || "suggest";
    list.prepend(el("li", { class: `esc sev-${severity}`, role: severity === "urgent" ? "alert" : null },
      el("div", { class: "meta", text: `${clock(env.at)} · call ${env.call_id}${c.agent ? ` · agent ${c.agent}` : ""} · ${severity}` }),
      el("div", { class: "what", text: data.reason || data.rule_id || "Escalation" })));
  }

  // Today's calls from the store, so that a reload does not empty the board. Live events that
  // arrived first are newer than this snapshot and win.
  async function loadToday() {
    let body;
    try {
      body = await fetchJson("/v1/calls?limit=500&practice=false", token);
    } catch (err) {
      const none = $("calls").querySelector("tr.none td");
      if (none) none.textContent = `Could not load today’s calls (${err.message}); live calls still appear.`;
      return;
    }
    const today = startOfToday();
    // Practice calls stay off the floor: the server leaves them out (practice=false), as the
    // live stream does.
    const rows = (body.calls || []).filter((row) => new Date(row.started_at) >= today);
    // Newest first, below any call a live event has already put on top.
    for (const row of rows) {
      const known = calls.has(row.call_id);
      const c = call(row.call_id, row);
      if (!c.startedAt) c.startedAt = new Date(row.started_at);
      if (known) continue;
      $("calls").append(c.row);
      if (typeof row.max_distress === "number" && (row.ended_at || row.max_distress > 0)) {
        setDistress(c, { distress: row.max_distress, trend: "steady" });
        c.row.querySelector(".trend").textContent = "peak";
      }
      if (row.ended_at) {
        c.endedAt = new Date(row.ended_at);
        c.row.classList.add("ended");
        setState(c, "ended", "Ended");
      }
      showDuration(c);
    }
    const first = $("calls").querySelector("tr.none td");
    if (first) first.textContent = "No calls today yet.";
    kpis();
  }

  function onEvent(env) {
    const data = env.data || {};
    if (!env.call_id) return;
    switch (env.type) {
      case "call.started": {
        const c = call(env.call_id, data);
        c.startedAt = new Date(data.started_at || env.at || Date.now());
        break;
      }
      case "call.ended": {
        const c = call(env.call_id, data);
        c.endedAt = new Date(data.ended_at || env.at || Date.now());
        c.row.classList.add("ended");
        setState(c, "ended", "Ended");
        break;
      }
      case "signals.updated": setDistress(call(env.call_id, data), data); break;
      case "escalation": addEscalation(env); break;
      case "call.degraded": {
        const c = call(env.call_id, data);
        c.row.classList.add("degraded");
        if (!c.endedAt && !c.escalated) {
          setState(c, "warn", data.reason === "audio_dropped"
            ? `Audio dropped (${Number(data.dropped_audio_s || 0).toFixed(1)} s)` : "Transcript delayed");
        }
        break;
      }
      case "call.recovered": {
        const c = call(env.call_id, data);
        c.row.classList.remove("degraded");
        if (!c.endedAt && !c.escalated) setState(c, "live", "Live");
        break;
      }
      default: call(env.call_id, data); break;
    }
    kpis();
  }

  setInterval(() => {
    const now = Date.now();
    for (const [id, c] of calls) {
      if (c.endedAt && c.startedAt && c.startedAt < startOfToday()) {
        c.row.remove();
        calls.delete(id);
        continue;
      }
      showDuration(c, now);
    }
    kpis();
  }, 1000);

  const stream = new EventStream({ path: "/v1/supervisor/events", token, onEvent, onStatus: setStatus });
  window.carecueSupervisor = { stream, calls };
  stream.start();
  loadToday();
})();
