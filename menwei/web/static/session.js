"use strict";
// Every page's writes carry the session's CSRF token; an ended session sends the user back to sign in.
(() => {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const token = meta ? meta.content : "";
  const plain = window.fetch.bind(window);
  window.fetch = async (url, opts = {}) => {
    const method = (opts.method || "GET").toUpperCase();
    if (!["GET", "HEAD", "OPTIONS"].includes(method)) {
      const headers = new Headers(opts.headers || {});
      headers.set("X-CSRF-Token", token);
      opts = Object.assign({}, opts, {headers});
    }
    const r = await plain(url, opts);
    if (r.status === 401 && String(url).startsWith("/api/")) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    }
    return r;
  };
})();
