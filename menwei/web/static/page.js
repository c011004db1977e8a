"use strict";
// Small helpers the coordinator pages share. Text is always set with textContent, so names typed at a
// gate can never become markup; API errors come back as exceptions carrying the server's message.
window.Menwei = (() => {
  function el(tag, text, cls) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells) {
    const tr = el("tr");
    for (const c of cells) {
      const td = el("td");
      if (c instanceof Node) td.append(c); else td.textContent = c ?? "";
      tr.append(td);
    }
    return tr;
  }
  async function api(url, opts) {
    const r = await fetch(url, opts);
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const fields = body.fields ? " (" + Object.keys(body.fields).join(", ") + ")" : "";
      throw new Error((body.error || r.statusText) + fields);
    }
    return body;
  }
  function send(method, url, data) {
    return api(url, {method, headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
  }
  const post = (url, data) => send("POST", url, data);
  function say(text, bad) {
    const s = document.getElementById("status");
    s.textContent = text;
    s.className = bad ? "error" : "";
  }
  const local = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", {hour12: false}) : "";
  return {el, row, api, send, post, say, local};
})();
