// Coaching replay: steps through a stored call as it happened live. The whole timeline comes
// from GET /v1/calls/{id}/replay; the page shows what was on screen at the scrubber's moment
// (transcript lines by the time their final arrived, nudges and how they were resolved, the
// caller's distress) and keeps the trainer's notes, stored with the call.
"use strict";

(() => {
  const { takeToken, el, levelOf } = CareCue;
  const token = takeToken("carecue.coach.token");
  const callId = decodeURIComponent(location.pathname.split("/")[2] || "");
  const $ = (id) => document.getElementById(id);

  const state = { items: [], notes: [], duration: 0, t: 0, playing: false, speed: 1, shown: -1, last: 0 };
  const HOW = {
    agent_said: "Said ✓", accepted: "Accepted ✓", dismissed: "Dismissed", expired: "Expired",
    superseded: "Made way for a protocol", call_ended: "Open at the end of the call",
  };

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  function fmt(t) {
    const s = Math.max(0, Math.floor(t));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  async function api(path, options = {}) {
    const resp = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    });
    if (!resp.ok) {
      let message = `HTTP ${resp.status}`;
      try { const body = await resp.json(); message = (body.detail && body.detail.message) || message; } catch (_) { /* not JSON */ }
      const err = new Error(message);
      err.status = resp.status;
      throw err;
    }
    return resp.status === 204 ? null : resp.json();
  }

  // ---- rendering the moment t ----------------------------------------------------------

  function visibleCount(t) {
    let n = 0;
    while (n < state.items.length && state.items[n].t_s <= t + 1e-6) n += 1;
    return n;
  }

  function render(force) {
    const n = visibleCount(state.t);
    $("timeline").value = String(state.t);
    $("clock").textContent = `${fmt(state.t)} / ${fmt(state.duration)}`;
    $("note-at").textContent = fmt(state.t);
    if (n === state.shown && !force) return;
    const forward = n > state.shown && state.shown >= 0 && !force;
    const from = forward ? state.shown : 0;
    if (!forward) {
      $("transcript").replaceChildren();
      $("nudges").replaceChildren();
      setDistress(null);
    }
    for (let i = from; i < n; i += 1) show(state.items[i]);
    state.shown = n;
    if (!$("transcript").children.length) {
      $("transcript").append(el("li", { class: "empty", text: "Press Play, or drag the timeline." }));
    }
    if (!$("nudges").children.length) $("nudges").append(el("p", { class: "empty", text: "None yet." }));
    const list = $("transcript");
    list.scrollTop = list.scrollHeight;
  }

  function show(item) {
    if (item.kind === "line") {
      $("transcript").querySelector(".empty")?.remove();
      $("transcript").append(el("li", { class: `line ${item.speaker}`, "data-t": item.t_s.toFixed(1) },
        el("span", { class: "who", text: `${item.speaker === "caller" ? "Caller" : "Agent"} · ${fmt(item.start_s)}` }),
        el("span", { class: "said", text: item.text })));
    } else if (item.kind === "signal") {
      setDistress(item.distress, item.trend);
    } else if (item.kind === "nudge") {
      $("nudges").querySelector(".empty")?.remove();
      const card = el("article", {
        class: `card priority-${item.priority}`, "data-nudge-id": item.nudge_id, "data-rule-id": item.rule_id,
      },
        el("div", { class: "card-head" }, el("span", { class: "badge", text: item.priority }),
          el("h3", { text: item.title })),
        item.suggestion ? el("p", { class: "suggestion", text: item.suggestion }) : null,
        el("p", { class: "reason" }, el("span", { class: "reason-label", text: "Why: " }), item.reason || ""),
        el("p", { class: "card-state", text: `Shown at ${fmt(item.t_s)}` }));
      $("nudges").prepend(card);
    } else if (item.kind === "nudge_resolved") {
      const card = $("nudges").querySelector(`[data-nudge-id="${CSS.escape(item.nudge_id)}"]`);
      if (card) {
        card.classList.add("resolved", `how-${item.how}`);
        card.querySelector(".card-state").textContent = `${HOW[item.how] || item.how} at ${fmt(item.t_s)}`;
      }
    } else if (item.kind === "escalation") {
      $("nudges").querySelector(".empty")?.remove();
      $("nudges").prepend(el("p", { class: "esc sev-" + item.severity },
        el("span", { class: "what", text: `Escalated to the supervisor (${item.severity}) at ${fmt(item.t_s)}` })));
    }
  }

  function setDistress(value, trend) {
    const meter = $("meter");
    if (value === null || value === undefined) {
      meter.dataset.level = "low";
      meter.setAttribute("aria-valuenow", "0");
      $("meter-fill").style.width = "0";
      $("distress-value").textContent = "No reading yet";
      return;
    }
    const pct = Math.round(value * 100);
    meter.dataset.level = levelOf(value);
    meter.setAttribute("aria-valuenow", String(pct));
    $("meter-fill").style.width = `${pct}%`;
    $("distress-value").textContent = `${pct}% · ${trend || "steady"}`;
  }

  // ---- notes -----------------------------------------------------------------------------

  function renderNotes() {
    const list = $("notes");
    list.replaceChildren();
    for (const note of state.notes) {
      const jump = el("button", { class: "btn ghost jump", type: "button", text: fmt(note.at_s),
        "aria-label": `Jump to ${fmt(note.at_s)}`, onclick: () => seek(note.at_s) });
      list.append(el("li", { class: "note", "data-note-id": String(note.note_id) }, jump,
        el("span", { class: "note-text", text: note.text }),
        el("span", { class: "note-meta", text: `${note.author} (${note.author_role})` })));
    }
    const marks = $("marks");
    marks.replaceChildren();
    const span = state.duration || 1;
    // positions through the CSSOM: the page's CSP refuses inline style attributes
    const mark = (cls, t) => {
      const m = el("span", { class: cls });
      m.style.left = `${(100 * t / span).toFixed(2)}%`;
      marks.append(m);
    };
    for (const item of state.items) {
      if (item.kind === "nudge") mark(`mark nudge priority-${item.priority}`, item.t_s);
    }
    for (const note of state.notes) mark("mark note", note.at_s);
  }

  $("note-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = $("note-text").value.trim();
    if (!text) return;
    try {
      const note = await api(`/v1/calls/${encodeURIComponent(callId)}/notes`, {
        method: "POST", body: JSON.stringify({ at_s: Math.round(state.t * 10) / 10, text }),
      });
      state.notes.push(note);
      state.notes.sort((a, b) => a.at_s - b.at_s || a.note_id - b.note_id);
      $("note-text").value = "";
      renderNotes();
      setStatus("live", "Note saved");
    } catch (err) {
      setStatus("error", `Note not saved: ${err.message}`);
    }
  });

  // ---- playback --------------------------------------------------------------------------

  function seek(t) {
    state.t = Math.min(Math.max(0, t), state.duration);
    render(false);
  }

  function setPlaying(on) {
    state.playing = on && state.t < state.duration;
    const b = $("play");
    b.textContent = state.playing ? "❚❚ Pause" : "▶ Play";
    b.setAttribute("aria-pressed", String(state.playing));
    state.last = performance.now();
    if (state.playing) requestAnimationFrame(tick);
  }

  function tick(now) {
    if (!state.playing) return;
    const dt = (now - state.last) / 1000;
    state.last = now;
    seek(state.t + dt * state.speed);
    if (state.t >= state.duration) setPlaying(false);
    else requestAnimationFrame(tick);
  }

  $("play").addEventListener("click", () => {
    if (!state.playing && state.t >= state.duration) seek(0);
    setPlaying(!state.playing);
  });
  $("speed").addEventListener("change", (ev) => { state.speed = Number(ev.target.value) || 1; });
  $("timeline").addEventListener("input", (ev) => seek(Number(ev.target.value)));
  const nudgeTimes = () => state.items.filter((i) => i.kind === "nudge").map((i) => i.t_s);
  $("next-nudge").addEventListener("click", () => {
    const t = nudgeTimes().find((x) => x > state.t + 0.05);
    if (t !== undefined) seek(t);
  });
  $("prev-nudge").addEventListener("click", () => {
    const t = nudgeTimes().reverse().find((x) => x < state.t - 0.05);
    seek(t === undefined ? 0 : t);
  });

  // ---- load ------------------------------------------------------------------------------

  async function load() {
    if (!token) {
      setStatus("denied", "This page needs a link with a token (?token=...).");
      return;
    }
    $("call-id").textContent = callId;
    $("review-link").href = `/calls/${encodeURIComponent(callId)}?token=${encodeURIComponent(token)}`;
    try {
      const data = await api(`/v1/calls/${encodeURIComponent(callId)}/replay`);
      state.items = data.items;
      state.notes = data.notes;
      // The slider moves in steps of 0.1 s and a range input snaps its value below a max that
      // is not on a step: round the end up so that the end of the timeline shows every line.
      state.duration = Math.ceil(Math.max(data.duration_s, 0.1) * 10 - 1e-6) / 10;
      $("agent-id").textContent = data.agent_id;
      $("source").textContent = data.source;
      $("timeline").max = String(state.duration);
      renderNotes();
      render(true);
      setStatus("idle", data.active ? "Call still in progress" : "Ready");
      document.body.dataset.loaded = "true";
    } catch (err) {
      setStatus(err.status === 403 || err.status === 401 ? "denied" : "error",
        err.status === 403 ? "This call belongs to another agent." : `Could not load the call: ${err.message}`);
    }
  }

  window.carecueReplay = { state, seek, setPlaying };
  load();
})();
