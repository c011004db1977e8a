// Menwei gate desk. Plain JavaScript, no libraries, no network but this node.
"use strict";
const T = {
  zh: {title: "门卫 · 值守台", checking: "检查网络…", search_label: "房号 / 姓名 / 拼音 / 车牌 / 通行证（按 / 聚焦）",
       no_subject: "未选择人员", out: "出 (Alt+O)", in: "进 (Alt+I)", temperature: "体温 °C", id_checked: "已核对身份证",
       operator: "值班员", check: "核验放行 (Enter)", deny: "拒绝… (Alt+D)", recent: "本门最近记录", time: "时间",
       who: "人员", dir: "方向", decision: "结果", online: "在线 · 已同步", offline: "离线 · {n} 条待同步",
       alarm: "时钟偏差 {s} 秒！请校准本机时间", allowed: "放行", denied: "禁止通行", may: "今天可外出",
       may_not: "今天不可外出", left: "剩余外出次数 {n}", next: "下次可外出 {t}", residents: "住户",
       passes: "通行证", vehicles: "车辆", deny_reason: "拒绝原因：", fever_alert: "发热警报", none: "无结果",
       unenrolled: "本机尚未注册到中心", upgrade: "需升级门卫软件才能同步（记录已保存）", quarantine: "楼栋隔离中", rules: "规则", veh: "车辆", fever_line: "发热线",
       party: "党员", duty: "值班", check_in: "签到", check_out: "签退", nobody: "此时无人排班！",
       handover: "交接", handover_ph: "交接留言…", handover_save: "留言", visitor: "访客/快递登记 (Alt+V)",
       v_name: "姓名", v_id: "身份证号", v_phone: "电话", v_reason: "事由", v_use: "登记此人"},
  en: {title: "Menwei · Gate desk", checking: "Checking network…", search_label: "Room / name / pinyin / plate / pass code (press /)",
       no_subject: "Nobody selected", out: "Out (Alt+O)", in: "In (Alt+I)", temperature: "Temperature °C",
       id_checked: "ID card checked", operator: "Operator", check: "Check (Enter)", deny: "Deny… (Alt+D)",
       recent: "Latest at this gate", time: "Time", who: "Who", dir: "Dir", decision: "Result",
       online: "Online · synced", offline: "Offline · {n} changes waiting", alarm: "Clock off by {s} s! Fix this computer's time",
       allowed: "ALLOWED", denied: "DENIED", may: "May go out today", may_not: "May not go out today",
       left: "Outings left {n}", next: "Next outing from {t}", residents: "Residents", passes: "Passes",
       vehicles: "Vehicles", deny_reason: "Reason for denying:", fever_alert: "FEVER ALERT", none: "No match",
       unenrolled: "This node is not enrolled with a hub yet", upgrade: "Upgrade Menwei to sync (records are kept)", quarantine: "Building under quarantine", rules: "Rules",
       veh: "vehicles", fever_line: "fever from", party: "party member", duty: "On duty", check_in: "Check in",
       check_out: "Check out", nobody: "Nobody is rostered now!", handover: "Handover", handover_ph: "Note for the next shift…",
       handover_save: "Save note", visitor: "Visitor / delivery (Alt+V)", v_name: "Name", v_id: "ID number",
       v_phone: "Phone", v_reason: "Reason", v_use: "Register this person"},
};
let lang = localStorage.getItem("menwei.lang") || "zh";
const t = (k, vars) => (T[lang][k] || k).replace(/\{(\w+)\}/g, (_, v) => (vars || {})[v]);
const $ = (s) => document.querySelector(s);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));
const local = (iso) => iso ? new Date(iso).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {timeZone: "Asia/Shanghai", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"}) : "";
let results = [], sel = -1, subject = null;

function applyLang() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  $("#lang").textContent = lang === "zh" ? "English" : "中文";
  if (subject) showSubject();
}

async function api(path, opts) {
  const r = await fetch("/api/v1" + path, Object.assign({headers: {"Content-Type": "application/json"}}, opts));
  const body = await r.json().catch(() => ({error: r.statusText}));
  if (!r.ok) throw Object.assign(new Error(body.error || r.statusText), {body});
  return body;
}

