// Menwei gate desk. Plain JavaScript, no libraries, no network but this node.
"use strict";
const T = {
  zh: {title: "门卫 · 值守台", checking: "检查网络…", search_label: "房号 / 姓名 / 拼音 / 车牌 / 通行证（按 / 聚焦）",
       no_subject: "未选择人员", out: "出 (Alt+O)", in: "进 (Alt+I)", temperature: "体温 °C", id_checked: "已核对身份证",
       operator: "值班员", check: "核验放行 (Enter)", deny: "拒绝… (Alt+D)", recent: "本门最近记录", time: "时间",
       who: "人员", dir: "方向", decision: "结果", online: "在线 · 已同步", offline: "离线 · {n} 条待同步", parked: "{n} 条记录被总台拒绝，请协调员查看同步状态",
       alarm: "时钟偏差 {s} 秒！请校准本机时间", allowed: "放行", denied: "禁止通行", may: "今天可外出",
       may_not: "今天不可外出", left: "剩余外出次数 {n}", next: "下次可外出 {t}", residents: "住户",
       passes: "通行证", vehicles: "车辆", deny_reason: "拒绝原因", fever_alert: "发热警报", none: "无结果",
       unenrolled: "本机尚未注册到中心", upgrade: "需升级门卫软件才能同步（记录已保存）", quarantine: "楼栋隔离中", rules: "规则", veh: "车辆", fever_line: "发热线",
       party: "党员", duty: "值班", check_in: "签到", check_out: "签退", nobody: "此时无人排班！",
       handover: "交接", handover_ph: "交接留言…", handover_save: "留言", visitor: "访客/快递登记 (Alt+V)",
       v_name: "姓名", v_id: "身份证号", v_phone: "电话", v_reason: "事由", v_use: "登记此人 (Enter)",
       lock: "锁定方向 (Alt+L)", dir_out: "出 · 外出", dir_in: "进 · 返回", dir_locked: "已锁定，每人沿用", dir_once: "只用于下一人，之后回到“出”",
       register: "登记未在册住户 (Alt+N)", r_hint: "住户名册里没有的人：登记后可立即核验，协调员稍后在中心核对。",
       r_room: "房号（如 20-1702）", r_name: "姓名", r_phone: "电话（可不填）", r_save: "登记并选中 (Enter)",
       r_done: "已登记 {name}（{room}），待协调员核对", r_flag: "门岗登记，待核对", deny_ok: "拒绝通行", cancel: "取消 (Esc)",
       ack: "已处理…", ack_note: "处理情况（例如：已通知社区医生，住户居家隔离）", ack_ok: "确认已处理",
       ack_need: "请写下如何处理的", temp_need: "请输入体温", temp_bad: "{v} 不是体温（应在 34–43 °C）",
       temp_guess: "是 {g} 吗？", temp_use: "用 {g}", pick_hint: "Alt+数字 选成员",
       fever_open: "本户有未处理的发热记录，今天不可外出，请联系协调员", bad_input: "请检查：{fields}",
       failed: "没有记录：{msg}", need_subject: "先搜索并选择人员",
       level_open: "开放", level_semi_closed: "半封闭", level_closed: "封闭管理", level_quarantine: "隔离",
       quota_words: "每 {d} 天可外出 {n} 次", no_quota: "外出不限次数", veh_free: "车辆可进出",
       veh_exit_only: "车辆只出不进", veh_banned: "禁止车辆进出", fever_from: "{t} °C 以上为发热",
       pass_outing: "外出证", pass_work: "工作证", pass_vehicle: "车辆通行证", pass_visitor: "访客证", revoked: "已作废",
       f_temperature: "体温", f_room: "房号", f_name: "姓名", f_phone: "电话", f_id_number: "身份证号", f_reason: "事由",
       f_operator: "值班员", f_subject: "人员", f_resident_id: "住户", f_household_id: "住户", f_deny_reason: "拒绝原因",
       kind_household: "户", kind_resident: "人", kind_pass: "证", kind_vehicle: "车", kind_visitor: "访客"},
  en: {title: "Menwei · Gate desk", checking: "Checking network…", search_label: "Room / name / pinyin / plate / pass code (press /)",
       no_subject: "Nobody selected", out: "Out (Alt+O)", in: "In (Alt+I)", temperature: "Temperature °C",
       id_checked: "ID card checked", operator: "Operator", check: "Check (Enter)", deny: "Deny… (Alt+D)",
       recent: "Latest at this gate", time: "Time", who: "Who", dir: "Dir", decision: "Result",
       online: "Online · synced", offline: "Offline · {n} changes waiting", parked: "{n} records refused by the hub: a coordinator should look at the sync status", alarm: "Clock off by {s} s! Fix this computer's time",
       allowed: "ALLOWED", denied: "DENIED", may: "May go out today", may_not: "May not go out today",
       left: "Outings left {n}", next: "Next outing from {t}", residents: "Residents", passes: "Passes",
       vehicles: "Vehicles", deny_reason: "Reason for denying:", fever_alert: "FEVER ALERT", none: "No match",
       unenrolled: "This node is not enrolled with a hub yet", upgrade: "Upgrade Menwei to sync (records are kept)", quarantine: "Building under quarantine", rules: "Rules",
       veh: "vehicles", fever_line: "fever from", party: "party member", duty: "On duty", check_in: "Check in",
       check_out: "Check out", nobody: "Nobody is rostered now!", handover: "Handover", handover_ph: "Note for the next shift…",
       handover_save: "Save note", visitor: "Visitor / delivery (Alt+V)", v_name: "Name", v_id: "ID number",
       v_phone: "Phone", v_reason: "Reason", v_use: "Register this person (Enter)",
       lock: "Lock direction (Alt+L)", dir_out: "OUT · leaving", dir_in: "IN · coming back", dir_locked: "locked: kept for everyone",
       dir_once: "for the next person only, then back to OUT",
       register: "Register someone not on the register (Alt+N)",
       r_hint: "A person missing from the register: checked at once, reviewed later by a coordinator at the hub.",
       r_room: "Room (e.g. 20-1702)", r_name: "Name", r_phone: "Phone (optional)", r_save: "Register and select (Enter)",
       r_done: "Registered {name} ({room}); a coordinator will review it", r_flag: "registered at the gate, to be reviewed", deny_ok: "Deny", cancel: "Cancel (Esc)",
       ack: "Handled…", ack_note: "What was done (e.g. community doctor called, household isolating at home)",
       ack_ok: "Mark as handled", ack_need: "Write down what was done", temp_need: "Enter the temperature",
       temp_bad: "{v} is not a body temperature (34–43 °C)", temp_guess: "Did you mean {g}?", temp_use: "Use {g}",
       pick_hint: "Alt+number picks a member",
       fever_open: "An open fever alert in this household: may not go out today, call the coordinator",
       bad_input: "Please check: {fields}", failed: "Not recorded: {msg}", need_subject: "Search and choose someone first",
       level_open: "open", level_semi_closed: "semi-closed", level_closed: "closed", level_quarantine: "quarantine",
       quota_words: "{n} outing(s) every {d} days", no_quota: "outings not limited", veh_free: "vehicles may cross",
       veh_exit_only: "vehicles may leave, not enter", veh_banned: "no vehicles", fever_from: "fever from {t} °C",
       pass_outing: "outing pass", pass_work: "work pass", pass_vehicle: "vehicle pass", pass_visitor: "visitor pass",
       revoked: "revoked", f_temperature: "temperature", f_room: "room", f_name: "name", f_phone: "phone",
       f_id_number: "ID number", f_reason: "reason", f_operator: "operator", f_subject: "person",
       f_resident_id: "resident", f_household_id: "household", f_deny_reason: "reason for denying",
       kind_household: "home", kind_resident: "person", kind_pass: "pass", kind_vehicle: "car", kind_visitor: "visitor"},
};
let lang = localStorage.getItem("menwei.lang") || "zh";
const t = (k, vars) => (T[lang][k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v]);
const {$, esc} = window.Menwei;  // web/static/page.js
const local = (iso) => iso ? new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {timeZone: document.body.dataset.tz || "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}) : "";
// results are for the query in resultsFor; a search under way is the promise `searching` for `searchingFor`.
let results = [], resultsFor = null, sel = -1, subject = null, card = null, searching = null, searchingFor = null;
let usualDirection = "out";

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  showSubject(); showDirection(); drawResults();
  if (card) drawCard();
}

