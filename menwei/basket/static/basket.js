// The shopping basket page (menwei/basket/templates/basket.html): paste and review the chain, confirm its proposals,
// shopping list, buying, packing, handoff, money. Kept out of the page so that a strict CSP can forbid inline script.
"use strict";
(() => {
const {say, fieldNames, $, esc, ask} = window.Menwei;
Object.assign(fieldNames, {paid_by: "付款志愿者 who paid", amount: "金额 amount", price: "价格 price", lines: "物品 items",
  name: "姓名 name", household_id: "住户 household", volunteer_id: "志愿者 volunteer", photo: "照片 photo",
  text: "接龙 chain text", building: "楼栋 building", bags: "袋数 bags", by: "送达人 delivered by", delivery_date: "日期 day"});
// Every call of the page: a refusal is said in words at the top of the page (never an alert with JSON).
const api = async (path, opts) => {
  try {
    return await window.Menwei.api("/api/v1/basket" + path, Object.assign({headers: {"Content-Type": "application/json"}}, opts));
  } catch (e) { say(e.message, true); e.shown = true; throw e; }
};
// A refusal already said on the page stops the action that met it; it is no page error.
window.addEventListener("unhandledrejection", (ev) => { if (ev.reason && ev.reason.shown) ev.preventDefault(); });
const post = (path, body) => api(path, {method: "POST", body: JSON.stringify(body || {})});
const STATUS = {requested: "已登记 requested", bought: "已买 bought", partly_bought: "部分买到 partly bought",
  packed: "已分装 packed", at_building: "已到楼下 at the building", delivered: "已送到门口 delivered",
  refused: "已取消/拒收 cancelled or refused"};
const status = (s) => STATUS[s] || s;
// Editing controls are drawn only for those the server lets write (basket_page's `edit`); a viewer reads.
const edit = document.body.dataset.edit === "1";
const on = (selector, event, fn) => { const el = $(selector); if (el) el.addEventListener(event, fn); };

async function loadVolunteers(selected) {
  if (!edit) return;  // the lists to choose a volunteer from are editing controls
  const all = (await api("/volunteers?all=1")).volunteers, volunteers = all.filter((v) => !v.inactive);
  for (const sel of document.querySelectorAll("select.volunteers")) {  // only the active are offered
    const keep = selected || sel.value || (sel.id === "payer" ? document.body.dataset.payer : "");
    const none = document.createElement("option");
    none.value = ""; none.textContent = "— 选择 choose —";  // nobody is chosen for the volunteer by default
    sel.replaceChildren(none, ...volunteers.map((v) => { const o = document.createElement("option"); o.value = v.id; o.textContent = v.name; return o; }));
    if (keep && volunteers.some((v) => v.id === keep)) sel.value = keep;
  }
  $("#team-names").replaceChildren(...volunteers.map((v) => { const o = document.createElement("option"); o.value = v.name; return o; }));
  // the team, the deactivated too: each can be deactivated (asked first) or reactivated
  $("#teamlist").innerHTML = all.map((v) => `<li data-id="${esc(v.id)}" class="${v.inactive ? "inactive" : ""}"><b>${esc(v.name)}</b>` +
    (v.inactive ? ` <small>已停用 deactivated</small> <button type="button" class="reactivate">恢复 reactivate</button>`
      : ` <button type="button" class="deactivate">停用 deactivate</button>`) + `</li>`).join("") || "<li>—</li>";
  $("#teamlist").querySelectorAll("button").forEach((b) => b.addEventListener("click", async () => {
    const li = b.closest("li"), name = li.querySelector("b").textContent, active = b.classList.contains("reactivate");
    if (!active && !await ask(`停用 ${name}？ Deactivate ${name}?`, {detail: "不再作为付款人、送达人可选；账目里的名字保留。 No longer offered to pay or deliver; the accounts keep the name.", choices: [["ok", "停用 deactivate", "danger"]], cancel: "返回 back"})) return;
    await post(`/volunteers/${encodeURIComponent(li.dataset.id)}/active`, {active});
    await loadVolunteers();
    say(`${name} ${active ? "已恢复 reactivated" : "已停用 deactivated"}`);
  }));
  if (!volunteers.length) say("还没有付款志愿者：请先在“结账”页添加 no volunteer to pay yet: add one on the buy tab", true);
}
on("#add-volunteer", "submit", async (e) => {
  e.preventDefault();
  const name = e.target.name.value.trim();
  if (!name) { say("请填写姓名 a name is needed", true); return; }
  const v = await post("/volunteers", {name});
  e.target.reset();
  await loadVolunteers(v.id);
  say(`${v.name} 已添加 added`);
});
const day = () => $("#day").value;
const me = document.body.dataset.me || "";  // the signed-in person: who delivers, unless changed
const amount = (a) => a.map(([q, u]) => (u === "元" ? "¥" + q : (q === null ? "" : q) + u)).join(" + ");
const itemText = (i) => esc(i.item) + (i.quantity === null || i.quantity === undefined ? "" :
  " " + (i.unit === "元" ? "¥" + i.quantity : i.quantity + esc(i.unit || ""))) + (i.note ? `（${esc(i.note)}）` : "");
// today in the compound's zone (TIMEZONE), whatever the phone's own zone: en-CA writes YYYY-MM-DD
$("#day").value = new Intl.DateTimeFormat("en-CA", {timeZone: document.body.dataset.tz || "Asia/Shanghai"}).format(new Date());

document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => show(b.dataset.tab)));
function show(tab) {
  say("");  // a message belongs to the tab it was said on
  document.querySelectorAll("section").forEach((s) => { s.hidden = s.id !== tab; });
  document.querySelectorAll("nav button").forEach((b) => b.classList.toggle("on", b.dataset.tab === tab));
  ({paste: loadProposals, list: loadList, buy: () => Promise.all([loadVolunteers(), loadBuy()]), pack: loadPack, handoff: () => Promise.all([loadVolunteers(), loadHandoff()]), money: loadMoney}[tab] || (() => {}))();
}

