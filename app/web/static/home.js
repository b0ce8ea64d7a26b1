// Landing page: open the console or wallboard with a pasted token (kept out of history).
"use strict";

(() => {
  const form = document.getElementById("open-form");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token-input").value.trim();
    if (!token) return;
    const page = ev.submitter && ev.submitter.value === "supervisor" ? "supervisor" : "agent";
    window.location.assign(`/${page}?token=${encodeURIComponent(token)}`);
  });
})();
