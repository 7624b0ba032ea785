// The live board: a snapshot, then the whole board on every change (server-sent events); changed rows glow.
(function () {
  const table = document.querySelector("[data-board]");
  if (!table) return;
  const slug = table.dataset.slug, top = parseInt(table.dataset.top || "0", 10), lang = table.dataset.lang;
  const status = table.querySelector("[data-live]");
  const emptyText = table.querySelector("tr.empty td") ? table.querySelector("tr.empty td").textContent : "";
  let previous = new Map(Array.from(table.tBodies[0].rows).map((row) => [row.dataset.team, row.textContent]));

  function cell(tag, text, scope) {
    const el = document.createElement(tag); el.textContent = text; if (scope) el.scope = scope; return el;
  }
  function render(board, highlight) {
    const body = document.createElement("tbody");
    const entries = top > 0 ? board.entries.slice(0, top) : board.entries;
    const next = new Map();
    for (const entry of entries) {
      const row = document.createElement("tr");
      row.dataset.team = entry.team;
      const when = entry.last_submission_at ? new Date(entry.last_submission_at) : null;
      const time = document.createElement("time");
      if (when) { time.dateTime = entry.last_submission_at; time.textContent = when.toLocaleString(lang); }
      row.append(cell("td", String(entry.rank)), cell("th", entry.team, "row"), cell("td", entry.score.toFixed(4)),
                 cell("td", String(entry.submissions)));
      const last = document.createElement("td"); last.append(time); row.append(last);
      if (highlight && previous.get(entry.team) !== row.textContent) row.classList.add("changed");
      next.set(entry.team, row.textContent);
      body.append(row);
    }
    if (!entries.length) {
      const row = document.createElement("tr"); row.className = "empty";
      const td = cell("td", emptyText); td.colSpan = 5; row.append(td); body.append(row);
    }
    table.replaceChild(body, table.tBodies[0]);
    previous = next;
    const chart = document.querySelector("[data-chart]");
    if (chart && highlight) chart.src = chart.src.split("?")[0] + "?v=" + Date.now();
    setTimeout(() => body.querySelectorAll("tr.changed").forEach((row) => row.classList.remove("changed")), 4000);
  }
  // Only the rows shown travel: a board of thousands of teams is not sent to every screen on each change.
  const source = new EventSource(`/api/challenges/${encodeURIComponent(slug)}/leaderboard/stream` + (top > 0 ? `?limit=${top}` : ""));
  source.addEventListener("snapshot", (event) => render(JSON.parse(event.data), false));
  source.addEventListener("board", (event) => render(JSON.parse(event.data), true));
  source.onopen = () => { status.textContent = status.dataset.liveText; };
  source.onerror = () => { status.textContent = status.dataset.offlineText; };
})();
