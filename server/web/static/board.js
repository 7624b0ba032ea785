// The live board: a snapshot, then the whole board on every change (server-sent events); changed rows glow.
(function () {
  const table = document.querySelector("[data-board]");
  if (!table) return;
  const slug = table.dataset.slug, top = parseInt(table.dataset.top || "0", 10), lang = table.dataset.lang;
  const pages = parseInt(table.dataset.pages || "1", 10), boardName = table.dataset.boardName || "public";
  let page = 0, paused = false, latest = null;
  // Model and code challenges show what each entry's run used; its headers sort (then reverse, then rank).
  const efficiency = table.hasAttribute("data-efficiency");
  // Challenges scored per group show each entry's worst group and the gap between its groups.
  const groups = table.hasAttribute("data-groups");
  // Bootstrap intervals and rank ranges as columns (the page); the tie band on every board (the screen too).
  const uncertainty = table.hasAttribute("data-uncertainty");
  const digits = parseInt(table.dataset.precision || "4", 10);  // a scoring program's column declares it
  const usage = [["wall_s", (v) => `${v.toFixed(1)} s`], ["cpu_s", (v) => `${v.toFixed(1)} s`],
                 ["peak_memory_mb", (v) => `${Math.round(v)} MB`]];
  let sortKey = null, sortDirection = 1;
  const status = table.querySelector("[data-live]");
  const emptyText = table.querySelector("tr.empty td") ? table.querySelector("tr.empty td").textContent : "";
  let previous = new Map(Array.from(table.tBodies[0].rows).map((row) => [row.dataset.team, row.textContent]));

  function cell(tag, text, scope) {
    const el = document.createElement(tag); el.textContent = text; if (scope) el.scope = scope; return el;
  }
  function render(board, highlight) {
    latest = board;
    const body = document.createElement("tbody");
    const pageCount = top > 0 ? Math.max(1, Math.min(pages, Math.ceil(board.entries.length / top))) : 1;
    if (page >= pageCount) page = 0;
    let entries = top > 0 ? board.entries.slice(page * top, (page + 1) * top) : board.entries;
    if (sortKey) {  // entries without a run (prediction files) go last either way
      entries = entries.slice().sort((a, b) => {
        const x = a[sortKey], y = b[sortKey];
        if (x === null || x === undefined) return (y === null || y === undefined) ? a.rank - b.rank : 1;
        if (y === null || y === undefined) return -1;
        return (x - y) * sortDirection || a.rank - b.rank;
      });
    }
    const counter = document.querySelector("[data-teams-count]");
    if (counter && board.teams !== undefined) counter.textContent = counter.dataset.text.replace("{n}", board.teams);
    const label = document.querySelector("[data-page-label]");
    if (label) label.textContent = pageCount > 1 ? label.dataset.text.replace("{first}", page * top + 1).replace("{last}", page * top + entries.length) : "";
    const next = new Map();
    for (const entry of entries) {
      const row = document.createElement("tr");
      row.dataset.team = entry.team;
      const when = entry.last_submission_at ? new Date(entry.last_submission_at) : null;
      const time = document.createElement("time");
      if (when) { time.dateTime = entry.last_submission_at; time.textContent = when.toLocaleString(lang); }
      const name = cell("th", entry.team, "row");
      if (entry.tied_with_leader) {
        row.classList.add("tied"); row.dataset.tied = "";
        if (entry.rank > 1 && table.dataset.tiedText) {
          const mark = document.createElement("span"); mark.className = "tie"; mark.textContent = table.dataset.tiedText;
          name.append(" ", mark);
        }
      }
      row.append(cell("td", String(entry.rank)), name, cell("td", entry.score.toFixed(digits)));
      if (uncertainty) {
        const known = entry.ci_low !== null && entry.ci_low !== undefined;
        row.append(cell("td", known ? `${entry.ci_low.toFixed(4)}–${entry.ci_high.toFixed(4)}` : "–"));
        const ranked = entry.rank_low !== null && entry.rank_low !== undefined;
        row.append(cell("td", !ranked ? "–" : entry.rank_low === entry.rank_high ? String(entry.rank_low) : `${entry.rank_low}–${entry.rank_high}`));
      }
      if (groups) {
        for (const key of ["worst_group", "disparity"]) {
          const value = entry[key];
          row.append(cell("td", value === null || value === undefined ? "–" : value.toFixed(4)));
        }
      }
      row.append(cell("td", String(entry.submissions)));
      const last = document.createElement("td"); last.append(time); row.append(last);
      if (efficiency) {
        for (const [key, format] of usage) {
          const value = entry[key];
          row.append(cell("td", value === null || value === undefined ? "–" : format(value)));
        }
      }
      if (highlight && previous.get(entry.team) !== row.textContent) row.classList.add("changed");
      next.set(entry.team, row.textContent);
      body.append(row);
    }
    // The baselines among the entries by score (after those that score the same); one below the last
    // entry shown only when the whole board is shown. Never ranked: no rank, no team.
    const better = (a, b) => board.higher_is_better ? a > b : a < b;
    const complete = page === 0 && entries.length >= (board.teams || 0);
    const pending = (sortKey ? [] : board.baselines || []).slice().sort((a, b) => better(a.score, b.score) ? -1 : better(b.score, a.score) ? 1 : 0);
    const columns = 5 + (efficiency ? 3 : 0) + (groups ? 2 : 0) + (uncertainty ? 2 : 0);
    const baselineRow = (baseline) => {
      const row = document.createElement("tr"); row.className = "baseline"; row.dataset.baseline = baseline.name;
      const name = cell("th", baseline.name + " ", "row"), mark = document.createElement("span");
      mark.className = "tie"; mark.textContent = table.dataset.baselineText; name.append(mark);
      row.append(cell("td", "–"), name, cell("td", baseline.score.toFixed(digits)));
      for (let i = 3; i < columns; i++) row.append(cell("td", ""));
      return row;
    };
    for (const row of [...body.rows]) {
      const score = latest.entries.find((e) => e.team === row.dataset.team)?.score;
      while (pending.length && score !== undefined && better(pending[0].score, score)) body.insertBefore(baselineRow(pending.shift()), row);
    }
    if (complete || !entries.length) pending.forEach((baseline) => body.append(baselineRow(baseline)));
    if (!entries.length) {
      const row = document.createElement("tr"); row.className = "empty";
      const td = cell("td", emptyText); td.colSpan = 5 + (efficiency ? 3 : 0) + (groups ? 2 : 0) + (uncertainty ? 2 : 0); row.append(td); body.append(row);
    }
    table.replaceChild(body, table.tBodies[0]);
    previous = next;
    const chart = document.querySelector("[data-chart]");
    if (chart && highlight) {
      const url = new URL(chart.src, location.href); url.searchParams.set("v", String(Date.now())); chart.src = url.href;
    }
    setTimeout(() => body.querySelectorAll("tr.changed").forEach((row) => row.classList.remove("changed")), 4000);
  }
  table.querySelectorAll("button[data-sort]").forEach((button) => button.addEventListener("click", () => {
    const key = button.dataset.sort;
    if (sortKey !== key) { sortKey = key; sortDirection = 1; }
    else if (sortDirection === 1) sortDirection = -1;
    else sortKey = null;
    table.querySelectorAll("button[data-sort]").forEach((other) => {
      const order = other.dataset.sort !== sortKey ? "none" : sortDirection === 1 ? "ascending" : "descending";
      other.parentElement.setAttribute("aria-sort", order);
    });
    if (latest) render(latest, false);
  }));
  // Only the rows shown travel: a board of thousands of teams is not sent to every screen on each change.
  const query = new URLSearchParams();
  if (top > 0) query.set("limit", String(top * pages));
  if (boardName !== "public") query.set("board", boardName);
  if (table.dataset.phase) query.set("phase", table.dataset.phase);  // a phase's board stays that phase's
  const source = new EventSource(`/api/challenges/${encodeURIComponent(slug)}/leaderboard/stream?${query}`);
  // The venue's screen turns its pages past the top 10; a button pauses it (and keyboard users can).
  if (pages > 1) {
    setInterval(() => { if (!paused && latest) { page += 1; render(latest, false); } }, 12000);
    const pause = document.querySelector("[data-pause]");
    if (pause) pause.addEventListener("click", () => {
      paused = !paused;
      pause.textContent = paused ? pause.dataset.resumeText : pause.dataset.pauseText;
      pause.setAttribute("aria-pressed", String(paused));
    });
  }
  const countdown = document.querySelector("[data-countdown]");
  if (countdown) {
    const closes = new Date(countdown.dataset.closes);
    const tick = () => {
      const left = Math.max(0, Math.floor((closes - Date.now()) / 1000));
      if (left === 0) { countdown.textContent = countdown.dataset.closed; return; }
      const d = Math.floor(left / 86400), h = Math.floor((left % 86400) / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
      const text = (d ? `${d} d ` : "") + `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
      countdown.textContent = countdown.dataset.text.replace("{left}", text);
    };
    tick(); setInterval(tick, 1000);
  }
  source.addEventListener("snapshot", (event) => render(JSON.parse(event.data), false));
  source.addEventListener("board", (event) => render(JSON.parse(event.data), true));
  source.onopen = () => { status.textContent = status.dataset.liveText; };
  source.onerror = () => { status.textContent = status.dataset.offlineText; };
})();