// What a chain line means, in words: the items of an order, or the change / cancellation / copy it proposes.
const CHANGE = {add: "加 add", set: "改为 set", remove: "去掉 remove", replace: "换成 replace"};
function meaning(l) {
  const changes = l.changes.map((c) => c.op === "remove" ? `${CHANGE.remove} ${esc(c.item)}` :
    c.op === "replace" ? `${esc(c.item)} ${CHANGE.replace} ${itemText(c.new)}` : `${CHANGE[c.op]} ${itemText(c.new)}`);
  if (l.kind === "correction") return "更正 correction: " + changes.join("；");
  if (l.kind === "cancel") return "取消整单 cancel the order";
  if (l.kind === "repeat") return `照抄 copy of ${esc(l.ref === "above" ? "?" : l.ref)}` + (changes.length ? "；" + changes.join("；") : "");
  return l.items.map(itemText).join("，");
}
const STATE = {new: "新 new", same: "未变 same", changed: "有修改 edited", change: "待确认更正 correction to confirm",
  cancel: "待确认取消 cancellation to confirm", copy: "待确认照抄 copy to confirm", done: "已处理 handled"};

const chainBody = () => ({text: $("#chain").value, building: $("#building").value, delivery_date: day()});
on("#preview", "click", async () => {
  const r = await post("/chains/preview", chainBody());
  $("#review tbody").innerHTML = r.lines.map((l) => `<tr class="${l.flags.length || l.notes.length ? "flagged" : ""}${l.kind !== "order" ? " proposal" : ""}" data-kind="${esc(l.kind)}">` +
    `<td>${l.number ?? ""}<small> (${l.line_no})</small></td><td>${esc(l.room || "?")}</td><td>${esc(l.name || "")}</td>` +
    `<td>${meaning(l)}</td>` +
    `<td>${l.notes.map(esc).join("；")} <span class="flag">${l.flags.map(esc).join("；")}</span></td><td>${esc(STATE[l.state] || l.state)}</td></tr>`).join("");
  $("#ignored").innerHTML = r.ignored.length ? `<table class="ignored"><caption>不是订单的行（标题、说明、闲聊） lines that are not orders</caption>` +
    r.ignored.map((l) => `<tr><td>${l.line_no}</td><td>${esc(l.raw)}</td><td>${l.kind === "header" ? "标题/说明 header" : "闲聊 chatter"}</td></tr>`).join("") + "</table>" : "";
  $("#import").disabled = false;
});
// 2020-02-05 → 2月5日 (how the group's titles write a day)
const monthDay = (iso) => `${+iso.slice(5, 7)}月${+iso.slice(8, 10)}日`;
on("#import", "click", async () => {
  // A title naming another day than the page's (a chain for tomorrow pasted today) asks which day first.
  const named = (await post("/chains/preview", chainBody())).title_day;
  if (named) {
    const which = await ask(`接龙标题是 ${monthDay(named)}，页面选的是 ${monthDay(day())}：导入哪一天？ ` +
      `The chain's title names ${named}, the page ${day()}: import for which day?`,
      {choices: [[named, `${monthDay(named)} 标题 title`, "primary"], [day(), `${monthDay(day())} 页面 page`]]});
    if (!which) return;
    $("#day").value = which;
  }
  const r = await post("/chains/import", chainBody());
  $("#importmsg").textContent = `新增 ${r.created} new · 未变 ${r.unchanged} unchanged · 有修改待确认 ${r.changed} edited, to confirm · 需核对 ${r.flagged} to check`;
  loadProposals();
});

