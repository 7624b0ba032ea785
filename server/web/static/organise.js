// The organiser's home: the challenges I run or judge, and a new challenge from a bundle zip.
(function () {
  const root = document.querySelector("[data-organise-page]");
  if (!root) return;
  const { token, headers, messages, cell, showError, fillTable } = window.riality;
  const t = messages(root), state = messages(root, "states");
  if (!token) { root.querySelector("[data-signin]").hidden = false; return; }
  root.querySelectorAll("[data-signed]").forEach((el) => { el.hidden = false; });

  async function loadMine() {
    const response = await fetch("/api/me/challenges", { headers });
    if (!response.ok) return;
    fillTable(root, "[data-mine]", await response.json(), (row, c) => {
      row.dataset.slug = c.slug;
      cell(row, c.title, true);
      cell(row, state("state." + c.state));
      cell(row, t("organise.role_" + c.staff_role));
      const link = document.createElement("a");
      link.href = c.staff_role === "organiser" ? `/c/${c.slug}/admin` : `/c/${c.slug}/judge`;
      link.textContent = t(c.staff_role === "organiser" ? "organise.manage" : "organise.judge", { title: c.title });
      cell(row, link);
    });
  }
  const form = root.querySelector("[data-new-challenge]");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = root.querySelector("[data-report-message]"), list = root.querySelector("[data-problems]");
    message.textContent = t("organise.checking"); list.replaceChildren();
    const body = new FormData();
    body.append("bundle", form.bundle.files[0]);
    const response = await fetch("/api/challenges", { method: "POST", headers, body });
    if (!response.ok) { await showError(response, message, list); return; }
    const created = await response.json();
    message.textContent = t("organise.created", { slug: created.slug });
    const link = document.createElement("a");
    link.href = `/c/${created.slug}/admin`; link.textContent = t("organise.manage", { title: created.title });
    const item = document.createElement("li"); item.append(link); list.append(item);
    for (const line of created.import_report || []) {  // from another platform: read before publishing
      const note = document.createElement("li"); note.textContent = line; list.append(note);
    }
    form.reset();
    loadMine();
  });
  loadMine();
})();