async function api(path, opts) {
  const r = await fetch("/api/v1" + path, Object.assign({headers: {"Content-Type": "application/json"}}, opts));
  const body = await r.json().catch(() => ({error: r.statusText}));
  if (!r.ok) throw Object.assign(new Error(body.error || r.statusText), {body, status: r.status});
  return body;
}

// A server refusal in words: the fields it names, in the desk's language, and its own sentence after.
function refusal(e) {
  const fields = e.body && e.body.fields ? Object.keys(e.body.fields) : [];
  if (fields.length) {
    const named = fields.map((f) => T[lang]["f_" + f] || f).join(lang === "zh" ? "、" : ", ");
    const detail = fields.map((f) => String(e.body.fields[f])).join("; ");
    return `${t("bad_input", {fields: named})} (${detail})`;
  }
  return t("failed", {msg: e.message});
}

// A rule's reason comes as "中文 · English": the desk shows the half in its language (the whole if unsure).
function inLanguage(message) {
  const halves = String(message).split(" · ");
  return halves.length === 2 ? halves[lang === "zh" ? 0 : 1] : message;
}

function say(el, text) { el.textContent = text || ""; el.hidden = !text; }

// --- search: typing searches; arrows move the highlight; Enter takes the highlighted result ---
function ensureResults() {
  const q = $("#q").value.trim();
  if (resultsFor === q) return Promise.resolve();
  if (searching && searchingFor === q) return searching;
  clearTimeout(searchTimer);
  searchingFor = q;
  searching = doSearch(q).finally(() => { if (searchingFor === q) { searching = null; searchingFor = null; } });
  return searching;
}