const KIND = {edit: "改了接龙 edited line", change: "更正 correction", cancel: "取消 cancellation", copy: "照抄 copy"};
function stepText(s) {
  const miss = s.found ? "" : ' <span class="problem">订单里没有 not in the order</span>';
  if (s.op === "add") return `<li class="step-add">+ ${esc(s.item)} ${esc(s.after)}${miss}</li>`;
  if (s.op === "remove") return `<li class="step-remove">− ${esc(s.item)} ${esc(s.before || "")}</li>${miss ? `<li>${esc(s.item)}${miss}</li>` : ""}`;
  if (s.op === "keep") return `<li class="step-keep">${esc(s.item)} ${esc(s.after)}（不变 unchanged）</li>`;
  return `<li class="step-change">${s.from_item ? esc(s.from_item) + " " + esc(s.before) + " → " + esc(s.item) : esc(s.item) + " " + esc(s.before) + " →"} ${esc(s.after)}</li>`;
}
async function loadProposals() {
  if (!day()) return;
  const r = await api("/proposals?date=" + day());
  $("#proposals").innerHTML = r.proposals.map((p) => `<div class="proposal-card" data-order="${esc(p.order_id)}" data-kind="${esc(p.kind)}" data-entry="${esc(p.entry)}">` +
    `<b>${esc(p.room)}</b> ${esc(p.name || "")} · <b>${esc(KIND[p.kind])}</b>${p.kind === "copy" ? " " + esc(p.ref || "") : ""}` +
    `<div class="raw">${esc(p.line)}</div>` +
    (p.kind === "cancel" ? `<div class="cancel-note">整单取消 the whole order is cancelled</div>` : "") +
    `<ul>${p.steps.map(stepText).join("")}</ul>` +
    (p.problem ? `<div class="problem">${esc(p.problem)}</div>` : "") +
    (p.status !== "requested" ? `<div class="problem">订单已是“${esc(status(p.status))}”，请手工处理 the order has moved on: handle it by hand</div>` : "") +
    (edit ? `<button class="confirm" type="button"${p.lines === null || p.status !== "requested" ? " disabled" : ""}>确认 confirm</button>` +
    `<button class="reject" type="button">不采纳 reject</button>` : "") + `</div>`).join("") || "—";
  $("#proposals").querySelectorAll("button.confirm, button.reject").forEach((b) => b.addEventListener("click", async () => {
    const card = b.closest(".proposal-card"), confirming = b.classList.contains("confirm");
    const line = card.querySelector(".raw").textContent;
    if (confirming && card.dataset.kind === "cancel" &&
        !await ask("确认取消这一户的整单？ Cancel this household's whole order?", {detail: line, choices: [["ok", "取消整单 cancel the order", "danger"]], cancel: "返回 back"})) return;
    if (!confirming && !await ask("不采纳这条？订单保持原样。 Reject this line? The order stays as it is.", {detail: line, choices: [["ok", "不采纳 reject", "danger"]], cancel: "返回 back"})) return;
    await post(`/orders/${card.dataset.order}/${confirming ? "confirm" : "reject"}-change`, {line: card.dataset.entry});
    loadProposals();
  }));
}
$("#reloadproposals").addEventListener("click", loadProposals);
$("#day").addEventListener("change", () => { if (!$("#paste").hidden) loadProposals(); });

