// Shared by the after-call pages (call review, agent scorecard, team view): the token, API
// reads with clear errors, number formatting and Chart.js defaults. Needs common.js and the
// vendored Chart.js (/web/vendor/chart.umd.min.js).
"use strict";

const Review = (() => {
  const { el } = CareCue;
  const KEY = "carecue.review.token";

  // ?token= first (kept for this tab, then taken out of the address bar); else a token this
  // tab already holds from the review pages, the wallboard or the console.
  function token() {
    const t = CareCue.takeToken(KEY);
    if (t) {
      // so that the wallboard link from these pages opens with the same supervisor token
      if (["supervisor", "admin"].includes(CareCue.claimsOf(t).role)) sessionStorage.setItem("carecue.supervisor.token", t);
      return t;
    }
    for (const k of ["carecue.supervisor.token", "carecue.agent.token"]) {
      const v = sessionStorage.getItem(k);
      if (v) { sessionStorage.setItem(KEY, v); return v; }
    }
    return null;
  }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, tok) {
    const resp = await fetch(path, { headers: { Authorization: `Bearer ${tok}` } });
    if (!resp.ok) {
      let message = `${resp.status}`;
      try { const body = await resp.json(); message = body.detail?.message || body.detail || message; } catch (_) { /* not JSON */ }
      throw new ApiError(resp.status, String(message));
    }
    return resp;
  }

  // The reason a page cannot show its data, in words a user can act on.
  function explain(err) {
    if (err.status === 403) return `Access denied: ${err.message}.`;
    if (err.status === 401) return "This link's token is missing, expired or not valid here.";
    if (err.status === 404) return "No such call: it may have been removed under the retention policy.";
    return `Could not load (${err.message}).`;
  }

  function setStatus(kind, text) {
    const s = document.getElementById("status");
    s.dataset.state = kind;
    s.textContent = text;
  }

  const pct = (x) => (x === null || x === undefined ? "–" : `${Math.round(x * 100)}%`);
  const num = (x) => (x === null || x === undefined ? "–" : String(Math.round(x)));
  function mmss(s) {
    s = Math.max(0, Math.round(Number(s) || 0));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  // A score part as a card: the number, a bar, how it was computed and its inputs.
  function partCard(p) {
    const inputs = el("dl", { class: "inputs" });
    for (const [k, v] of Object.entries(p.inputs || {})) {
      inputs.append(el("div", {}, el("dt", { text: k.replace(/_/g, " ") }),
        el("dd", { text: v === null ? "–" : String(v) })));
    }
    const fill = el("div", { class: "bar-fill" });
    fill.style.width = `${p.applicable ? p.score : 0}%`; // CSSOM: the CSP forbids style attributes
    return el("li", { class: `part${p.applicable ? "" : " na"}`, "data-key": p.key },
      el("div", { class: "part-head" },
        el("span", { class: "part-label", text: p.label }),
        el("span", { class: "part-score", text: p.applicable ? `${num(p.score)}` : "n/a" })),
      el("div", { class: "bar", role: "img", "aria-label": `${p.label}: ${p.applicable ? num(p.score) + " of 100" : "not applicable"}` },
        fill),
      el("p", { class: "part-how", text: p.explanation }),
      inputs);
  }

  const COLORS = ["#0f6e6e", "#0b5cad", "#c77700", "#7b3fa0", "#2e8540", "#c0262d", "#5b6b7a"];

  function chart(canvas, config) {
    Chart.defaults.animation = false; // pages are read, not watched; tests and screenshots see the final frame
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.maintainAspectRatio = false;
    return new Chart(canvas, config);
  }

  async function downloadCsv(path, tok, name) {
    const resp = await api(path, tok);
    const url = URL.createObjectURL(await resp.blob());
    const a = el("a", { href: url, download: name });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  return { token, api, explain, setStatus, pct, num, mmss, partCard, chart, COLORS, downloadCsv };
})();