async function doSearch(q) {
  if (!q) { results = []; resultsFor = q; sel = -1; drawResults(); return; }
  const body = await api("/gate/search", {method: "POST", body: JSON.stringify({q})});
  if ($("#q").value.trim() !== q) return;  // typed on since: this answer is stale
  results = body.results; resultsFor = q; sel = results.length ? 0 : -1; drawResults();
}

let searchTimer = null;
$("#q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(ensureResults, 120); });
$("#q").addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const step = e.key === "ArrowDown" ? 1 : -1;
    ensureResults().then(() => { if (results.length) { sel = Math.max(0, Math.min(sel + step, results.length - 1)); drawResults(); } });
  } else if (e.key === "Enter") {
    e.preventDefault();
    ensureResults().then(() => { if (results.length) choose(results[Math.max(sel, 0)]); });
  }
});

function drawResults() {
  const ol = $("#results");
  if (!results.length) {
    ol.innerHTML = resultsFor && $("#q").value.trim() === resultsFor ? `<li class="none">${esc(t("none"))}</li>` : "";
    return;
  }
  ol.innerHTML = results.map((r, i) => `<li role="option" id="res${i}" data-i="${i}" aria-selected="${i === sel}" class="${i === sel ? "sel" : ""}">` +
    `<b>${esc(r.label)}</b> <small>[${esc(t("kind_" + r.kind))}] ${esc(r.detail || "")}</small></li>`).join("");
  $("#q").setAttribute("aria-activedescendant", sel >= 0 ? "res" + sel : "");
  ol.querySelectorAll("li[data-i]").forEach((li) => li.addEventListener("click", () => choose(results[+li.dataset.i])));
  const cur = ol.querySelector("li.sel"); if (cur) cur.scrollIntoView({block: "nearest"});
}

async function choose(r) {
  $("#verdict").hidden = true;  // the last person's verdict must not be read as this one's
  say($("#formerror"), ""); say($("#temp_msg"), "");
  subject = {kind: r.kind, id: r.id, label: r.label, household_id: r.household_id};
  results = []; resultsFor = null; drawResults();
  showSubject();
  card = null; $("#card").hidden = true;
  if (r.household_id) await showCard(r.household_id);
  $("#temp").focus();
}

function showSubject() {
  // Plain characters, not emoji: a gate laptop rarely has an emoji font.
  $("#subject").textContent = subject ? `[${t("kind_" + subject.kind)}] ${subject.label}` : t("no_subject");
}

