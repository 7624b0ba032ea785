// What the staff pages share: the signed-in user's token, translated messages, and showing an
// API error (with every problem of a 422) in place.
window.riality = (function () {
  const token = localStorage.getItem("riality.token");
  const headers = token ? { Authorization: "Bearer " + token } : {};
  function messages(root, attribute = "t") {
    const catalog = JSON.parse(root.dataset[attribute] || "{}");
    return (key, values = {}) => (catalog[key] || key).replace(/\{(\w+)\}/g, (_, name) => String(values[name] ?? ""));
  }
  function cell(row, text, header = false) {
    const c = document.createElement(header ? "th" : "td");
    if (header) c.scope = "row";
    if (text instanceof Node) c.append(text); else c.textContent = text === null || text === undefined ? "" : String(text);
    row.append(c);
    return c;
  }
  function button(text, onClick, extra = {}) {
    const b = document.createElement("button");
    b.type = "button"; b.textContent = text; Object.assign(b.dataset, extra);
    b.addEventListener("click", onClick);
    return b;
  }
  async function showError(response, message, list) {
    let body = {};
    try { body = await response.json(); } catch (e) { body = { detail: response.statusText }; }
    message.textContent = body.detail || String(response.status);
    if (list) {
      list.replaceChildren();
      for (const p of body.problems || []) {
        const item = document.createElement("li");
        const where = document.createElement("code"); where.textContent = p.path;
        item.append(where, ": " + p.message);
        list.append(item);
      }
    }
  }
  async function download(url, filename) {
    // Downloads need the token, which a plain link cannot send: fetch, then hand the browser a blob.
    const response = await fetch(url, { headers });
    if (!response.ok) return response;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = filename; document.body.append(link); link.click(); link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
    return response;
  }
  function fillTable(root, selector, rows, fill) {
    // A list shown as a table, or the page's [data-none] line when it is empty; fill(row, item) per item.
    root.querySelector("[data-none]").hidden = rows.length > 0;
    const table = root.querySelector(selector);
    table.hidden = rows.length === 0;
    const body = table.querySelector("tbody");
    body.replaceChildren();
    for (const item of rows) {
      const row = document.createElement("tr");
      fill(row, item);
      body.append(row);
    }
  }
  return { token, headers, messages, cell, button, showError, download, fillTable };
})();
