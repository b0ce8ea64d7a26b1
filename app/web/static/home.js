// Landing page: open the console or wallboard with a pasted token (kept out of history).
"use strict";

(() => {
  const form = document.getElementById("open-form");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token-input").value.trim();
    if (!token) return;
    const chosen = ev.submitter && ev.submitter.value;
    const page = ["supervisor", "team"].includes(chosen) ? chosen : "agent";
    // Handed over in this tab's sessionStorage, where the page looks for it: never in a URL.
    // The team view reads the supervisor's token.
    sessionStorage.setItem(`carecue.${page === "team" ? "supervisor" : page}.token`, token);
    window.location.assign(`/${page}`);
  });
})();
