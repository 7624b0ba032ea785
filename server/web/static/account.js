// My account: personal API tokens for scripts and the command line (created, listed, revoked).
(function () {
  const root = document.querySelector("[data-account-page]");
  if (!root) return;
  const { token, headers, messages, cell, button, showError, fillTable } = window.riality;
  const t = messages(root);
  if (!token) { root.querySelector("[data-signin]").hidden = false; return; }
  root.querySelectorAll("[data-signed]").forEach((el) => { el.hidden = false; });
  const message = root.querySelector("[data-message]");
  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "");

  async function load() {
    const response = await fetch("/api/me/tokens", { headers });
    if (!response.ok) { await showError(response, message); return; }
    fillTable(root, "[data-tokens]", await response.json(), (row, k) => {
      row.dataset.token = k.id;
      cell(row, k.name, true);
      cell(row, t("account.scope_" + k.scope));
      cell(row, when(k.created_at));
      cell(row, k.expires_at ? when(k.expires_at) : t("account.never"));
      cell(row, k.last_used_at ? when(k.last_used_at) : t("account.unused"));
      cell(row, button(t("account.revoke", { name: k.name }), async () => {
        if (!confirm(t("account.confirm_revoke", { name: k.name }))) return;
        const done = await fetch(`/api/me/tokens/${k.id}`, { method: "DELETE", headers });
        if (!done.ok) { await showError(done, message); return; }
        message.textContent = t("account.revoked", { name: k.name });
        load();
      }));
    });
  }
  root.querySelector("[data-new-token]").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { name: form.name.value.trim(), scope: form.scope.value };
    const days = parseInt(form.days.value, 10);
    if (days > 0) body.expires_at = new Date(Date.now() + days * 86400000).toISOString();
    const response = await fetch("/api/me/tokens", { method: "POST", headers: { ...headers, "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!response.ok) { await showError(response, message); return; }
    const created = await response.json();
    root.querySelector("[data-secret]").hidden = false;
    root.querySelector("[data-secret-value]").value = created.token;
    message.textContent = t("account.created", { name: created.name });
    form.reset();
    load();
  });
  load();
})();
