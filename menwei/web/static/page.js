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
  // What a page calls the fields of its forms, so a refusal names them in words (pages add their own).
  const fieldNames = {};
  function refusal(body, status) {
    if (status === 403) return "没有权限做这件事 you may not do this" + (body.error ? `（${body.error}）` : "");
    if (status >= 500 || !body.error) return "服务器出错，未保存，请重试 the server failed; nothing was saved, try again";
    const fields = Object.keys(body.fields || {}).map((k) => fieldNames[k] || k);
    const error = body.error.replace(/^请检查填写的内容 please check what was entered: .*$/, "请检查 please check");
    return error + (fields.length ? "：" + fields.join("、") : "");
  }
  async function api(url, opts) {
    let r;
    try { r = await fetch(url, opts); }
    catch (e) { throw new Error("连不上本机服务，请稍后再试 cannot reach this laptop's service; try again"); }
    const body = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(refusal(body, r.status));
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
  // A stored UTC time in the compound's zone (TIMEZONE, on every page's <html>), whatever the browser's own zone.
  const local = (iso) => iso ? new Date(iso).toLocaleString("zh-CN", {hour12: false,
    timeZone: document.documentElement.dataset.tz || "Asia/Shanghai"}) : "";
  // A button that prints its page (no inline handler: the pages' CSP forbids them).
  document.addEventListener("click", (e) => { if (e.target.closest("button[data-print]")) window.print(); });
  const $ = (selector) => document.querySelector(selector);
  // Text someone typed, made safe to put into markup (pages that build HTML strings use it for every value).
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
  // Asks first, in the page's own dialog (never the browser's confirm): resolves with the value of the choice
  // clicked, or null when cancelled (the cancel button, Escape). choices: [[value, label, "danger"?], …].
  function ask(question, {detail = "", choices = [["ok", "确定 OK"]], cancel = "取消 cancel"} = {}) {
    let dlg = document.getElementById("menwei-ask");
    if (!dlg) { dlg = el("dialog", null, "menwei-ask"); dlg.id = "menwei-ask"; document.body.append(dlg); }
    const form = el("form"), bar = el("div", null, "dlgbuttons");
    form.method = "dialog";
    form.append(el("p", question, "question"));
    if (detail) form.append(el("p", detail, "what"));
    for (const [value, label, cls] of choices) {
      const b = el("button", label, cls); b.type = "submit"; b.value = value; bar.append(b);
    }
    const no = el("button", cancel, "cancel"); no.type = "submit"; no.value = ""; bar.append(no);
    form.append(bar);
    dlg.replaceChildren(form);
    dlg.returnValue = "";
    return new Promise((resolve) => {
      dlg.addEventListener("close", () => resolve(dlg.returnValue || null), {once: true});
      dlg.showModal(); no.focus();
    });
  }
  return {el, row, api, send, post, say, local, fieldNames, $, esc, ask};
})();
