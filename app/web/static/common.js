// Shared by the agent console and the supervisor wallboard: token handling and a websocket
// that reconnects by itself with backoff and resumes from the last seq it saw.
// The token never rides in a URL the pages make: the socket sends it as its first message
// ({"type":"auth","token":…}) and REST calls send it as Authorization: Bearer.
"use strict";

const CareCue = (() => {
  const params = new URLSearchParams(location.search);

  // The token arrives once in ?token= (or from the landing page through sessionStorage); we
  // keep it for this tab only and take it out of the address bar at once, so it is not shown
  // on a shared screen, kept in history or sent anywhere in a URL.
  function takeToken(storageKey) {
    let token = params.get("token");
    if (token) {
      sessionStorage.setItem(storageKey, token);
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
    } else {
      token = sessionStorage.getItem(storageKey);
    }
    return token;
  }

  // Agent tokens may carry the agent id (JWT-style payload); ?agent_id= always wins.
  function claimsOf(token) {
    const parts = (token || "").split(".");
    for (const part of parts) {
      try {
        const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
        const obj = JSON.parse(json);
        if (obj && typeof obj === "object") return obj;
      } catch (_) { /* not a JSON segment */ }
    }
    return {};
  }

  function wsUrl(path, query) {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const q = new URLSearchParams(query).toString();
    return `${scheme}//${location.host}${path}${q ? "?" + q : ""}`;
  }

  // GET a JSON resource with the token in a header (never in the URL).
  async function fetchJson(path, token) {
    const resp = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    if (!resp.ok) throw new Error(String(resp.status));
    return resp.json();
  }

  // Close codes after which retrying cannot help (bad token, forbidden agent).
  const FATAL_CLOSE = new Set([1008, 4001, 4003]);

  class EventStream {
    constructor({ path, token, onEvent, onStatus }) {
      this.path = path;
      this.token = token;
      this.onEvent = onEvent;
      this.onStatus = onStatus;
      this.lastSeq = null;
      this.attempt = 0;
      this.ws = null;
      this.stopped = false;
      this.timer = null;
    }

    start() { this.connect(); }

    connect() {
      clearTimeout(this.timer);
      const query = {};
      if (this.lastSeq !== null) query.since = String(this.lastSeq);
      this.onStatus("connecting", this.lastSeq === null ? "Connecting…" : "Reconnecting…");
      let ws;
      try {
        ws = new WebSocket(wsUrl(this.path, query));
      } catch (err) {
        this.scheduleRetry();
        return;
      }
      this.ws = ws;
      ws.onopen = () => {
        // The first message authenticates; events follow once the server has said auth.ok.
        ws.send(JSON.stringify({ type: "auth", token: this.token }));
      };
      ws.onmessage = (msg) => {
        let env;
        try { env = JSON.parse(msg.data); } catch (_) { return; }
        if (env.type === "auth.ok") {
          this.attempt = 0;
          this.onStatus("live", "Live");
          return;
        }
        if (env.type === "error") {
          // The socket stays open after a rejected message; show it briefly, then "Live" again.
          this.onStatus("error", env.message || env.code || "Server error");
          setTimeout(() => { if (this.ws === ws && ws.readyState === WebSocket.OPEN) this.onStatus("live", "Live"); }, 5000);
          return;
        }
        // Replays after a reconnect may overlap what we already showed; seq tells.
        if (typeof env.seq === "number") {
          if (this.lastSeq !== null && env.seq <= this.lastSeq) return;
          this.lastSeq = env.seq;
        }
        try { this.onEvent(env); } catch (err) { console.error("render failed", env.type, err); }
      };
      ws.onclose = (ev) => {
        this.ws = null;
        if (this.stopped) return;
        if (FATAL_CLOSE.has(ev.code)) {
          const why = {
            token_expired: "Access denied: this link's token has expired. Ask for a new link.",
            token_revoked: "Access denied: this link's token has been revoked.",
          }[ev.reason] || "Access denied: this link's token is not valid for this page.";
          this.onStatus("denied", why);
          return;
        }
        this.scheduleRetry();
      };
    }

    scheduleRetry() {
      // 0.5 s, 1 s, 2 s ... capped at 15 s, with jitter so a restarted server is not stampeded.
      const base = Math.min(15000, 500 * 2 ** this.attempt);
      const delay = Math.round(base * (0.75 + Math.random() * 0.5));
      this.attempt += 1;
      this.onStatus("retry", `Connection lost. Reconnecting in ${Math.ceil(delay / 1000)} s…`);
      this.timer = setTimeout(() => this.connect(), delay);
    }

    send(obj) {
      if (this.ws && this.ws.readyState === WebSocket.OPEN) {
        this.ws.send(JSON.stringify(obj));
        return true;
      }
      return false;
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.ws) this.ws.close();
    }
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function levelOf(distress) {
    if (distress >= 0.7) return "high";
    if (distress >= 0.4) return "medium";
    return "low";
  }

  const TREND = {
    rising: { arrow: "▲", label: "rising" },
    steady: { arrow: "▶", label: "steady" },
    falling: { arrow: "▼", label: "falling" },
  };

  function clock(iso) {
    const d = iso ? new Date(iso) : new Date();
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  }

  return { params, takeToken, claimsOf, fetchJson, EventStream, el, levelOf, TREND, clock };
})();
