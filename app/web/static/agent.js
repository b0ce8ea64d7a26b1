// Agent console: one websocket with everything about this agent's calls.
"use strict";

(() => {
  const { params, takeToken, claimsOf, EventStream, el, levelOf, TREND, clock } = CareCue;
  const $ = (id) => document.getElementById(id);

  const token = takeToken("carecue.agent.token");
  const claims = claimsOf(token);
  const agentId = params.get("agent_id") || params.get("agent") || claims.agent_id || claims.sub || "";
  $("agent-id").textContent = agentId || "–";

  const state = {
    callId: null,
    startedAt: null,
    history: [],         // recent distress values for the sparkline
    cards: new Map(),    // nudge_id -> card element
  };

  // The pill says "Live" only while a call is in progress; a connected console between calls
  // says that it is waiting, so an ended call never looks live.
  let connection = { kind: "connecting", text: "Connecting…" };
  function setStatus(kind, text) {
    connection = { kind, text };
    showStatus();
  }
  function showStatus() {
    let { kind, text } = connection;
    if (kind === "live" && !state.startedAt) {
      kind = "idle";
      text = state.callId ? "Call ended · waiting for the next call" : "Connected · waiting for a call";
    }
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  if (!token || !agentId) {
    setStatus("denied", !token
      ? "No access token. Open this page with the link CareCue printed (…/agent?token=…)."
      : "This token does not name an agent. Add ?agent_id=… to the link.");
    return;
  }

  // ---- call lifecycle -------------------------------------------------------------------
  function beginCall(callId, startedAt) {
    if (state.callId === callId) return;
    state.callId = callId;
    state.startedAt = startedAt ? new Date(startedAt) : new Date();
    state.history = [];
    state.cards.clear();
    $("call-id").textContent = callId;
    $("transcript").replaceChildren();
    $("nudges").replaceChildren(
      el("p", { class: "empty", text: "Suggestions appear here during the call." }));
    $("escalation").hidden = true;
    showDelayed(null);
    document.body.classList.remove("call-ended");
    showReviewLink(false);
    renderSignals({ distress: 0, concerns: {}, trend: "steady" }, true);
    showStatus();
  }

  // After the call: its review (and the agent's scorecard) open in a new tab with this token.
  function showReviewLink(show) {
    const link = $("review-link");
    link.hidden = !show;
    if (show) link.href = `/calls/${encodeURIComponent(state.callId)}?token=${encodeURIComponent(token)}`;
  }
  $("scorecard-link").href = `/agents/${encodeURIComponent(agentId)}?token=${encodeURIComponent(token)}`;
  $("scorecard-link").hidden = false;

  function endCall() {
    showReviewLink(true);
    document.body.classList.add("call-ended");
    showCallTime();
    $("call-time").textContent += " (ended)";
    state.startedAt = null;
    showStatus();
  }

  function showCallTime() {
    if (!state.startedAt) return;
    const s = Math.max(0, Math.round((Date.now() - state.startedAt.getTime()) / 1000));
    $("call-time").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }
  setInterval(showCallTime, 1000);

  // ---- transcript -----------------------------------------------------------------------
  const partials = new Map(); // speaker -> <li> of the utterance still being spoken

  function transcriptLine(speaker, text, isFinal, segmentId) {
    const list = $("transcript");
    list.querySelector(".empty")?.remove();
    const who = speaker === "caller" ? "Caller" : "You";
    let li = partials.get(speaker);
    if (!li && segmentId) li = list.querySelector(`li[data-segment="${CSS.escape(segmentId)}"]`);
    if (!li) {
      li = el("li", { class: `line ${speaker}` },
        el("span", { class: "who", text: who }),
        el("span", { class: "said" }));
      list.append(li);
    }
    li.dataset.segment = segmentId || "";
    li.querySelector(".said").textContent = text;
    li.classList.toggle("partial", !isFinal);
    // Screen readers announce finals only; partials change too fast to be read.
    li.setAttribute("aria-hidden", isFinal ? "false" : "true");
    if (isFinal) partials.delete(speaker); else partials.set(speaker, li);
    // The list scrolls, not its panel, so the heading stays in view.
    const pane = list;
    if (pane.scrollHeight - pane.scrollTop - pane.clientHeight < 120) {
      pane.scrollTop = pane.scrollHeight;
    }
  }

  // ---- distress ---------------------------------------------------------------------------
  function renderSignals(data, reset = false) {
    const d = Math.max(0, Math.min(1, Number(data.distress) || 0));
    const pct = Math.round(d * 100);
    const level = levelOf(d);
    const trend = TREND[data.trend] || TREND.steady;
    const meter = $("meter");
    meter.dataset.level = level;
    meter.setAttribute("aria-valuenow", String(pct));
    meter.setAttribute("aria-valuetext", reset ? "no reading yet" : `${pct} percent, ${level}, ${trend.label}`);
    $("meter-fill").style.width = `${pct}%`;
    const value = $("distress-value");
    value.textContent = reset ? "No reading yet" : `${pct}%`;
    value.classList.toggle("no-reading", reset);
    const t = $("trend");
    t.dataset.trend = data.trend || "steady";
    t.textContent = reset ? "" : `${trend.arrow} ${trend.label}`;
    if (!reset) state.history.push(d);
    if (state.history.length > 60) state.history.shift();
    const n = state.history.length;
    $("spark").classList.toggle("hidden", n < 2);
    $("spark-line").setAttribute("points", state.history
      .map((v, i) => `${n === 1 ? 120 : (i * 120) / (n - 1)},${(26 - v * 24).toFixed(1)}`).join(" "));
    const concerns = Object.entries(data.concerns || {})
      .filter(([, v]) => v >= 0.35).sort((a, b) => b[1] - a[1]).slice(0, 4);
    $("concerns").replaceChildren(...concerns.map(([name, v]) =>
      el("li", { class: "chip", title: `${Math.round(v * 100)}%` }, name.replace(/_/g, " "))));
  }

  // ---- nudges -----------------------------------------------------------------------------
  const RESOLVED_TEXT = {
    agent_said: "You said it ✓", accepted: "Accepted ✓", dismissed: "Dismissed", expired: "Expired",
    superseded: "Set aside for the urgent protocol", call_ended: "Call ended",
  };

  function feedback(nudgeId, action, card) {
    const note = card.querySelector(".card-note");
    if (!stream.send({ type: "nudge.feedback", nudge_id: nudgeId, action })) {
      note.textContent = "Not sent: reconnecting. Try again in a moment.";
      return;
    }
    if (action === "helpful" || action === "not_helpful") {
      for (const b of card.querySelectorAll("button[data-rating]")) {
        b.setAttribute("aria-pressed", String(b.dataset.rating === action));
      }
      note.textContent = "Thanks for the feedback.";
    } else {
      note.textContent = "";
      resolveCard(nudgeId, action);
    }
  }

  function addNudge(data) {
    const box = $("nudges");
    box.querySelector(".empty")?.remove();
    if (state.cards.has(data.nudge_id)) return;
    const urgent = data.priority === "urgent";
    const titleId = `nudge-${data.nudge_id}-title`;
    const card = el("article", {
      class: `card priority-${data.priority || "suggest"}`,
      "data-nudge-id": data.nudge_id,
      "data-rule-id": data.rule_id || "",
      "aria-labelledby": titleId,
      role: urgent ? "alert" : null,
    },
      el("header", { class: "card-head" },
        el("span", { class: "badge", text: urgent ? "Urgent" : (data.priority || "suggest") }),
        el("h3", { id: titleId, text: data.title || "Suggestion" })),
      data.suggestion ? el("blockquote", { class: "suggestion" },
        el("span", { class: "sr-only", text: "You could say: " }), data.suggestion) : null,
      data.reason ? el("p", { class: "reason" },
        el("span", { class: "reason-label", text: "Why: " }), data.reason) : null,
      el("div", { class: "actions" },
        el("button", { class: "btn accept", type: "button", "data-action": "accepted",
          onclick: () => feedback(data.nudge_id, "accepted", card) }, "Accept"),
        el("button", { class: "btn dismiss", type: "button", "data-action": "dismissed",
          onclick: () => feedback(data.nudge_id, "dismissed", card) }, "Dismiss"),
        el("span", { class: "card-state", "aria-live": "polite" }),
        el("span", { class: "rate", role: "group", "aria-label": "Was this helpful?" },
          el("button", { class: "btn ghost", type: "button", "data-rating": "helpful",
            "aria-pressed": "false", onclick: () => feedback(data.nudge_id, "helpful", card) },
            "Helpful"),
          el("button", { class: "btn ghost", type: "button", "data-rating": "not_helpful",
            "aria-pressed": "false", onclick: () => feedback(data.nudge_id, "not_helpful", card) },
            "Not helpful"))),
      el("p", { class: "card-note", "aria-live": "polite" }));
    state.cards.set(data.nudge_id, card);
    // Newest first, but urgent cards always stay on top.
    const firstNormal = urgent ? box.firstChild : box.querySelector(".card:not(.priority-urgent)");
    box.insertBefore(card, firstNormal || null);
    if (urgent) document.title = "⚠ Urgent · CareCue";
  }

  function resolveCard(nudgeId, how) {
    const card = state.cards.get(nudgeId);
    if (!card || card.classList.contains("resolved")) return;
    card.classList.add("resolved", `how-${how}`);
    card.removeAttribute("role");
    card.querySelector(".card-state").textContent = RESOLVED_TEXT[how] || how;
    for (const b of card.querySelectorAll("button[data-action]")) b.disabled = true;
    // An accepted card stays where it is with its words in full view: the agent is about to
    // say them. Other resolved cards sink below open ones and fade; ratings stay usable.
    if (how !== "accepted") $("nudges").append(card);
    if (!document.querySelector(".card.priority-urgent:not(.resolved)")) {
      document.title = "CareCue · Agent console";
    }
  }

  // The service is overloaded (call.degraded): words come late or some are missing. A quiet
  // note, not an alarm; call.recovered (or the next call) clears it.
  function showDelayed(data) {
    const box = $("delayed");
    if (!data) { box.hidden = true; return; }
    box.textContent = data.reason === "audio_dropped"
      ? "Transcript delayed · some words may be missing"
      : "Transcript delayed";
    box.hidden = false;
  }

  function showEscalation(data) {
    const box = $("escalation");
    box.textContent = `Supervisor alerted${data.severity ? ` (${data.severity})` : ""}: ${data.reason || ""}`;
    box.hidden = false;
  }

  // ---- wiring -----------------------------------------------------------------------------
  function onEvent(env) {
    const data = env.data || {};
    if (env.call_id && env.call_id !== state.callId &&
        (env.type === "call.started" || state.callId === null || state.startedAt === null)) {
      beginCall(env.call_id, env.type === "call.started" ? (data.started_at || env.at) : env.at);
    }
    if (env.call_id && env.call_id !== state.callId) return; // stale events of an earlier call
    switch (env.type) {
      case "call.started": break;
      case "call.ended": showDelayed(null); endCall(); break;
      case "transcript.partial": transcriptLine(data.speaker, data.text, false, data.segment_id); break;
      case "transcript.final": transcriptLine(data.speaker, data.text, true, data.segment_id); break;
      case "signals.updated": renderSignals(data); break;
      case "nudge.created": addNudge(data); break;
      case "nudge.resolved": resolveCard(data.nudge_id, data.how); break;
      case "escalation": showEscalation(data); break;
      case "call.degraded": showDelayed(data); break;
      case "call.recovered": showDelayed(null); break;
      default: break;
    }
  }

  const stream = new EventStream({
    path: `/v1/agents/${encodeURIComponent(agentId)}/events`,
    token,
    onEvent,
    onStatus: setStatus,
  });
  window.carecueAgent = { stream, state };
  stream.start();
})();
