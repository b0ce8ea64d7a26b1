// Call review: transcript with moments, distress curve and nudges on one timeline, score parts
// with their inputs, and the written summary. Everything comes from GET /v1/calls/{id}/review.
"use strict";

(() => {
  const { el } = CareCue;
  const { pct, num, mmss } = Review;
  const $ = (id) => document.getElementById(id);
  const callId = decodeURIComponent(location.pathname.split("/").pop());
  const token = Review.token();

  const OUTCOME = {
    agent_said: "Said by the agent", accepted: "Accepted", dismissed: "Dismissed",
    expired: "Expired", call_ended: "Open when the call ended", open: "Open",
  };
  const OUTCOME_STYLE = { agent_said: "circle", accepted: "rectRot", dismissed: "crossRot", expired: "triangle", call_ended: "triangle", open: "triangle" };

  function lineId(i) { return `line-${i}`; }

  function render(r) {
    $("call-id").textContent = r.call_id;
    $("agent-id").textContent = r.agent_id;
    $("started").textContent = r.started_at ? new Date(r.started_at).toLocaleString() : "–";
    $("duration").textContent = mmss(r.duration_s) + (r.active ? " (live)" : "");
    $("nav").replaceChildren(el("a", { href: `/agents/${encodeURIComponent(r.agent_id)}`, text: `Scorecard of ${r.agent_id}` }));
    $("overall").textContent = num(r.score.overall);
    $("summary").textContent = r.summary;
    $("parts").replaceChildren(...r.score.parts.map(Review.partCard));

    // Moments, each linked to its transcript lines.
    const moments = $("moments");
    moments.replaceChildren(...(r.moments.length ? r.moments.map((m, i) =>
      el("li", { class: `moment ${m.kind}`, "data-type": m.type, id: `moment-${i}` },
        el("span", { class: "moment-time", text: mmss(m.at_s) }),
        el("span", { class: "moment-kind", text: m.kind === "good" ? "Good" : "Missed" }),
        el("a", { href: `#${lineId(m.lines[0] ?? 0)}`, class: "moment-title", text: m.title }),
        el("p", { class: "moment-detail", text: m.detail })))
      : [el("li", { class: "empty", text: "No moments stood out." })]));

    // Nudges with their outcome and rating.
    $("nudge-list").replaceChildren(...(r.nudges.length ? r.nudges.map((n) =>
      el("li", { class: `nudge-row priority-${n.priority}`, "data-outcome": n.outcome, "data-rule-id": n.rule_id },
        el("span", { class: "moment-time", text: mmss(n.at_s) }),
        el("span", { class: "nudge-title", text: n.title }),
        el("span", { class: `pill outcome-${n.outcome}`, text: OUTCOME[n.outcome] || n.outcome }),
        el("span", { class: `pill rating-${n.helpful === null ? "none" : n.helpful ? "yes" : "no"}`,
          text: n.helpful === null ? "Not rated" : n.helpful ? "Helpful" : "Not helpful" }),
        n.reason ? el("p", { class: "reason", text: n.reason }) : null))
      : [el("li", { class: "empty", text: "No nudges on this call." })]));

    // Transcript, with each line's moments marked beside it.
    $("transcript").replaceChildren(...(r.transcript.length ? r.transcript.map((ln) => {
      const marks = ln.moments.map((mi) => {
        const m = r.moments[mi];
        return el("a", { class: `mark ${m.kind}`, href: `#moment-${mi}`, title: m.detail,
          text: `${m.kind === "good" ? "✓" : "!"} ${m.title}` });
      });
      const kinds = new Set(ln.moments.map((mi) => r.moments[mi].kind));
      return el("li", { id: lineId(ln.index), class: `line ${ln.speaker}${kinds.has("missed") ? " has-missed" : ""}${kinds.has("good") ? " has-good" : ""}${ln.acknowledgement ? " ack" : ""}`,
        "data-index": String(ln.index) },
        el("span", { class: "who", text: `${ln.speaker === "caller" ? "Caller" : "Agent"} · ${mmss(ln.start_s)}${ln.distress_after !== null ? ` · distress ${pct(ln.distress_after)}` : ""}` }),
        el("span", { class: "said", text: ln.text }),
        marks.length ? el("span", { class: "marks" }, ...marks) : null);
    }) : [el("li", { class: "empty", text: "No transcript." })]));

    // One timeline: the distress curve, nudges (shape = outcome) and moments.
    const distress = r.distress.map((d) => ({ x: d.at_s, y: Math.round(d.distress * 100) }));
    const yAt = (t) => {
      let y = distress.length ? distress[0].y : 0;
      for (const p of distress) if (p.x <= t) y = p.y;
      return y;
    };
    const nudges = r.nudges.map((n) => ({ x: n.at_s, y: yAt(n.at_s), label: `${n.title}: ${OUTCOME[n.outcome] || n.outcome}` }));
    const good = r.moments.filter((m) => m.kind === "good").map((m) => ({ x: m.at_s, y: 4, label: m.title }));
    const missed = r.moments.filter((m) => m.kind === "missed").map((m) => ({ x: m.at_s, y: 4, label: m.title }));
    const chart = Review.chart($("timeline"), {
      type: "line",
      data: {
        datasets: [
          { label: "Caller distress (%)", data: distress, borderColor: "#c0262d", backgroundColor: "rgba(192,38,45,.12)", fill: true, tension: 0.25, pointRadius: 3 },
          { type: "scatter", label: "Nudges", data: nudges, pointStyle: r.nudges.map((n) => OUTCOME_STYLE[n.outcome] || "circle"), pointRadius: 8, borderColor: "#0f6e6e", backgroundColor: "rgba(15,110,110,.35)" },
          { type: "scatter", label: "Good moments", data: good, pointStyle: "star", pointRadius: 9, borderColor: "#2e8540", backgroundColor: "#2e8540" },
          { type: "scatter", label: "Missed moments", data: missed, pointStyle: "triangle", pointRadius: 8, borderColor: "#b3121b", backgroundColor: "#b3121b" },
        ],
      },
      options: {
        parsing: true,
        scales: {
          x: { type: "linear", min: 0, title: { display: true, text: "seconds into the call" } },
          y: { min: 0, max: 100, title: { display: true, text: "distress %" } },
        },
        plugins: { tooltip: { callbacks: { label: (ctx) => ctx.raw.label || `${ctx.dataset.label}: ${ctx.parsed.y}% at ${mmss(ctx.parsed.x)}` } } },
      },
    });
    window.carecueReview = { review: r, chart };
  }

  async function load() {
    if (!token) {
      Review.setStatus("denied", "No access token. Open this page with a link from the wallboard or the console (…?token=…).");
      return;
    }
    try {
      const r = await (await Review.api(`/v1/calls/${encodeURIComponent(callId)}/review`, token)).json();
      render(r);
      $("main").hidden = false;
      Review.setStatus(r.active ? "live" : "idle", r.active ? "Call in progress" : "Call ended");
    } catch (err) {
      Review.setStatus("denied", Review.explain(err));
    }
  }
  load();
})();