async function loadList() {
  const r = await api("/shopping-list?date=" + day());
  const done = JSON.parse(localStorage.getItem("menwei.ticks." + day()) || "{}");
  $("#shopping").innerHTML = Object.entries(r.sections).map(([sec, items]) => `<h3>${esc(sec)}</h3>` +
    items.map((i) => `<label class="item ${done[i.item] ? "done" : ""}"><input type="checkbox" data-item="${esc(i.item)}" ${done[i.item] ? "checked" : ""}>` +
      `<b>${esc(i.item)}</b> ${esc(amount(i.amounts))} <small>${esc(i.households.join(" "))}</small></label>`).join("")).join("") || "—";
  $("#shopping").querySelectorAll("input").forEach((c) => c.addEventListener("change", () => {
    done[c.dataset.item] = c.checked; localStorage.setItem("menwei.ticks." + day(), JSON.stringify(done));
    c.parentElement.classList.toggle("done", c.checked);
  }));
}

async function loadBuy() {
  const r = await api("/orders?date=" + day());
  const open = r.orders.filter((o) => o.status === "requested");
  $("#buyorders").innerHTML = open.map((o) => `<div class="order" data-order="${esc(o.id)}"><b>${esc(o.label || o.room_text)}</b> ${esc(o.name || "")}` +
    o.lines.map((l) => `<div data-line="${esc(l.id)}">${esc(l.item)} ${l.quantity ?? ""}${esc(l.unit || "")} ` +
      (edit ? `¥<input class="price" inputmode="decimal" aria-label="价格 price"> <label><input type="checkbox" class="missing"> 缺货 out of stock</label>` : "") + `</div>`).join("") +
    (edit ? `<button class="bought">已买 bought</button>` : "") + `</div>`).join("") || "—";
  $("#buyorders").querySelectorAll("button.bought").forEach((b) => b.addEventListener("click", async () => {
    const div = b.closest(".order");
    const lines = [...div.querySelectorAll("[data-line]")].map((d) => {
      const price = parseFloat(d.querySelector(".price").value);
      return Object.assign({id: d.dataset.line, missing: d.querySelector(".missing").checked}, isNaN(price) ? {} : {price});
    });
    if (!$("#payer").value) { say("请先选择付款志愿者 choose who paid first", true); $("#payer").focus(); return; }
    await post(`/orders/${div.dataset.order}/bought`, {paid_by: $("#payer").value, lines});
    say(`${div.querySelector("b").textContent} 已买 bought`);
    loadBuy();
  }));
}

async function loadPack() {
  const r = await api("/packing?date=" + day());
  $("#packing").innerHTML = r.orders.map((o) => `<div class="order" data-order="${esc(o.id)}"><b>${esc(o.label || o.room_text)}</b> ${esc(o.name || "")} · ¥${o.total} · ${esc(status(o.status))}` +
    (o.missing ? ` <span class="flag">缺 ${esc(o.missing)}</span>` : "") +
    `<ul>${o.lines.map((l) => `<li>${esc(l.item)} ${l.bought_quantity ?? l.quantity ?? ""}${esc(l.unit || "")} ${l.price !== null ? "¥" + l.price : ""} ${l.missing ? "✗" : ""}</li>`).join("")}</ul>` +
    (edit && ["bought", "partly_bought"].includes(o.status) ? `袋数 bags <input class="bags" value="1" size="2"> <button class="packed">已分装 packed</button>` : "") + `</div>`).join("") || "—";
  $("#labels").innerHTML = r.orders.filter((o) => o.status !== "refused").map((o) => `<div class="label"><b>${esc(o.label || o.room_text)}</b> ${esc(o.name || "")}` +
    `<span>${o.bags || 1} 袋 bags · ${esc(day())}</span></div>`).join("");
  $("#packing").querySelectorAll("button.packed").forEach((b) => b.addEventListener("click", async () => {
    const div = b.closest(".order");
    await post(`/orders/${div.dataset.order}/packed`, {bags: parseInt(div.querySelector(".bags").value, 10) || 1});
    loadPack();
  }));
}

$("#printlabels").addEventListener("click", () => { $("#printlabels").href = "/basket/labels?date=" + day(); });

async function loadHandoff() {
  const r = await api("/handoff?date=" + day());
  $("#handofflist").innerHTML = r.orders.map((o) => `<div class="order" data-order="${esc(o.id)}"><b>${esc(o.label || o.room_text)}</b> ${esc(o.name || "")} · ${o.bags || 1} 袋 bags · ${esc(status(o.status))} ` +
    (edit ? `<label>送达人 delivered by <input class="by" value="${esc(me)}" size="8" maxlength="50" list="team-names"></label> <button class="delivered">已送到门口 delivered</button>` : "") + `</div>`).join("") || "全部送达 all delivered";
  $("#handofflist").querySelectorAll("button.delivered").forEach((b) => b.addEventListener("click", async () => {
    const div = b.closest(".order"), by = div.querySelector(".by");
    if (!by.value.trim()) { say("请填写送达人 say who delivered it: 送达人 delivered by", true); by.focus(); return; }
    await post(`/orders/${div.dataset.order}/delivered`, {by: by.value.trim()});
    loadHandoff();
  }));
}