// --- the household card: rules in words, members numbered for Alt+1…9 ---
async function showCard(hid) {
  card = await api("/gate/households/" + encodeURIComponent(hid));
  drawCard();
}

function cardStatus(c) {
  if (c.rules.level === "quarantine") return [false, t("quarantine")];
  if (c.fevers && c.fevers.length) return [false, t("fever_open")];
  const text = (c.may_go_out ? t("may") : t("may_not")) +
    (c.outings_left !== null ? ` · ${t("left", {n: c.outings_left})}` : "") +
    (c.next_outing_at ? ` · ${t("next", {t: local(c.next_outing_at)})}` : "");
  return [c.may_go_out, text];
}

function drawCard() {
  const c = card, el = $("#card"), r = c.rules;
  const [ok, status] = cardStatus(c);
  const limited = r.level === "semi_closed" || r.level === "closed";
  const words = [t("level_" + r.level), limited ? t("quota_words", {n: r.outing_quota, d: r.outing_days}) : t("no_quota"),
                 t("veh_" + r.vehicle_policy), t("fever_from", {t: r.fever_threshold})];
  const flagged = (c.household.notes || "").startsWith("门岗登记");  // desk.REGISTERED_AT_GATE
  el.innerHTML = `<h3>${esc(c.household.label)}${flagged ? ` <small class="flag">${esc(t("r_flag"))}</small>` : ""}</h3><p class="status ${ok ? "ok" : "no"}">${esc(status)}</p>` +
    `<p class="rules">${esc(t("rules"))}: ${esc(words.join(" · "))}</p>` +
    `<h4>${esc(t("residents"))} <small>${esc(c.residents.length > 1 ? t("pick_hint") : "")}</small></h4><ol class="members">` +
    c.residents.map((p, i) => `<li><button type="button" class="pick${subject && subject.id === p.id ? " chosen" : ""}" data-n="${i + 1}" ` +
      `data-id="${esc(p.id)}" data-name="${esc(p.name)}"><kbd>${i < 9 ? "Alt+" + (i + 1) : ""}</kbd> ${esc(p.name)} ` +
      `<small>${esc(p.phone || "")} ${p.party_member ? esc(t("party")) : ""}</small></button></li>`).join("") + `</ol>` +
    (c.passes.length ? `<h4>${esc(t("passes"))}</h4><ul>` + c.passes.map((p) => `<li>${esc(p.code)} ${esc(t("pass_" + p.kind))}` +
      `${p.revoked ? " · " + esc(t("revoked")) : ""}</li>`).join("") + `</ul>` : "") +
    (c.vehicles.length ? `<h4>${esc(t("vehicles"))}</h4><ul>` + c.vehicles.map((v) => `<li>${esc(v.plate)}</li>`).join("") + `</ul>` : "");
  el.hidden = false;
  el.querySelectorAll("button.pick").forEach((b) => b.addEventListener("click", () => pickMember(+b.dataset.n)));
}

function pickMember(n) {
  if (!card || !card.residents[n - 1]) return;
  const p = card.residents[n - 1];
  subject = {kind: "resident", id: p.id, label: p.name, household_id: card.household.id};
  showSubject(); drawCard(); $("#temp").focus();
}

// --- direction: large and coloured; back to the usual direction after each check unless locked ---
function direction() { return document.querySelector("input[name=direction]:checked").value; }
function setDirection(d) { document.querySelector(`input[value=${d}]`).checked = true; showDirection(); }
function showDirection() {
  const d = direction(), locked = $("#dirlock").checked;
  if (locked) usualDirection = d;
  $("#dirshow").className = "dirshow " + d;
  $("#dirword").textContent = t("dir_" + d);
  $("#dirnote").textContent = locked ? t("dir_locked") : d !== usualDirection ? t("dir_once") : "";
}
document.querySelectorAll("input[name=direction]").forEach((r) => r.addEventListener("change", showDirection));
$("#dirlock").addEventListener("change", () => { if (!$("#dirlock").checked) usualDirection = "out"; showDirection(); });

