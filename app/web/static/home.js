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
    window.location.assign(`/${page}?token=${encodeURIComponent(token)}`);
  });
})();
