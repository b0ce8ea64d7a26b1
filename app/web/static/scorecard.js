// Agent scorecard: weekly trend of each score part, nudge uptake and helpfulness, calls with
// distress reduced (each a chart), and the scored calls. From GET /v1/agents/{id}/scorecard.
"use strict";

(() => {
  const { el } = CareCue;
  const { pct, num, COLORS } = Review;
  const $ = (id) => document.getElementById(id);
  const agentId = decodeURIComponent(location.pathname.split("/").pop());
  const token = Review.token();
  const LABELS = {
    time_to_acknowledge: "Time to acknowledge", concerns_acknowledged: "Concerns acknowledged",
    interruptions: "Interruptions", talk_share: "Talk share", distress_change: "Distress start vs end",
    crisis_handling: "Crisis handling",
  };

  function render(card) {
    $("agent-id").textContent = card.agent_id;
    $("calls-n").textContent = card.totals ? String(card.totals.calls) : "0";
    $("overall").textContent = card.totals ? num(card.totals.overall) : "–";
    const weeks = card.weeks.map((w) => w.week);
    const charts = {};
    charts.parts = Review.chart($("parts-chart"), {
      type: "line",
      data: {
        labels: weeks,
        datasets: [
          { label: "Overall", data: card.weeks.map((w) => w.overall), borderColor: "#14232f", borderWidth: 3, spanGaps: true },
          ...Object.keys(LABELS).map((k, i) => ({ label: LABELS[k], data: card.weeks.map((w) => w.parts[k]), borderColor: COLORS[i % COLORS.length], backgroundColor: COLORS[i % COLORS.length], spanGaps: true })),
        ],
      },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "score (0–100)" } } } },
    });
    charts.nudges = Review.chart($("nudge-chart"), {
      type: "line",
      data: {
        labels: weeks,
        datasets: [
          { label: "Taken up (said or accepted)", data: card.weeks.map((w) => w.uptake_rate === null ? null : Math.round(w.uptake_rate * 100)), borderColor: "#0f6e6e", backgroundColor: "#0f6e6e", spanGaps: true },
          { label: "Rated helpful (of rated)", data: card.weeks.map((w) => w.helpful_rate === null ? null : Math.round(w.helpful_rate * 100)), borderColor: "#c77700", backgroundColor: "#c77700", spanGaps: true },
        ],
      },
      options: { scales: { y: { min: 0, max: 100, title: { display: true, text: "% of nudges" } } } },
    });
    charts.reduced = Review.chart($("reduced-chart"), {
      type: "bar",
      data: {
        labels: weeks,
        datasets: [
          { label: "Distress reduced", data: card.weeks.map((w) => w.calls_distress_reduced), backgroundColor: "#2e8540" },
          { label: "Calls with readings", data: card.weeks.map((w) => w.calls_with_distress), backgroundColor: "#c9d6df" },
        ],
      },
      options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "calls" } } } },
    });
    $("calls").replaceChildren(...(card.calls.length ? card.calls.map((c) =>
      el("tr", { "data-call-id": c.call_id || "" },
        el("th", { scope: "row", class: "cid" }, c.call_id
          ? el("a", { href: `/calls/${encodeURIComponent(c.call_id)}`, text: c.call_id })
          : el("span", { class: "muted", text: "removed (retention)" })),
        el("td", { text: c.call_date }),
        el("td", { text: num(c.overall) }),
        el("td", { text: `${pct(c.distress_start)} → ${pct(c.distress_end)}` }),
        el("td", { text: String(c.good_moments) }),
        el("td", { text: String(c.missed_moments) })))
      : [el("tr", {}, el("td", { colspan: "6", class: "empty", text: "No scored calls yet." }))]));
    window.carecueScorecard = { card, charts };
  }

  async function load() {
    if (!token) {
      Review.setStatus("denied", "No access token. Open this page with a link that carries one (…?token=…).");
      return;
    }
    $("csv").addEventListener("click", () => Review.downloadCsv(
      `/v1/scorecards.csv?agent_id=${encodeURIComponent(agentId)}`, token, `carecue-scorecard-${agentId}.csv`)
      .catch((err) => Review.setStatus("error", Review.explain(err))));
    try {
      render(await (await Review.api(`/v1/agents/${encodeURIComponent(agentId)}/scorecard`, token)).json());
      $("main").hidden = false;
      Review.setStatus("idle", "Scorecard");
    } catch (err) {
      Review.setStatus("denied", Review.explain(err));
    }
  }
  load();
})();
