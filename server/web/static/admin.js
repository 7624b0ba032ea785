// A challenge's admin page, for its organisers: lifecycle, settings, staff, submissions and their
// operations, bundle and exports, the audit log. Everything goes through the same API as scripts.
(function () {
  const root = document.querySelector("[data-admin-page]");
  if (!root) return;
  const { token, headers, messages, cell, button, showError, download } = window.riality;
  const t = messages(root), state = messages(root, "states"), status = messages(root, "statuses");
  const environmentState = messages(root, "environments");
  const slug = root.dataset.slug, api = `/api/challenges/${encodeURIComponent(slug)}`;
  const message = root.querySelector("[data-message]");
  const json = { ...headers, "content-type": "application/json" };
  const say = (text) => { message.textContent = text; };

  async function call(method, url, body, problems) {
    const response = await fetch(url, { method, headers: body instanceof FormData ? headers : json, body: body instanceof FormData || body === undefined ? body : JSON.stringify(body) });
    if (!response.ok) { await showError(response, message, problems); return null; }
    if (problems) problems.replaceChildren();
    return response.status === 204 ? {} : response.json();
  }
  const value = (v) => (v === null || v === undefined ? "" : v);

  async function loadDetail() {
    const response = await fetch(api, { headers });
    if (!response.ok) return null;
    const c = await response.json();
    if (c.staff_role !== "organiser") return null;
    root.querySelector("[data-title]").textContent = c.title;
    root.querySelector("[data-state]").textContent = state("state." + c.state);
    const allowed = { publish: "draft", close: "published", reveal: "closed" };
    root.querySelectorAll("[data-move]").forEach((b) => { b.disabled = allowed[b.dataset.move] !== c.state; });
    const form = root.querySelector("[data-settings]");
    form.title.value = c.title;
    for (const name of ["opens", "closes", "reveal"]) form[name].value = value(c[name]);
    for (const name of ["per_day", "invalid_per_day", "total", "team_size", "final_selections", "upload_mb"]) form[name].value = c.limits[name];
    showBaselines(c.baselines);
    return c;
  }
  function showBaselines(baselines) {
    // A model, code or program-scored baseline runs in a worker; a prediction file is scored at load.
    const body = root.querySelector("[data-baselines] tbody");
    body.replaceChildren();
    for (const b of baselines) {
      const row = document.createElement("tr");
      cell(row, b.name, true); cell(row, b.kind); cell(row, status("status." + b.state));
      const why = document.createElement("pre"); why.textContent = b.error || "";
      cell(row, b.error ? why : "");
      body.append(row);
    }
    if (!baselines.length) { const row = document.createElement("tr"); cell(row, t("admin.baseline_none")).colSpan = 4; body.append(row); }
    // What the API can run again: those a worker runs, once their last run is over.
    const runnable = (b) => b.kind !== "predictions" && ["scored", "failed"].includes(b.state);
    root.querySelector("[data-baselines-rerun]").disabled = !baselines.some(runnable);
  }
  async function loadStaff() {
    const rows = await call("GET", `${api}/staff`);
    const body = root.querySelector("[data-staff] tbody");
    body.replaceChildren();
    for (const s of rows || []) {
      const row = document.createElement("tr");
      cell(row, s.username, true); cell(row, t("admin.role_" + s.role));
      cell(row, button(t("admin.remove_staff", { name: s.username }), async () => {
        if (!confirm(t("admin.confirm_remove", { name: s.username }))) return;
        if (await call("DELETE", `${api}/staff/${encodeURIComponent(s.username)}`)) { say(t("admin.done")); refresh(); }
      }));
      body.append(row);
    }
  }
  async function loadSubmissions() {
    const filters = root.querySelector("[data-filters]");
    const query = new URLSearchParams({ limit: "200" });
    for (const name of ["team", "status", "kind"]) if (filters[name].value) query.set(name, filters[name].value);
    const rows = await call("GET", `${api}/submissions?${query}`);
    const body = root.querySelector("[data-subs] tbody");
    body.replaceChildren();
    for (const s of rows || []) {
      const row = document.createElement("tr");
      row.dataset.submission = s.id;
      cell(row, String(s.id), true); cell(row, s.team + (s.staff_test ? " " + t("admin.staff_test") : ""));
      cell(row, s.kind); cell(row, status("status." + s.status) + (s.disqualified ? " · " + t("admin.disqualified") : ""));
      cell(row, s.public_score === null ? "" : s.public_score.toFixed(4));
      cell(row, s.private_score === null ? "" : s.private_score.toFixed(4));
      cell(row, s.created_at.replace("T", " ").slice(0, 16));
      const actions = document.createElement("span");
      actions.className = "actions";
      if (["scored", "failed"].includes(s.status)) actions.append(button(t("admin.rescore", { id: s.id }), async () => {
        if (!confirm(t("admin.confirm_rescore", { id: s.id }))) return;
        if (await call("POST", `/api/submissions/${s.id}/rescore`)) { say(t("admin.rescore_started")); refresh(); }
      }));
      if (["queued", "running"].includes(s.status)) actions.append(button(t("admin.cancel", { id: s.id }), async () => {
        if (!confirm(t("admin.confirm_cancel", { id: s.id }))) return;
        if (await call("POST", `/api/submissions/${s.id}/cancel`)) { say(t("admin.done")); refresh(); }
      }));
      actions.append(button(t("admin.dq_this", { id: s.id }), () => {
        const form = root.querySelector("[data-disqualify]");
        form.kind.value = "submission_id"; form.id.value = s.id; form.reason.focus();
      }));
      cell(row, actions);
      body.append(row);
    }
  }
  async function loadDisqualifications() {
    const rows = await call("GET", `${api}/disqualifications`);
    const body = root.querySelector("[data-dqs] tbody");
    body.replaceChildren();
    for (const d of rows || []) {
      const row = document.createElement("tr");
      const target = d.team_id !== null ? t("admin.dq_team_n", { id: d.team_id }) : t("admin.dq_submission_n", { id: d.submission_id });
      cell(row, target, true); cell(row, d.reason);
      cell(row, button(t("admin.lift", { target }), async () => {
        if (!confirm(t("admin.confirm_lift", { target }))) return;
        if (await call("DELETE", `${api}/disqualifications/${d.id}`)) { say(t("admin.done")); refresh(); }
      }));
      body.append(row);
    }
  }
  async function loadAudit() {
    const rows = await call("GET", `${api}/audit?limit=50`);
    const body = root.querySelector("[data-audit] tbody");
    body.replaceChildren();
    for (const e of rows || []) {
      const row = document.createElement("tr");
      cell(row, e.at.replace("T", " ").slice(0, 19), true); cell(row, e.actor); cell(row, e.action); cell(row, e.target);
      const change = [e.before, e.after].map((v) => (v ? JSON.stringify(v) : "—")).join(" → ");
      const code = document.createElement("code"); code.textContent = change;
      cell(row, code);
      body.append(row);
    }
  }
  async function loadRescore() {
    const rows = await call("GET", `${api}/rescore`);
    const latest = rows && rows[0];
    root.querySelector("[data-rescore-progress]").textContent = latest
      ? t(latest.finished_at ? "admin.rescore_finished" : "admin.rescore_running", { done: latest.done, total: latest.total, failed: latest.failed })
      : "";
  }
  async function loadEnvironment() {
    const e = await call("GET", `${api}/environment`);
    if (!e) return;
    root.querySelector("[data-environment-state]").textContent = environmentState("environment." + e.state);
    root.querySelector("[data-environment-requested]").textContent = e.requested.length ? "(" + e.requested.join(", ") + ")" : t("admin.environment_default");
    root.querySelector("[data-environment-log]").textContent = e.log || "";
    root.querySelector("[data-environment-rebuild]").disabled = !e.requested.length || ["resolving", "building"].includes(e.state);
  }
  async function refresh() {
    await Promise.all([loadDetail(), loadStaff(), loadSubmissions(), loadDisqualifications(), loadAudit(), loadRescore(), loadEnvironment()]);
  }

  root.querySelectorAll("[data-move]").forEach((b) => b.addEventListener("click", async () => {
    if (b.dataset.move !== "publish" && !confirm(t("admin.confirm_" + b.dataset.move))) return;
    if (await call("POST", `${api}/${b.dataset.move}`)) { say(t("admin.done")); refresh(); }
  }));
  root.querySelector("[data-delete]").addEventListener("click", async () => {
    if (!confirm(t("admin.confirm_delete"))) return;
    if (await call("DELETE", api)) location.href = "/organise";
  });
  root.querySelector("[data-rescore-all]").addEventListener("click", async () => {
    if (!confirm(t("admin.confirm_rescore_all"))) return;
    if (await call("POST", `${api}/rescore`)) { say(t("admin.rescore_started")); refresh(); }
  });
  root.querySelector("[data-settings]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const schedule = {}, limits = {};
    for (const name of ["opens", "closes", "reveal"]) schedule[name] = form[name].value.trim() || null;
    for (const name of ["per_day", "invalid_per_day", "total", "team_size", "final_selections"]) limits[name] = parseInt(form[name].value, 10);
    limits.upload_mb = parseFloat(form.upload_mb.value);
    const saved = await call("PATCH", api, { title: form.title.value, schedule, limits }, root.querySelector("[data-settings-problems]"));
    if (saved) { say(t("admin.saved")); refresh(); }
  });
  root.querySelector("[data-staff-add]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (await call("POST", `${api}/staff`, { username: form.username.value.trim(), role: form.role.value })) {
      say(t("admin.done")); form.reset(); refresh();
    }
  });
  root.querySelector("[data-filters]").addEventListener("submit", (event) => { event.preventDefault(); loadSubmissions(); });
  root.querySelector("[data-disqualify]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!confirm(t("admin.confirm_disqualify"))) return;
    const body = { reason: form.reason.value, [form.kind.value]: parseInt(form.id.value, 10) };
    if (await call("POST", `${api}/disqualifications`, body)) { say(t("admin.done")); form.reset(); refresh(); }
  });
  root.querySelector("[data-baselines-rerun]").addEventListener("click", async () => {
    if (await call("POST", `${api}/baselines/rerun`)) { say(t("admin.baselines_queued")); refresh(); }
  });
  root.querySelector("[data-environment-rebuild]").addEventListener("click", async () => {
    if (await call("POST", `${api}/environment/rebuild`)) { say(t("admin.environment_queued")); refresh(); }
  });
  root.querySelector("[data-bundle-download]").addEventListener("click", async () => {
    const response = await download(`${api}/bundle`, `${slug}.zip`);
    if (!response.ok) await showError(response, message);
  });
  root.querySelectorAll("[data-export]").forEach((b) => b.addEventListener("click", async () => {
    const name = b.dataset.export.replace("?board=", "-");
    const response = await download(`${api}/export/${b.dataset.export}`, `${slug}-${name}`);
    if (!response.ok) await showError(response, message); else refresh();
  }));
  root.querySelector("[data-bundle-replace]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    if (!confirm(t("admin.confirm_replace"))) return;
    const body = new FormData(); body.append("bundle", form.bundle.files[0]);
    const replaced = await call("PUT", `${api}/bundle`, body, root.querySelector("[data-bundle-problems]"));
    if (replaced) { say(replaced.rescore ? t("admin.replaced_rescore", { total: replaced.rescore.total }) : t("admin.replaced")); form.reset(); refresh(); }
  });

  (async () => {
    if (!token || !(await loadDetail())) { root.querySelector("[data-denied]").hidden = false; return; }
    root.querySelector("[data-content]").hidden = false;
    refresh();
  })();
})();
