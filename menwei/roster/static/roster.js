// The roster page: positions from data attributes, the forms, and removal after asking first.
"use strict";
(() => {
  const M = window.Menwei;
  // Placed from data attributes rather than style attributes, so the page needs no inline styles.
  document.querySelectorAll("[data-left]").forEach((el) => {
    el.style.left = el.dataset.left + "%";
    if (el.dataset.width) el.style.width = el.dataset.width + "%";
  });

  const FIELDS = {name: "名称 name", kind: "类型 kind", node_id: "值守台电脑 desk computer", building_id: "楼栋 building", phone: "电话 phone",
                  organisation: "单位 organisation", start_date: "开始日期 from", days: "天数 days",
                  shift_hours: "每班小时 hours", first_hour: "首班几点 first shift at", volunteer_ids: "志愿者 volunteers"};
  async function send(url, data, done) {
    try {
      const r = await fetch(url, {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
      const body = await r.json().catch(() => ({}));
      if (!r.ok) {
        const named = Object.keys(body.fields || {}).map((f) => FIELDS[f] || f).join("、");
        M.say(named ? `请检查 please check: ${named}` : `没有保存 not saved: ${body.error || r.statusText}`, true);
        return;
      }
      sessionStorage.setItem("menwei.roster.said", done(body));
      location.reload();
    } catch (e) { M.say(`没有保存 not saved: ${e.message}`, true); }
  }
  const said = sessionStorage.getItem("menwei.roster.said");
  if (said) { M.say(said); sessionStorage.removeItem("menwei.roster.said"); }

  const addPost = document.getElementById("addpost");
  if (addPost) addPost.addEventListener("submit", (e) => {
    e.preventDefault();
    const d = new FormData(addPost);
    const data = {name: d.get("name").trim(), kind: d.get("kind")};
    if (d.get("node_id")) data.node_id = d.get("node_id");
    if (d.get("building_id")) data.building_id = d.get("building_id");
    send("/api/v1/roster/posts", data, (b) => `已添加岗位 post added: ${b.name}`);
  });
  const addVol = document.getElementById("addvolunteer");
  if (addVol) addVol.addEventListener("submit", (e) => {
    e.preventDefault();
    const d = new FormData(addVol);
    const data = {name: d.get("name").trim()};
    for (const k of ["phone", "organisation"]) if (d.get(k).trim()) data[k] = d.get(k).trim();
    send("/api/v1/roster/volunteers", data, (b) => `已添加志愿者 volunteer added: ${b.name}`);
  });
  document.querySelectorAll("form.fill").forEach((f) => f.addEventListener("submit", (e) => {
    e.preventDefault();
    const d = new FormData(f);
    send("/api/v1/roster/fill", {post_id: f.dataset.post, start_date: d.get("start_date"), days: +d.get("days"),
      shift_hours: +d.get("shift_hours"), first_hour: +d.get("first_hour"), volunteer_ids: d.getAll("volunteer_ids")},
    (b) => `已排 ${b.created} 个班次 ${b.created} shifts planned`);
  }));

  // Posts and volunteers are edited through the rows API (a coordinator's), each field checked there.
  document.querySelectorAll("form.edit").forEach((f) => f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const data = Object.fromEntries(new FormData(f).entries());
    for (const k of Object.keys(data)) data[k] = data[k].trim() || null;
    try {
      const r = await fetch(`/api/v1/rows/${f.dataset.table}/${encodeURIComponent(f.dataset.id)}`,
        {method: "PATCH", headers: {"Content-Type": "application/json"}, body: JSON.stringify(data)});
      const body = await r.json().catch(() => ({}));
      if (!r.ok) {
        const named = Object.keys(body.fields || {}).map((k) => FIELDS[k] || k).join("、");
        M.say(named ? `请检查 please check: ${named}` : `没有保存 not saved: ${body.error || r.statusText}`, true);
        return;
      }
      sessionStorage.setItem("menwei.roster.said", `已保存 saved: ${data.name}`);
      location.reload();
    } catch (err) { M.say(`没有保存 not saved: ${err.message}`, true); }
  }));

  // Removing a shift asks first, in the page's own dialog.
  const dlg = document.getElementById("confirmdlg");
  let pending = null;
  document.querySelectorAll("button.remove").forEach((b) => b.addEventListener("click", () => {
    pending = b.dataset.shift;
    document.getElementById("confirmwhat").textContent = b.dataset.what;
    dlg.returnValue = "";
    dlg.showModal();
  }));
  dlg.addEventListener("close", async () => {
    if (dlg.returnValue !== "remove" || !pending) return;
    try {
      await M.api("/api/v1/rows/shifts/" + encodeURIComponent(pending), {method: "DELETE"});
      sessionStorage.setItem("menwei.roster.said", "已删除班次 shift removed");
      location.reload();
    } catch (e) { M.say(`没有删除 not removed: ${e.message}`, true); }
  });
})();
