// Practice mode: the trainee takes a simulated patient call. The practice socket
// (/v1/practice/session) runs the scenario: it sends the patient's lines (and their Kokoro
// audio), takes typed replies and says which branch each answer took. The live pipeline's own
// events (transcript as CareCue heard it, distress, nudges) come from the agent event socket,
// exactly as on the console. With a microphone the page streams 16 kHz PCM to the native
// ingest as the agent track, with a token that may stream this one call only.
"use strict";

(() => {
  const { takeToken, claimsOf, EventStream, el, levelOf } = CareCue;
  const token = takeToken("carecue.practice.token");
  const claims = claimsOf(token);
  const $ = (id) => document.getElementById(id);
  const state = {
    ws: null, callId: null, agentId: null, mode: "text", turn: 0, myTurn: false,
    events: null, cards: new Map(), audio: null, mic: null, ended: false, lastAgentLine: null,
  };

  function setStatus(kind, text) {
    const s = $("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  function wsUrl(path, query) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${location.host}${path}?${new URLSearchParams(query)}`;
  }

  async function api(path) {
    const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (!resp.ok) {
      const err = new Error(`HTTP ${resp.status}`);
      err.status = resp.status;
      throw err;
    }
    return resp.json();
  }

  // ---- choosing a scenario ---------------------------------------------------------------

  async function loadScenarios() {
    if (!token) {
      setStatus("denied", "This page needs a link with a token (?token=...).");
      return;
    }
    try {
      const data = await api("/v1/practice/scenarios");
      if (!data.voice) {
        $("voice-note").textContent = data.voice_note;
        $("voice-note").hidden = false;
      }
      const canMic = !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
      const list = $("scenarios");
      for (const sc of data.scenarios) {
        list.append(el("li", { class: "scenario", "data-scenario": sc.id },
          el("h3", { text: sc.title }),
          el("span", { class: "who", text: sc.caller }),
          sc.protocol ? el("span", { class: "protocol", text: "Safety protocol · includes talk of suicide" }) : null,
          el("p", { text: sc.summary }),
          el("div", { class: "start" },
            el("button", { class: "btn accept", type: "button", text: "Type replies",
              onclick: () => begin(sc, "text") }),
            el("button", { class: "btn", type: "button", text: "Use microphone", disabled: !canMic,
              title: canMic ? null : "No microphone access in this browser",
              onclick: () => begin(sc, "voice") }))));
      }
      setStatus("idle", "Choose a scenario");
    } catch (err) {
      setStatus(err.status === 401 || err.status === 403 ? "denied" : "error",
        `Could not load the scenarios (${err.message})`);
    }
  }

  // ---- the call --------------------------------------------------------------------------

  function begin(sc, mode) {
    state.mode = mode;
    $("picker").hidden = true;
    $("call").hidden = false;
    $("scenario-title").textContent = sc.title;
    $("caller").textContent = sc.caller;
    $("summary").textContent = sc.summary;
    $("skills").replaceChildren(...sc.skills.map((s) => el("li", { text: s })));
    if (mode === "voice") {
      $("done-speaking").hidden = false;
      $("mic-level").hidden = false;
      $("reply-label").textContent = "Speak your reply (or type it)";
    }
    setStatus("connecting", "Starting the call…");
    const ws = new WebSocket(wsUrl("/v1/practice/session", { token }));
    state.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "begin", scenario_id: sc.id, mode }));
    ws.onmessage = (msg) => {
      let m;
      try { m = JSON.parse(msg.data); } catch (_) { return; }
      handle(m).catch((err) => setStatus("error", String(err.message || err)));
    };
    ws.onclose = (ev) => {
      if (!state.ended) setStatus("error", `The practice call stopped (${ev.reason || ev.code}).`);
      setMyTurn(false);
      stopMic();
    };
  }

  async function handle(m) {
    if (m.type === "ready") {
      state.callId = m.call_id;
      state.agentId = m.agent_id;
      $("call-id").textContent = m.call_id;
      document.body.dataset.callId = m.call_id;
      startEvents();
      if (m.ingest) await startMic(m.ingest);
      setStatus("live", m.voice ? "On the call" : "On the call (text only)");
    } else if (m.type === "patient") {
      state.turn = m.turn;
      setMyTurn(false);
      $("turn-state").textContent = "The patient is speaking…";
      if (m.audio_url) playLine(m.audio_url);
    } else if (m.type === "audio") {
      if (m.turn === state.turn) playLine(m.audio_url);
    } else if (m.type === "your_turn") {
      setMyTurn(true);
    } else if (m.type === "judged") {
      showJudgement(m);
    } else if (m.type === "ended") {
      await ended(m);
    } else if (m.type === "error") {
      $("turn-state").textContent = m.message;
    }
  }

  function setMyTurn(on) {
    state.myTurn = on;
    $("reply").disabled = !on;
    $("send").disabled = !on;
    $("done-speaking").disabled = !on;
    if (on) {
      $("turn-state").textContent = state.mode === "voice" ? "Your turn: speak, then pause or press Done" : "Your turn";
      $("reply").focus();
    }
  }

  function playLine(url) {
    if (state.audio) state.audio.pause();
    const audio = new Audio(`${url}?token=${encodeURIComponent(token)}`);
    state.audio = audio;
    audio.play().catch(() => { /* autoplay refused: the words are on screen */ });
  }

  $("reply-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const text = $("reply").value.trim();
    if (!text || !state.myTurn) return;
    state.ws.send(JSON.stringify({ type: "reply", text }));
    $("reply").value = "";
    setMyTurn(false);
    $("turn-state").textContent = "The patient is listening…";
  });
  $("reply").addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey) {
      ev.preventDefault();
      $("reply-form").requestSubmit();
    }
  });
  $("done-speaking").addEventListener("click", () => {
    if (state.ws) state.ws.send(JSON.stringify({ type: "end_turn" }));
  });
  $("hangup").addEventListener("click", () => {
    if (state.ws && state.ws.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify({ type: "hangup" }));
  });

  function showJudgement(m) {
    if (!m.listened_for || !m.listened_for.length) return;  // this answer could not change the path
    const line = state.lastAgentLine;
    const text = m.when
      ? `CareCue heard this as ${m.when.replace(/_/g, " ")}${m.sentence ? `: “${m.sentence}”` : ""}`
      : "CareCue did not hear an acknowledgement in this reply";
    const note = el("p", { class: `judged${m.when ? " took-when" : ""}`, "data-when": m.when || "none", text });
    if (line) line.append(note);
    else $("transcript").append(el("li", { class: "line agent" }, note));
  }

  // ---- the live pipeline's events (as on the agent console) -------------------------------

  function startEvents() {
    state.events = new EventStream({
      path: `/v1/agents/${encodeURIComponent(state.agentId)}/events`,
      token,
      onStatus: () => {},
      onEvent: (env) => { if (env.call_id === state.callId) onEvent(env); },
    });
    state.events.start();
  }

  function onEvent(env) {
    const d = env.data || {};
    if (env.type === "transcript.final") {
      $("transcript").querySelector(".empty")?.remove();
      $("transcript").querySelector(`[data-segment="${CSS.escape(d.segment_id)}"]`)?.remove();
      const li = el("li", { class: `line ${d.speaker}`, "data-segment": d.segment_id },
        el("span", { class: "who", text: d.speaker === "caller" ? "Patient" : "You" }),
        el("span", { class: "said", text: d.text }));
      $("transcript").append(li);
      if (d.speaker === "agent") state.lastAgentLine = li;
      $("transcript").scrollTop = $("transcript").scrollHeight;
    } else if (env.type === "transcript.partial" && d.speaker === "agent") {
      let li = $("transcript").querySelector(`[data-segment="${CSS.escape(d.segment_id)}"]`);
      if (!li) {
        li = el("li", { class: "line agent partial", "data-segment": d.segment_id },
          el("span", { class: "who", text: "You" }), el("span", { class: "said" }));
        $("transcript").append(li);
      }
      li.querySelector(".said").textContent = d.text;
    } else if (env.type === "signals.updated") {
      const pct = Math.round(d.distress * 100);
      $("meter").dataset.level = levelOf(d.distress);
      $("meter").setAttribute("aria-valuenow", String(pct));
      $("meter-fill").style.width = `${pct}%`;
      $("distress-value").textContent = `${pct}% · ${d.trend}`;
    } else if (env.type === "nudge.created") {
      $("nudges").querySelector(".empty")?.remove();
      const card = el("article", { class: `card priority-${d.priority}`, "data-nudge-id": d.nudge_id, "data-rule-id": d.rule_id },
        el("div", { class: "card-head" }, el("span", { class: "badge", text: d.priority }), el("h3", { text: d.title })),
        d.suggestion ? el("p", { class: "suggestion", text: d.suggestion }) : null,
        el("p", { class: "reason" }, el("span", { class: "reason-label", text: "Why: " }), d.reason || ""),
        el("p", { class: "card-state" }));
      state.cards.set(d.nudge_id, card);
      $("nudges").prepend(card);
    } else if (env.type === "nudge.resolved") {
      const card = state.cards.get(d.nudge_id);
      if (card) {
        card.classList.add("resolved", `how-${d.how}`);
        card.querySelector(".card-state").textContent = d.how === "agent_said" ? "You said it ✓" : d.how.replace(/_/g, " ");
      }
    }
  }

  // ---- microphone: 16 kHz PCM to the native ingest, as the agent track ---------------------

  async function startMic(ingest) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
    });
    const ctx = new AudioContext({ sampleRate: ingest.start.sample_rate });
    if (ctx.state === "suspended") await ctx.resume().catch(() => {});
    const source = ctx.createMediaStreamSource(stream);
    // ScriptProcessor is deprecated but needs no module file (the CSP allows only our scripts)
    const proc = ctx.createScriptProcessor(4096, 1, 1);
    const sock = new WebSocket(wsUrl(ingest.path, { token: ingest.token }));
    sock.binaryType = "arraybuffer";
    let started = false;
    sock.onopen = () => sock.send(JSON.stringify(ingest.start));
    sock.onmessage = (msg) => {
      try { if (JSON.parse(msg.data).type === "started") started = true; } catch (_) { /* binary */ }
    };
    proc.onaudioprocess = (ev) => {
      const input = ev.inputBuffer.getChannelData(0);
      const playing = state.audio && !state.audio.paused && !state.audio.ended;
      const pcm = new Int16Array(input.length);
      let peak = 0;
      for (let i = 0; i < input.length; i += 1) {
        // while the patient speaks we send silence: their voice is not the trainee's, and the
        // stream keeps the call's clock
        const v = playing ? 0 : Math.max(-1, Math.min(1, input[i]));
        peak = Math.max(peak, Math.abs(v));
        pcm[i] = v * 32767;
      }
      $("mic-level").value = peak;
      if (started && sock.readyState === WebSocket.OPEN) sock.send(pcm.buffer);
    };
    source.connect(proc);
    proc.connect(ctx.destination);
    state.mic = { stream, ctx, proc, sock };
  }

  function stopMic() {
    const mic = state.mic;
    if (!mic) return;
    state.mic = null;
    try { mic.proc.disconnect(); } catch (_) { /* already */ }
    mic.stream.getTracks().forEach((t) => t.stop());
    mic.ctx.close();
    if (mic.sock.readyState === WebSocket.OPEN) mic.sock.send(JSON.stringify({ type: "stop" }));
  }

  // ---- after the call ----------------------------------------------------------------------

  async function ended(m) {
    state.ended = true;
    setMyTurn(false);
    stopMic();
    document.body.classList.add("call-ended");
    document.body.dataset.path = m.path.join(" ");
    $("turn-state").textContent = "";
    $("debrief").hidden = false;
    const acknowledged = m.turns.filter((t) => t.when).length;
    $("outcome").textContent = (m.outcome === "finished" ? "The call is over. " : "You ended the call. ")
      + `CareCue heard an acknowledgement or safety check in ${acknowledged} of your ${m.turns.length} replies.`;
    const q = `?token=${encodeURIComponent(token)}`;
    $("review-link").href = m.review_url + q;
    $("replay-link").href = m.replay_url + q;
    setStatus("idle", "Call ended");
    // the empathy score of the review page, when this server has it; retried while the
    // stored call catches up
    for (let attempt = 0; attempt < 5; attempt += 1) {
      try {
        const review = await api(`/v1/calls/${encodeURIComponent(m.call_id)}/review`);
        const score = review.score || {};
        $("score").textContent = score.overall === null || score.overall === undefined
          ? "Score: not enough in this call to score" : `Empathy score: ${Math.round(score.overall)} / 100`;
        $("score-parts").replaceChildren(...(score.parts || []).filter((p) => p.applicable).map((p) =>
          el("li", { text: `${p.label}: ${Math.round(p.score)}` })));
        return;
      } catch (err) {
        if (err.status === 404 && attempt > 1) break;
        await new Promise((r) => setTimeout(r, 800));
      }
    }
    $("score").textContent = "Score: see the review page.";
  }

  window.carecuePractice = { state };
  loadScenarios();
})();
