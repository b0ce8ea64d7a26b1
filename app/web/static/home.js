// Landing page: open the console or wallboard with a pasted token (kept out of history).
"use strict";

(() => {
  const form = document.getElementById("open-form");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const token = document.getElementById("token-input").value.trim();
    if (!token) return;
    const page = ev.submitter && ev.submitter.value === "supervisor" ? "supervisor" : "agent";
    // Handed over in this tab's sessionStorage, where the page looks for it: never in a URL.
    sessionStorage.setItem(`carecue.${page}.token`, token);
    window.location.assign(`/${page}`);
  });
})();