let searchTimer = null;
$("#q").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(doSearch, 120); });
$("#q").addEventListener("keydown", (e) => {
  if (e.key === "ArrowDown") { sel = Math.min(sel + 1, results.length - 1); drawResults(); e.preventDefault(); }
  else if (e.key === "ArrowUp") { sel = Math.max(sel - 1, 0); drawResults(); e.preventDefault(); }
  else if (e.key === "Enter") {
    e.preventDefault();
    clearTimeout(searchTimer);
    doSearch().then(() => { if (results.length) choose(results[Math.max(sel, 0)]); });
  }
});

async function doSearch() {
  const q = $("#q").value.trim();
  if (!q) { results = []; drawResults(); return; }
  const body = await api("/gate/search", {method: "POST", body: JSON.stringify({q})});
  results = body.results; sel = results.length ? 0 : -1; drawResults();
}

function drawResults() {
  const ol = $("#results");
  if (!results.length && $("#q").value.trim()) { ol.innerHTML = `<li class="none">${esc(t("none"))}</li>`; return; }
  ol.innerHTML = results.map((r, i) => `<li role="option" data-i="${i}" class="${i === sel ? "sel" : ""}">` +
    `<b>${esc(r.label)}</b> <small>${esc(r.kind)} ${esc(r.detail || "")}</small></li>`).join("");
  ol.querySelectorAll("li[data-i]").forEach((li) => li.addEventListener("click", () => choose(results[+li.dataset.i])));
}

async function choose(r) {
  $("#verdict").hidden = true;  // the last person's verdict must not be read as this one's
  subject = {kind: r.kind, id: r.id, label: r.label, household_id: r.household_id};
  showSubject();
  if (r.household_id) await showCard(r.household_id);
  $("#temp").focus();
}

function showSubject() {
  // Plain characters, not emoji: a gate laptop rarely has an emoji font.
  const names = lang === "zh" ? {household: "[户]", resident: "[人]", pass: "[证]", vehicle: "[车]", visitor: "[访客]"}
    : {household: "[home]", resident: "[person]", pass: "[pass]", vehicle: "[car]", visitor: "[visitor]"};
  $("#subject").textContent = subject ? `${names[subject.kind] || ""} ${subject.label}` : t("no_subject");
}

async function showCard(hid) {
  const c = await api("/gate/households/" + encodeURIComponent(hid));
  const card = $("#card");
  const status = c.rules.level === "quarantine" ? `<p class="status no">${esc(t("quarantine"))}</p>` :
    `<p class="status ${c.may_go_out ? "ok" : "no"}">${esc(c.may_go_out ? t("may") : t("may_not"))}` +
    (c.outings_left !== null ? ` · ${esc(t("left", {n: c.outings_left}))}` : "") +
    (c.next_outing_at ? ` · ${esc(t("next", {t: local(c.next_outing_at)}))}` : "") + `</p>`;
  card.innerHTML = `<h3>${esc(c.household.label)}</h3>${status}` +
    `<p><small>${esc(t("rules"))}: ${esc(c.rules.level)} · ${c.rules.outing_quota}/${c.rules.outing_days}d · ${esc(t("veh"))} ${esc(c.rules.vehicle_policy)} · ${esc(t("fever_line"))} ${c.rules.fever_threshold}°C</small></p>` +
    `<h4>${esc(t("residents"))}</h4><ol>` + c.residents.map((p, i) =>
      `<li class="pick" data-id="${esc(p.id)}" data-name="${esc(p.name)}">${esc(p.name)} <small>${esc(p.phone || "")} ${p.party_member ? esc(t("party")) : ""}</small></li>`).join("") + `</ol>` +
    (c.passes.length ? `<h4>${esc(t("passes"))}</h4><ul>` + c.passes.map((p) => `<li>${esc(p.code)} ${esc(p.kind)} ${p.revoked ? "✗" : ""}</li>`).join("") + `</ul>` : "") +
    (c.vehicles.length ? `<h4>${esc(t("vehicles"))}</h4><ul>` + c.vehicles.map((v) => `<li>${esc(v.plate)}</li>`).join("") + `</ul>` : "");
  card.hidden = false;
  card.querySelectorAll("li.pick").forEach((li) => li.addEventListener("click", () => {
    card.querySelectorAll("li.pick").forEach((x) => x.classList.remove("chosen"));
    li.classList.add("chosen");
    subject = {kind: "resident", id: li.dataset.id, label: li.dataset.name, household_id: hid};
    showSubject(); $("#temp").focus();
  }));
}