async function loadMoney() {
  await loadVolunteers();
  const r = await api("/ledger");
  $("#ledger").innerHTML = `<h3>谁欠谁 who owes whom · ¥${r.total_owed}</h3><table id="pairs"><thead><tr><th>房号 room</th><th>垫付人 paid by</th><th>应付 owes</th><th></th></tr></thead><tbody>` +
    (r.pairs.map((p) => `<tr data-household="${esc(p.household_id)}" data-volunteer="${esc(p.volunteer_id)}" data-owes="${p.owes}">` +
      `<td>${esc(p.room)}${p.household_id ? "" : ` <small class="flag">未登记 not registered</small>`}</td><td>${esc(p.name)}</td><td>¥${p.owes}</td>` +
      `<td>${edit && p.household_id ? `<button class="repay" type="button">收到还款 repaid…</button>` : ""}</td></tr>`).join("") ||
      `<tr><td colspan="4">都已结清 all settled</td></tr>`) + `</tbody></table>` +
    `<h3>志愿者垫付 volunteers · 未还 ¥${r.total_outstanding}</h3><table>${r.volunteers.map((v) => `<tr><td>${esc(v.name)}</td><td>垫付 advanced ¥${v.advanced}</td><td>已还 repaid ¥${v.repaid}</td><td>未还 outstanding ¥${v.outstanding}</td></tr>`).join("")}</table>`;
  $("#ledger").querySelectorAll("button.repay").forEach((b) => b.addEventListener("click", () => {
    const tr = b.closest("tr"), form = $("#repayment");
    form.dataset.household = tr.dataset.household; form.dataset.volunteer = tr.dataset.volunteer;
    $("#repaywho").textContent = `${tr.cells[0].textContent} 还给 pays back ${tr.cells[1].textContent}`;
    form.amount.value = tr.dataset.owes;
    form.hidden = false; form.amount.focus();
  }));
}
on("#repayment", "submit", async (e) => {
  e.preventDefault();
  const form = e.target, amount = parseFloat(form.amount.value);
  if (!(amount > 0)) { say("请填写金额 enter the amount", true); form.amount.focus(); return; }
  await post("/repayments", {household_id: form.dataset.household, volunteer_id: form.dataset.volunteer, amount});
  say(`已记录还款 ¥${amount} repayment recorded`);
  form.hidden = true; form.reset(); loadMoney();
});
on("#repaycancel", "click", () => { $("#repayment").hidden = true; });
on("#receipt", "submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target), file = f.get("photo");
  const body = {volunteer_id: f.get("volunteer_id"), amount: parseFloat(f.get("amount")), delivery_date: day()};
  if (file && file.size) body.photo = await new Promise((ok) => { const r = new FileReader(); r.onload = () => ok(r.result); r.readAsDataURL(file); });
  if (!body.volunteer_id) { say("请选择谁的小票 choose whose receipt it is", true); return; }
  if (!(body.amount > 0)) { say("请填写小票金额 enter the receipt's amount", true); return; }
  await post("/receipts", body);
  say(`小票已记录 receipt recorded ¥${body.amount}`);
  e.target.reset(); loadMoney();
});
async function loadReply(stage) {
  const r = await api(`/reply?date=${day()}&stage=${stage}&building=${encodeURIComponent($("#building").value)}`);
  $("#replytext").value = r.text;
  $("#copyreply").disabled = false;
  $("#copymsg").textContent = "";
}
$("#replybefore").addEventListener("click", () => loadReply("before"));
$("#replyafter").addEventListener("click", () => loadReply("after"));
$("#copyreply").addEventListener("click", async () => {
  const text = $("#replytext");
  try {
    await navigator.clipboard.writeText(text.value);  // only in a secure context (https or localhost)
  } catch (e) {
    text.select();
    document.execCommand("copy");
  }
  $("#copymsg").textContent = "已复制，去群里粘贴 copied: paste it in the group";
});
show("paste");
})();