// --- temperature: an impossible value is a hint at the field, never sent as a verdict ---
function readTemperature() {
  const raw = $("#temp").value.trim().replace(",", ".").replace("。", ".");
  const msg = $("#temp_msg");
  if (!raw) { say(msg, t("temp_need")); return null; }
  const v = Number(raw);
  if (Number.isFinite(v) && v >= 34 && v <= 43) { say(msg, ""); return v; }
  const digits = raw.replace(/\D/g, "");
  const guess = /^(3[4-9]|4[0-2])\d$/.test(digits) ? digits.slice(0, 2) + "." + digits.slice(2) : null;
  msg.innerHTML = esc(t("temp_bad", {v: raw})) + (guess ? ` ${esc(t("temp_guess", {g: guess}))} ` +
    `<button type="button" id="temp_fix">${esc(t("temp_use", {g: guess}))}</button>` : "");
  msg.hidden = false;
  if (guess) $("#temp_fix").addEventListener("click", () => { $("#temp").value = guess; say(msg, ""); $("#temp").focus(); });
  $("#temp").select();
  return null;
}
$("#temp").addEventListener("input", () => say($("#temp_msg"), ""));

async function submitCheck(denyReason) {
  if (!subject) { say($("#formerror"), t("need_subject")); $("#q").focus(); return; }
  const temperature = readTemperature();
  if (temperature === null) { $("#temp").focus(); return; }
  const dir = direction();
  const body = {direction: dir, temperature, id_checked: $("#idchecked").checked};
  const op = $("#operator").value.trim(); if (op) body.operator = op;
  if (denyReason) body.deny_reason = denyReason;
  if (subject.kind === "visitor") body.visitor = subject.visitor;
  else {
    const key = {household: "household_id", resident: "resident_id", pass: "code", vehicle: "plate"}[subject.kind];
    body[key] = subject.kind === "pass" || subject.kind === "vehicle" ? subject.label : subject.id;
  }
  const v = $("#verdict");
  try {
    const r = await api("/gate/checks", {method: "POST", body: JSON.stringify(body)});
    say($("#formerror"), "");
    v.className = "verdict " + r.decision;
    v.innerHTML = `${esc(r.allowed ? t("allowed") : t("denied"))} · <span class="vdir">${esc(t("dir_" + dir))}</span> · ${esc(r.person.name || subject.label)}` +
      (r.reasons.length ? "<ul>" + r.reasons.map((x) => `<li data-code="${esc(x.code)}">${esc(inLanguage(x.message))}` +
        "</li>").join("") + "</ul>" : "");  // a quota refusal's message names the next outing's local time itself
    v.hidden = false;
    // Ready for the next person: nothing of this one stays selected, and the direction is the usual one again.
    $("#temp").value = ""; $("#q").value = ""; $("#idchecked").checked = false;
    subject = null; card = null; showSubject(); $("#card").hidden = true; results = []; resultsFor = null; drawResults();
    if (!$("#dirlock").checked) setDirection(usualDirection);
    refresh(); $("#q").focus();
  } catch (e) {
    v.hidden = true;
    say($("#formerror"), refusal(e));
  }
}

// --- a visitor, and a person missing from the register ---
$("#visitorform").addEventListener("submit", (e) => {
  e.preventDefault();
  const v = {name: $("#v_name").value.trim(), reason: $("#v_reason").value.trim()};
  const idn = $("#v_id").value.trim(), phone = $("#v_phone").value.trim();
  if (idn) v.id_number = idn;
  if (phone) v.phone = phone;
  subject = {kind: "visitor", label: v.name, visitor: v};
  ["#v_name", "#v_id", "#v_phone", "#v_reason"].forEach((s) => { $(s).value = ""; });
  $("#visitorbox").open = false; card = null; $("#card").hidden = true; $("#verdict").hidden = true;
  showSubject(); $("#temp").focus();
});