async function submitCheck(denyReason) {
  if (!subject) { $("#q").focus(); return; }
  const body = {direction: document.querySelector("input[name=direction]:checked").value,
                temperature: parseFloat($("#temp").value.replace(",", ".")), id_checked: $("#idchecked").checked};
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
    v.className = "verdict " + r.decision;
    v.innerHTML = `${esc(r.allowed ? t("allowed") : t("denied"))} · ${esc(r.person.name || subject.label)}` +
      (r.reasons.length ? "<ul>" + r.reasons.map((x) => `<li data-code="${esc(x.code)}">${esc(x.message)}` +
        (x.next_outing_at ? ` → ${esc(local(x.next_outing_at))}` : "") + "</li>").join("") + "</ul>" : "");
    v.hidden = false;
    // Ready for the next person: nothing of this one stays selected.
    $("#temp").value = ""; $("#q").value = ""; $("#idchecked").checked = false;
    subject = null; showSubject(); $("#card").hidden = true; results = []; drawResults();
    refresh(); $("#q").focus();
  } catch (e) {
    v.className = "verdict denied"; v.hidden = false;
    v.textContent = e.message + (e.body && e.body.fields ? " " + JSON.stringify(e.body.fields) : "");
  }
}

$("#v_use").addEventListener("click", () => {
  const v = {name: $("#v_name").value.trim(), reason: $("#v_reason").value.trim()};
  const idn = $("#v_id").value.trim(), phone = $("#v_phone").value.trim();
  if (idn) v.id_number = idn;
  if (phone) v.phone = phone;
  if (!v.name || !v.reason) { $("#v_name").focus(); return; }
  subject = {kind: "visitor", label: v.name, visitor: v};
  ["#v_name", "#v_id", "#v_phone", "#v_reason"].forEach((s) => { $(s).value = ""; });
  $("#visitorbox").open = false; $("#card").hidden = true; $("#verdict").hidden = true;
  showSubject(); $("#temp").focus();
});
$("#checkform").addEventListener("submit", (e) => { e.preventDefault(); submitCheck(); });
$("#deny").addEventListener("click", () => { const r = prompt(t("deny_reason")); if (r) submitCheck(r); });
$("#lang").addEventListener("click", () => { lang = lang === "zh" ? "en" : "zh"; localStorage.setItem("menwei.lang", lang); applyLang(); refresh(); });
document.addEventListener("keydown", (e) => {
  if (e.key === "/" && document.activeElement !== $("#q") && document.activeElement.tagName !== "INPUT") { e.preventDefault(); $("#q").focus(); }
  if (e.altKey && (e.key === "o" || e.key === "O")) document.querySelector("input[value=out]").checked = true;
  if (e.altKey && (e.key === "i" || e.key === "I")) document.querySelector("input[value=in]").checked = true;
  if (e.altKey && (e.key === "d" || e.key === "D")) $("#deny").click();
  if (e.altKey && (e.key === "v" || e.key === "V")) { $("#visitorbox").open = true; $("#v_name").focus(); }
});

async function refresh() {
  try {
    const ev = await api("/gate/events?limit=15");
    $("#events tbody").innerHTML = ev.events.map((e) => `<tr><td>${esc(local(e.at))}</td><td>${esc(e.person_name || "")}</td>` +
      `<td>${esc(e.direction === "out" ? (lang === "zh" ? "出" : "out") : (lang === "zh" ? "进" : "in"))}</td><td>${e.temperature ?? ""}</td>` +
      `<td class="${esc(e.decision)}">${esc(e.decision === "allowed" ? t("allowed") : t("denied"))}</td></tr>`).join("");
    const al = await api("/gate/alerts");
    $("#alerts").innerHTML = al.alerts.map((a) => `<div>${esc(t("fever_alert"))}: ${esc(a.title)} · ${esc(local(a.opened_at))}</div>`).join("");
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
