// Team view: every agent side by side, the floor's weekly trend, rules agents find unhelpful
// and moments worth recognising. From GET /v1/team (supervisors).
"use strict";

(() => {
  const { el } = CareCue;
  const { pct, num, mmss, COLORS } = Review;
  const $ = (id) => document.getElementById(id);
  const token = Review.token();
  const PARTS = ["time_to_acknowledge", "concerns_acknowledged", "interruptions", "talk_share", "distress_change", "crisis_handling"];
  const LABELS = ["Time to acknowledge", "Concerns acknowledged", "Interruptions", "Talk share", "Distress start vs end", "Crisis handling"];

  function render(t) {
    $("agents-n").textContent = String(t.agents.length);
    const calls = t.agents.reduce((n, a) => n + a.calls, 0);
    $("calls-n").textContent = String(calls);
    const weighted = t.agents.filter((a) => a.overall !== null);
    const wsum = weighted.reduce((n, a) => n + a.calls, 0);
    $("overall").textContent = wsum ? num(weighted.reduce((s, a) => s + a.overall * a.calls, 0) / wsum) : "–";

    $("agents").replaceChildren(...(t.agents.length ? t.agents.map((a) =>
      el("tr", { "data-agent-id": a.agent_id },
        el("th", { scope: "row", class: "cid" }, el("a", { href: `/agents/${encodeURIComponent(a.agent_id)}`, text: a.agent_id })),
        el("td", { text: String(a.calls) }),
        el("td", { class: "strong", text: num(a.overall) }),
        ...PARTS.map((k) => el("td", { text: num(a.parts[k]) })),
        el("td", { text: pct(a.uptake_rate) }),
        el("td", { text: pct(a.helpful_rate) }),
        el("td", { text: pct(a.distress_reduced_share) })))
      : [el("tr", {}, el("td", { colspan: "12", class: "empty", text: "No scored calls yet." }))]));

    const weeks = t.weeks.map((w) => w.week);
    const charts = {};
    charts.floor = Review.chart($("floor-chart"), {
      type: "line",
      data: {
        labels: weeks,
        datasets: [
          { label: "Floor score", data: t.weeks.map((w) => w.overall), borderColor: "#14232f", borderWidth: 3, spanGaps: true },
          ...PARTS.map((k, i) => ({ label: LABELS[i], data: t.weeks.map((w) => w.parts[k]), borderColor: COLORS[i], backgroundColor: COLORS[i], spanGaps: true, borderWidth: 1.5 })),
        ],
      },
      options: { scales: { y: { min: 0, max: 100 } } },
    });
    charts.agents = Review.chart($("agents-chart"), {
      type: "bar",
      data: {
        labels: t.agents.map((a) => a.agent_id),
        datasets: [{ label: "Empathy score", data: t.agents.map((a) => a.overall), backgroundColor: "#0f6e6e" }],
      },
      options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } }, plugins: { legend: { display: false } } },
    });

    $("rules").replaceChildren(...(t.unhelpful_rules.length ? t.unhelpful_rules.map((r) =>
      el("tr", { "data-rule-id": r.rule_id },
        el("th", { scope: "row", text: r.rule_id }),
        el("td", { text: String(r.shown) }),
        el("td", { text: `${r.not_helpful}${r.not_helpful_rate !== null ? ` (${pct(r.not_helpful_rate)} of rated)` : ""}` }),
        el("td", { text: `${r.dismissed} (${pct(r.dismiss_rate)})` }),
        el("td", { text: String(r.taken_up) })))
      : [el("tr", {}, el("td", { colspan: "5", class: "empty", text: "No rule was rated unhelpful or dismissed." }))]));

    $("recognitions").replaceChildren(...(t.recognitions.length ? t.recognitions.map((r) =>
      el("li", { class: "recognition", "data-call-id": r.call_id },
        el("div", { class: "meta" },
          el("a", { href: `/calls/${encodeURIComponent(r.call_id)}`, text: `${r.agent_id} · call ${r.call_id} · ${mmss(r.at_s)}` }),
          el("span", { class: "drop", text: `distress ${pct(r.distress_before)} → ${pct(r.distress_after)}` })),
        el("p", { class: "q caller", text: r.caller_before }),
        el("blockquote", { class: "q agent", text: r.agent_said }),
        r.caller_after ? el("p", { class: "q caller", text: r.caller_after }) : null))
      : [el("li", { class: "empty", text: "None yet: they appear when an acknowledgement is followed by falling distress." })]));
    window.carecueTeam = { team: t, charts };
  }

  async function load() {
    if (!token) {
      Review.setStatus("denied", "No access token. Open this page as /team?token=… (a supervisor token).");
      return;
    }
    $("csv").addEventListener("click", () => Review.downloadCsv("/v1/scorecards.csv", token, "carecue-scorecards.csv")
      .catch((err) => Review.setStatus("error", Review.explain(err))));
    try {
      render(await (await Review.api("/v1/team", token)).json());
      $("main").hidden = false;
      Review.setStatus("idle", "Team view");
    } catch (err) {
      Review.setStatus("denied", Review.explain(err));
    }
  }
  load();
})();