$("#registerform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const body = {room: $("#r_room").value.trim(), name: $("#r_name").value.trim()};
  const phone = $("#r_phone").value.trim(); if (phone) body.phone = phone;
  try {
    const r = await api("/gate/register", {method: "POST", body: JSON.stringify(body)});
    ["#r_room", "#r_name", "#r_phone"].forEach((s) => { $(s).value = ""; });
    say($("#r_msg"), "");
    $("#registerbox").open = false;
    await choose({kind: "resident", id: r.resident_id, label: r.name, household_id: r.household_id});
    say($("#formerror"), t("r_done", {name: r.name, room: r.label}));
    $("#formerror").className = "fieldmsg note";
  } catch (err) { say($("#r_msg"), refusal(err)); }
});

// --- denying on one's own judgement, in an in-page dialog ---
$("#checkform").addEventListener("submit", (e) => { e.preventDefault(); $("#formerror").className = "fieldmsg"; submitCheck(); });
$("#deny").addEventListener("click", () => {
  if (!subject) { say($("#formerror"), t("need_subject")); $("#q").focus(); return; }
  $("#deny_reason").value = ""; $("#denydlg").showModal(); $("#deny_reason").focus();
});
$("#denyform").addEventListener("submit", () => { const r = $("#deny_reason").value.trim(); if (r) submitCheck(r); });
$("#deny_cancel").addEventListener("click", () => $("#denydlg").close());

// --- fever alerts: acknowledged at the desk with a note (the coordinator closes them) ---
let ackId = null;
$("#ack_cancel").addEventListener("click", () => $("#ackdlg").close());
$("#ackform").addEventListener("submit", async (e) => {
  e.preventDefault();
  const note = $("#ack_note").value.trim();
  if (!note) { say($("#ack_msg"), t("ack_need")); return; }
  const who = $("#operator").value.trim();
  try {
    await api("/rows/incidents/" + encodeURIComponent(ackId), {method: "PATCH", body: JSON.stringify(
      {status: "investigating", notes: `${note} (${local(new Date().toISOString())}${who ? " " + who : ""})`})});
    $("#ackdlg").close(); refresh();
  } catch (err) { say($("#ack_msg"), refusal(err)); }
});

