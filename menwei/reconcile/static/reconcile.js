"use strict";
// The reconciliation page: everything is read from /api/v1 and written back through it; all text is set
// with textContent, so names typed at a gate can never become markup here.
(() => {
  const canAct = document.body.dataset.canAct === "yes";
  const form = document.getElementById("period");
  const KIND = {quota_exceeded: "超出外出次数 quota exceeded", pass_misused: "作废/过期通行证 bad pass used",
                out_twice: "两次外出未返回 out twice", duplicate_room: "同一房间登记两次 room registered twice"};

  const {el, row, api, post, say, local, ask} = window.Menwei;
  function query() {
    const p = new URLSearchParams();
    for (const k of ["from", "to"]) if (form.elements[k].value) p.set(k, form.elements[k].value);
    return p;
  }
  const show = (v) => v === null || v === undefined ? "（空 empty）" : (typeof v === "object" ? JSON.stringify(v) : String(v));

  async function loadNodes() {
    const body = await api("/api/v1/reconcile/nodes?" + query());
    const tbody = document.querySelector("#nodes tbody");
    tbody.replaceChildren();
    const only = form.elements.node.value;
    for (const n of body.nodes.filter((n) => !only || n.node_id === only)) {
      const spans = n.outages.map((o) => `${local(o.from)} – ${o.ongoing ? "至今 still offline" : local(o.to)} (${o.minutes} min)`);
      const link = el("a", n.place || n.node_id);  // the gate's name (place_name), its node id on hover
      link.href = "#"; link.dataset.node = n.node_id; link.title = n.node_id;
      link.addEventListener("click", (ev) => { ev.preventDefault(); loadNodeDetail(n.node_id); });
      const tr = row([link, local(n.last_seen), el("span", spans.join("; ") || "—", spans.length ? "offline" : ""),
                      n.outages.reduce((a, o) => a + o.events_captured, 0), n.late.total,
                      `${n.conflicts_open} / ${n.conflicts_total}`, `${n.violations_open} / ${n.violations_total}`]);
      tr.dataset.node = n.node_id;
      tbody.append(tr);
    }
  }

  async function loadNodeDetail(nodeId) {
    const r = await api(`/api/v1/reconcile/nodes/${encodeURIComponent(nodeId)}?` + query());
    const box = document.getElementById("node-detail");
    box.replaceChildren();
    const d = el("div", null, "detail");
    d.id = "outage-report";
    d.append(el("h3", `断网报告 Outage report: ${r.place || r.node_id}`));
    for (const o of r.outages) {
      d.append(el("p", `离线 offline ${local(o.from)} – ${o.ongoing ? "至今 now" : local(o.to)}: ` +
                       `${o.events_captured} 条登记 events captured`));
    }
    if (!r.outages.length) d.append(el("p", "期间无断网 no outage in this period"));
    d.append(el("p", `迟到数据 late arrivals: ${r.late.total} ` + JSON.stringify(r.late.counts)));
    const t = el("table");
    for (const e of r.late_events.slice(0, 200)) {
      t.append(row([local(e.at), e.direction === "out" ? "出 out" : "进 in", e.person_name, e.decision,
                    `到达 arrived ${local(e.arrived_at)} (+${Math.round(e.delay_s / 60)} min)`]));
    }
    d.append(t, el("p", `冲突 conflicts: ${r.conflicts.length} · 违规 violations: ${r.violations.length}`));
    box.append(d);
  }

  async function loadConflicts() {
    const p = query();
    if (form.elements.node.value) p.set("origin", form.elements.node.value);
    p.set("status", "open");
    const body = await api("/api/v1/conflicts?" + p);
    const tbody = document.querySelector("#conflicts tbody");
    tbody.replaceChildren();
    for (const c of body.conflicts) {
      const side = (s) => {
        const span = el("span");
        span.append(el("span", show(c[s + "_value"]), "value"),
                    el("span", ` ${c[s + "_origin"]} · ${local(c[s + "_at"])}`, "origin"));
        return span;
      };
      const actions = el("span");
      if (canAct) {
        for (const [keep, label] of [["winner", "保留当前值 Keep winner"], ["loser", "改用另一值 Choose other"]]) {
          const b = el("button", label);
          b.dataset.keep = keep;
          b.addEventListener("click", async () => {
            try { await post(`/api/v1/conflicts/${c.id}/resolve`, {keep}); say("已解决 resolved"); refresh(); }
            catch (e) { say(e.message, true); }
          });
          actions.append(b);
        }
      }
      const tr = row([`${c.table} ${c.row_label || c.row_id.slice(0, 8)}`, c.field, side("winner"), side("loser"), actions]);
      tr.dataset.conflict = c.id;
      tr.className = "open";
      tbody.append(tr);
    }
    if (!body.conflicts.length) tbody.append(row(["无待处理冲突 no open conflicts"]));
  }

  async function loadViolations() {
    const body = await api("/api/v1/reconcile/violations?" + query());
    const showAcked = document.getElementById("show-acked").checked;
    const only = form.elements.node.value;
    const tbody = document.querySelector("#violations tbody");
    tbody.replaceChildren();
    for (const v of body.violations) {
      if ((v.ack && !showAcked) || (only && !v.gates.includes(only))) continue;
      const action = el("span");
      if (v.ack) {
        action.className = "acked";
        action.append(el("span", `已处理 acknowledged by ${v.ack.acked_by}: `), el("span", v.ack.note, "note"));
      } else if (canAct) {
        if (v.kind === "duplicate_room") {
          for (const h of v.households) {
            const b = el("button", `保留 keep ${h.label || h.household_id.slice(0, 8)} (${h.registered_place || h.registered_by || "?"})`);
            b.className = "merge";
            b.addEventListener("click", async () => {
              const others = v.households.filter((x) => x.household_id !== h.household_id);
              const kept = `${h.label || ""} (${h.registered_place || h.registered_by || "?"})`;
              const gone = others.map((o) => `${o.label || ""} (${o.registered_place || o.registered_by || "?"})`).join("、");
              if (!await ask(`合并为 ${kept}？ Merge into ${kept}?`, {detail: `${gone} 的住户、通行证、订单和车辆移到 ${kept}，不能撤销。 ` +
                  `Residents, passes, orders and vehicles of ${gone} move over; this cannot be undone.`,
                  choices: [["ok", "合并 merge", "danger"]], cancel: "返回 back"})) return;
              try {
                for (const o of others) await post("/api/v1/households/merge", {keep: h.household_id, merge: o.household_id});
                say("已合并 merged"); refresh();
              } catch (e) { say(e.message, true); }
            });
            action.append(b);
          }
        }
        const note = el("input");
        note.placeholder = "处理说明 note"; note.name = "note";
        const b = el("button", "确认 Acknowledge");
        b.className = "ack";
        b.addEventListener("click", async () => {
          try { await post("/api/v1/reconcile/violations/ack", {kind: v.kind, key: v.key, note: note.value}); say("已确认 acknowledged"); refresh(); }
          catch (e) { say(e.message, true); }
        });
        action.append(note, b);
      }
      const tr = row([local(v.at), KIND[v.kind] || v.kind, v.message, (v.places || v.gates).join(", "), action]);
      tr.dataset.kind = v.kind; tr.dataset.key = v.key;
      tr.className = v.ack ? "" : "open";
      tbody.append(tr);
    }
  }

  async function refresh() {
    try { await Promise.all([loadNodes(), loadConflicts(), loadViolations()]); }
    catch (e) { say(e.message, true); }
  }
  form.addEventListener("submit", (ev) => { ev.preventDefault(); refresh(); });
  document.getElementById("show-acked").addEventListener("change", loadViolations);
  refresh();
})();
