"use strict";
// The management page: nodes, control rules, passes and accounts, all through /api/v1.
(() => {
  const {el, row, api, send, post, say, local} = window.Menwei;
  const isHub = document.body.dataset.hub === "yes";
  const ROLE = {coordinator: "协调员 coordinator", operator: "门岗 gate operator", volunteer: "楼栋志愿者 building volunteer",
                viewer: "查看 viewer"};
  const LEVEL = {open: "开放 open", semi_closed: "半封闭 semi-closed", closed: "封闭 closed", quarantine: "隔离 quarantine"};
  const VEHICLES = {free: "车辆自由 vehicles free", exit_only: "车辆只出不进 vehicles exit only", banned: "车辆禁行 vehicles banned"};
  const FIELD = {level: "级别 level", outing_quota: "每户外出次数 outings per household", outing_days: "天数 days",
                 vehicle_policy: "车辆 vehicles", fever_threshold: "发热线 fever threshold",
                 work_pass_needs_certificate: "工作证需单位证明 work pass needs a certificate"};
  const shown = (field, v) => field === "level" ? LEVEL[v] : field === "vehicle_policy" ? VEHICLES[v]
    : typeof v === "boolean" ? (v ? "是 yes" : "否 no") : String(v);
  let pendingRule = null;
  let buildings = {};

  const formData = (form) => Object.fromEntries([...new FormData(form)].filter(([, v]) => v !== ""));
  function onSubmit(id, handler) {
    const form = document.getElementById(id);
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try { await handler(form, formData(form)); } catch (e) { say(e.message, true); }
    });
  }
  const allRows = async (table) => (await api(`/api/v1/rows/${table}?limit=1000`)).rows;

  async function loadPlaces() {
    const [compounds, bs] = await Promise.all([allRows("compounds"), allRows("buildings")]);
    buildings = Object.fromEntries(bs.map((b) => [b.id, b]));
    for (const sel of document.querySelectorAll("select.compounds")) {
      sel.replaceChildren(...compounds.map((c) => { const o = el("option", c.name); o.value = c.id; return o; }));
    }
    const sorted = bs.sort((a, b) => a.number.localeCompare(b.number, "zh", {numeric: true}));
    for (const sel of document.querySelectorAll("select.buildings")) {
      const keep = [...sel.querySelectorAll("option[value='']")];
      sel.replaceChildren(...keep, ...sorted.map((b) => { const o = el("option", b.name || `${b.number}栋`); o.value = b.id; return o; }));
    }
  }

  async function loadNodes() {
    if (!isHub) return;
    const tbody = document.querySelector("#nodes tbody");
    const {nodes} = await api("/api/v1/nodes");
    tbody.replaceChildren();
    for (const n of nodes) {
      const act = el("span");
      if (n.revoked) act.textContent = "已吊销 revoked";
      else {
        const b = el("button", "吊销 Revoke");
        b.className = "revoke";
        b.addEventListener("click", async () => {
          if (!confirm(`吊销 ${n.id}？该电脑将无法同步。Revoke ${n.id}? It will no longer sync.`)) return;
          try { await post(`/api/v1/nodes/${encodeURIComponent(n.id)}/revoke`, {}); say(`${n.id} 已吊销 revoked`); loadNodes(); }
          catch (e) { say(e.message, true); }
        });
        act.append(b);
      }
      const skew = n.skew_ms === null ? "" : `${Math.round(n.skew_ms / 1000)} s`;
      const tr = row([n.id, n.label, local(n.last_seen_ms ? new Date(n.last_seen_ms).toISOString() : null), n.pending,
                      skew, n.schema_version, act]);
      tr.dataset.node = n.id;
      tbody.append(tr);
    }
  }

  async function loadRules() {
    const rules = (await allRows("control_rules")).sort((a, b) => b.effective_from.localeCompare(a.effective_from));
    const tbody = document.querySelector("#rules tbody");
    tbody.replaceChildren(...rules.map((r) => row([
      local(r.effective_from), r.building_id ? (buildings[r.building_id] || {}).number + " 栋" : "全小区 compound",
      // each row shows what it changes; a blank cell inherits what was in force before it
      LEVEL[r.level] || "", [r.outing_quota != null ? `${r.outing_quota} 次 times` : "",
                             r.outing_days != null ? `${r.outing_days} 天 days` : ""].filter(Boolean).join(" / "),
      r.vehicle_policy ? VEHICLES[r.vehicle_policy] : "", r.fever_threshold ?? ""])));
  }

  function ruleScope() {
    const form = document.getElementById("add-rule");
    return {compound_id: form.compound_id.value, building_id: form.building_id.value};
  }

  async function loadRuleInForce() {
    const {compound_id, building_id} = ruleScope();
    if (!compound_id) return;
    const q = new URLSearchParams({compound_id, ...(building_id ? {building_id} : {})});
    const {rules} = await api(`/api/v1/gate/rules?${q}`);
    document.getElementById("rule-in-force").textContent = "现行规则 In force now: " + [
      LEVEL[rules.level], `每户 ${rules.outing_quota} 次 / ${rules.outing_days} 天 (${rules.outing_quota} per ${rules.outing_days} days)`,
      VEHICLES[rules.vehicle_policy], `发热 fever ≥ ${rules.fever_threshold}°C`].join(" · ");
  }

  function hidePreview() { document.getElementById("rule-preview").hidden = true; pendingRule = null; }

  async function loadAccounts() {
    const {accounts} = await api("/api/v1/accounts");
    const tbody = document.querySelector("#accounts tbody");
    tbody.replaceChildren();
    const atHub = document.body.dataset.hub === "yes";  // a node shows accounts but cannot change them
    for (const a of accounts) {
      const b = atHub ? el("button", a.active ? "停用 Deactivate" : "启用 Activate") : "";
      if (atHub) b.addEventListener("click", async () => {
        if (a.active && !confirm(`停用 ${a.username}？此人将无法登录。Deactivate ${a.username}? They can no longer sign in.`)) return;
        try { await send("PATCH", `/api/v1/accounts/${a.id}`, {active: !a.active}); loadAccounts(); }
        catch (e) { say(e.message, true); }
      });
      const tr = row([a.username, a.display_name, ROLE[a.role] || a.role, a.active ? "✓" : "—", b]);
      tr.dataset.username = a.username;
      tbody.append(tr);
    }
  }

  onSubmit("add-node", async (form, data) => {
    const r = await post("/api/v1/nodes", data);
    document.getElementById("enrol-code").textContent =
      `登记码 enrolment code: ${r.code} — menwei node enroll --hub ${location.origin} --code ${r.code}`;
    form.reset(); loadPlaces(); loadNodes();
  });
  onSubmit("add-rule", async (form, data) => {
    // A rule row states only what it changes: fields left "unchanged" are not sent, and inherit.
    for (const k of ["outing_quota", "outing_days"]) if (k in data) data[k] = parseInt(data[k], 10);
    if ("fever_threshold" in data) data.fever_threshold = parseFloat(data.fever_threshold);
    // left empty, a rule takes effect now by the server's clock (a desk computer's clock may be off)
    if (data.effective_from) data.effective_from = new Date(data.effective_from).toISOString();
    const {changes, row} = await post("/api/v1/gate/rules/preview", data);
    if (!changes.length) { hidePreview(); say("此规则不改变现行规则 this rule changes nothing in force", true); return; }
    pendingRule = row;
    document.getElementById("rule-changes").replaceChildren(...changes.map((c) =>
      el("li", `${FIELD[c.field]}: ${shown(c.field, c.before)} → ${shown(c.field, c.after)}`)));
    const box = document.getElementById("rule-preview");
    box.hidden = false;
    document.getElementById("publish-rule").focus();
  });
  document.getElementById("publish-rule").addEventListener("click", async () => {
    if (!pendingRule) return;
    try {
      await post("/api/v1/rows/control_rules", pendingRule);
      hidePreview();
      const form = document.getElementById("add-rule");  // the scope stays chosen; the changes are cleared
      for (const name of ["level", "outing_quota", "outing_days", "vehicle_policy", "fever_threshold", "effective_from"]) form[name].value = "";
      say("规则已发布 rule published; gates get it at their next sync");
      await Promise.all([loadRules(), loadRuleInForce()]);
    } catch (e) { say(e.message, true); }
  });
  document.getElementById("cancel-rule").addEventListener("click", hidePreview);
  for (const name of ["compound_id", "building_id"]) {
    document.getElementById("add-rule")[name].addEventListener("change", () => { hidePreview(); loadRuleInForce().catch((e) => say(e.message, true)); });
  }
  onSubmit("batch-passes", async (form, data) => {
    if (data.valid_until) data.valid_until = new Date(data.valid_until + "T23:59:59").toISOString();
    const r = await post("/api/v1/gate/passes/batch", data);
    say(`发证 issued ${r.issued.length}, 已有 already had ${r.skipped}`);
    const link = document.getElementById("print-link");
    link.href = `/passes/print?building_id=${encodeURIComponent(data.building_id)}`;
    link.hidden = false;
  });
  onSubmit("revoke-pass", async (form, data) => {
    const found = (await api(`/api/v1/rows/passes?code=${encodeURIComponent(data.code.trim().toUpperCase())}`)).rows;
    if (!found.length) throw new Error(`无此证 no pass ${data.code}`);
    await post(`/api/v1/gate/passes/${found[0].id}/revoke`, {reason: data.reason});
    say(`${found[0].code} 已作废 revoked`); form.reset();
  });
  onSubmit("import-register", async (form) => {
    say("导入中 importing…");
    const r = await api("/api/v1/registry/import", {method: "POST", body: new FormData(form)});
    say(`${r.rows} 行 rows: 新增 ${r.created} created, 更新 ${r.updated} updated, 未变 ${r.unchanged} unchanged, ` +
        `拒绝 ${r.refused.length} refused`);
    document.getElementById("import-report").replaceChildren(
      ...r.refused.map(([n, why]) => el("li", `第 ${n} 行 row ${n}: ${why}`)),
      ...r.kept_newer.map(([n, name, f]) => el("li", `第 ${n} 行 row ${n}: ${name} 的 ${f} 在系统中更新过，保留 kept the newer value`)));
    loadPlaces();
  });
  onSubmit("add-account", async (form, data) => {
    await post("/api/v1/accounts", data);
    say(`账号 ${data.username} 已添加 added`); form.reset(); loadAccounts();
  });

  (async () => {
    try { await loadPlaces(); await Promise.all([loadNodes(), loadRules(), loadRuleInForce(), loadAccounts()]); }
    catch (e) { say(e.message, true); }
  })();
})();