$("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("menwei.lang", lang); applyLang(); refresh(); duty(); });
document.addEventListener("keydown", (e) => {
  if (document.querySelector("dialog[open]")) return;
  if (e.key === "Escape") { e.preventDefault(); $("#q").focus(); $("#q").select(); return; }
  if (e.key === "/" && document.activeElement.tagName !== "INPUT" && document.activeElement.tagName !== "TEXTAREA") { e.preventDefault(); $("#q").focus(); return; }
  if (!e.altKey && /^[1-9]$/.test(e.key) && document.activeElement.classList.contains("pick")) {
    e.preventDefault(); pickMember(+e.key); return;  // on the member list, a digit alone picks
  }
  if (!e.altKey) return;
  const k = e.key.toLowerCase();
  if (k === "o" || k === "i") { e.preventDefault(); setDirection(k === "o" ? "out" : "in"); }
  else if (k === "l") { e.preventDefault(); $("#dirlock").checked = !$("#dirlock").checked; $("#dirlock").dispatchEvent(new Event("change")); }
  else if (k === "d") { e.preventDefault(); $("#deny").click(); }
  else if (k === "v") { e.preventDefault(); $("#visitorbox").open = true; $("#v_name").focus(); }
  else if (k === "n") { e.preventDefault(); $("#registerbox").open = true; $("#r_room").focus(); }
  else if (/^Digit[1-9]$/.test(e.code)) { e.preventDefault(); pickMember(+e.code.slice(5)); }
});

function alertText(a) {
  if (a.temperature == null) return `${a.title} · ${local(a.opened_at)}`;
  return [a.person_name, a.room !== a.person_name ? a.room : null, `${Number(a.temperature).toFixed(1)} °C`, a.gate, local(a.opened_at)].filter(Boolean).join(" · ");
}

async function refresh() {
  try {
    const ev = await api("/gate/events?limit=15");
    $("#events tbody").innerHTML = ev.events.map((e) => `<tr><td>${esc(local(e.at))}</td><td>${esc(e.person_name || "")}</td>` +
      `<td>${esc(t("dir_" + e.direction))}</td><td>${e.temperature ?? ""}</td>` +
      `<td class="${esc(e.decision)}">${esc(e.decision === "allowed" ? t("allowed") : t("denied"))}</td></tr>`).join("");
    const al = await api("/gate/alerts");
    $("#alerts").innerHTML = al.alerts.map((a) => `<div class="alert"><span>${esc(t("fever_alert"))}: ${esc(alertText(a))}</span>` +
      ` <button type="button" class="ack" data-id="${esc(a.id)}" data-title="${esc(alertText(a))}">${esc(t("ack"))}</button></div>`).join("");
    $("#alerts").querySelectorAll("button.ack").forEach((b) => b.addEventListener("click", () => {
      ackId = b.dataset.id; $("#ack_title").textContent = b.dataset.title; $("#ack_note").value = "";
      say($("#ack_msg"), ""); $("#ackdlg").showModal(); $("#ack_note").focus();
    }));
  } catch (e) { /* the next round will try again */ }
}

async function syncStatus() {
  const el = $("#sync");
  try {
    const s = await api("/sync/status");
    if (!s.enrolled) { el.className = "sync offline"; el.textContent = t("unenrolled"); return; }
    if (s.upgrade_required) { el.className = "sync alarm"; el.textContent = t("upgrade"); el.title = s.last_error || ""; return; }
    if (s.skew_alarm) { el.className = "sync alarm"; el.textContent = t("alarm", {s: Math.round((s.skew_ms || 0) / 1000)}); return; }
    const fresh = s.last_success_ms && (!s.last_attempt_ms || s.last_success_ms >= s.last_attempt_ms) && !s.last_error;
    el.className = "sync " + (fresh ? "online" : "offline");
    el.textContent = fresh ? t("online") : t("offline", {n: s.pending});
    el.title = s.last_error || "";
    if (s.parked && s.parked.length) {  // changes the hub refused by its write policy: kept here, never sent again
      el.className = "sync alarm";
      el.textContent += " · " + t("parked", {n: s.parked.length});
    }
  } catch (e) { el.className = "sync offline"; el.textContent = t("offline", {n: "?"}); }
}

async function duty() {
  // The shift on duty at this gate's post: check in/out here, read and leave handover notes.
  const box = $("#duty");
  try {
    const d = await api("/roster/on-duty");
    const mine = d.posts.filter((p) => p.post.node_id === document.body.dataset.node);
    if (!mine.length) { box.innerHTML = ""; return; }
    const post = mine[0].post, shift = mine[0].on_duty[0];
    const notes = (await api("/roster/handovers?post_id=" + encodeURIComponent(post.id))).handovers;
    let html = `<b>${esc(t("duty"))} · ${esc(post.name)}</b> `;
    if (shift) {
      html += `${esc(shift.volunteer || "?")} ${esc(local(shift.starts_at))}–${esc(local(shift.ends_at))} `;
      html += !shift.checked_in_at ? `<button id="checkin" type="button">${esc(t("check_in"))}</button>`
        : !shift.checked_out_at ? `<button id="checkout" type="button">${esc(t("check_out"))}</button>` : "";
    } else { html += `<span class="nobody">${esc(t("nobody"))}</span>`; }
    if (notes.length) html += `<div class="handover">${esc(t("handover"))}: ${esc(notes[0].note)} <small>${esc(local(notes[0].written_at))}</small></div>`;
    html += `<textarea id="handnote" rows="2" placeholder="${esc(t("handover_ph"))}"></textarea><button id="handsave" type="button">${esc(t("handover_save"))}</button>`;
    box.innerHTML = html;
    const act = async (what) => { await api(`/roster/shifts/${encodeURIComponent(shift.id)}/${what}`, {method: "POST"}); duty(); };
    if ($("#checkin")) $("#checkin").addEventListener("click", () => act("check-in"));
    if ($("#checkout")) $("#checkout").addEventListener("click", () => act("check-out"));
    $("#handsave").addEventListener("click", async () => {
      const note = $("#handnote").value.trim();
      if (!note) return;
      await api("/roster/handovers", {method: "POST", body: JSON.stringify({post_id: post.id, shift_id: shift ? shift.id : null, note})});
      duty();
    });
  } catch (e) { /* rosters are optional */ }
}

applyLang(); refresh(); syncStatus(); duty();
setInterval(duty, 60000);
setInterval(syncStatus, 3000); setInterval(refresh, 10000);
