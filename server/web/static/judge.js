// The judges' view: both boards with the submission behind each entry, and that submission's details.
(function () {
  const root = document.querySelector("[data-judge-page]");
  if (!root) return;
  const slug = root.dataset.slug;
  const fields = JSON.parse(root.dataset.fields);  // [field, its label in the page's language], in order
  const { token, headers } = window.riality;
  const denied = () => { root.querySelector("[data-judge-denied]").hidden = false; };

  function add(dl, term, value) {
    const dt = document.createElement("dt"), dd = document.createElement("dd");
    dt.textContent = term;
    if (typeof value === "string") dd.textContent = value; else dd.append(value);
    dl.append(dt, dd);
  }
  async function showSubmission(id) {
    const response = await fetch(`/api/submissions/${id}`, { headers });
    const s = await response.json();
    const dl = root.querySelector("[data-judge-details]");
    dl.replaceChildren();
    for (const [key, label] of fields) {
      if (key === "metrics") {
        const pre = document.createElement("pre");
        pre.textContent = JSON.stringify(s.metrics, null, 2);
        add(dl, label, pre);
      } else if (key === "logs" || key === "scorer_logs") {
        const text = key === "logs" ? [s.error, s.logs].filter(Boolean).join("\n\n") : s.scorer_logs;
        if (!text) continue;
        const logs = document.createElement("pre");
        logs.textContent = text;
        add(dl, label, logs);
      } else {
        add(dl, label, s[key] === null || s[key] === undefined ? "" : String(s[key]));
      }
    }
    if (s.details) add(dl, root.dataset.results, window.rialityResults(s.id, root.dataset.results, root.dataset.resultsFrame, headers));
    root.querySelector("#details-heading").focus();  // keyboard and screen-reader users land on what they asked for
    root.dispatchEvent(new CustomEvent("submission-shown", { detail: id }));  // review.js adds its notes
  }
  let phase = "";  // the current phase (the API's default), until the judge picks another
  async function loadBoard(kind) {
    const shown = phase ? `&phase=${encodeURIComponent(phase)}` : "";
    const response = await fetch(`/api/challenges/${slug}/leaderboard?board=${kind}${shown}`, { headers });
    if (!response.ok) return false;
    const board = await response.json();
    const body = root.querySelector(`[data-judge-board="${kind}"] tbody`);
    const focused = body.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    body.replaceChildren();
    // The organisers' baselines among the entries by score, shaded, unranked (as on the public page).
    const better = (a, b) => board.higher_is_better ? a > b : a < b;
    const baselines = (board.baselines || []).slice().sort((a, b) => better(a.score, b.score) ? -1 : better(b.score, a.score) ? 1 : 0);
    const baselineRow = (baseline) => {
      const row = document.createElement("tr"); row.className = "baseline"; row.dataset.baseline = baseline.name;
      const name = document.createElement("th"); name.scope = "row"; name.textContent = `${baseline.name} (${root.dataset.baselineText})`;
      const cells = ["–", null, baseline.score.toFixed(4), "", ""].map((text) => { if (text === null) return name; const c = document.createElement("td"); c.textContent = text; return c; });
      row.append(...cells);
      return row;
    };
    for (const entry of board.entries) {
      while (baselines.length && better(baselines[0].score, entry.score)) body.append(baselineRow(baselines.shift()));
      const row = document.createElement("tr");
      row.dataset.team = entry.team;
      const interval = entry.ci_low === null || entry.ci_low === undefined ? "" : `${entry.ci_low.toFixed(4)}–${entry.ci_high.toFixed(4)}`;
      const cells = [String(entry.rank), entry.team, entry.score.toFixed(4), interval, String(entry.submissions)];
      cells.forEach((text, i) => { const c = document.createElement(i === 1 ? "th" : "td"); c.textContent = text; if (i === 1) c.scope = "row"; row.append(c); });
      if (entry.tied_with_leader) {  // not significantly different from the leader (paired bootstrap)
        row.classList.add("tied"); row.dataset.tied = "";
        if (entry.rank > 1) {
          const mark = document.createElement("span"); mark.className = "tie"; mark.title = root.dataset.tiedHelp;
          mark.textContent = ` ${root.dataset.tiedText}`; row.cells[1].append(mark);
        }
      }
      const action = document.createElement("td"), button = document.createElement("button");
      button.type = "button";
      button.textContent = root.dataset.open.replace("{id}", entry.submission_id);
      button.dataset.key = `${kind}-${entry.submission_id}`;
      button.addEventListener("click", () => showSubmission(entry.submission_id));
      action.append(button); row.append(action);
      if (kind === "private") {  // from the private board to the whole team (review.js)
        const teamCell = document.createElement("td"), open = document.createElement("button");
        open.type = "button"; open.dataset.key = `team-${entry.team}`;
        open.textContent = root.dataset.openTeam.replace("{team}", entry.team);
        open.addEventListener("click", () => root.dispatchEvent(new CustomEvent("team-wanted", { detail: entry.team })));
        teamCell.append(open); row.append(teamCell);
      }
      body.append(row);
    }
    baselines.forEach((baseline) => body.append(baselineRow(baseline)));
    if (focused) body.querySelector(`[data-key="${focused}"]`)?.focus();  // a redraw keeps the keyboard's place
    return true;
  }
  root.addEventListener("show-submission", (event) => showSubmission(event.detail));  // from review.js
  (async () => {
    if (!token) return denied();
    // Staff of this challenge only: its organisers and judges (and admins), not those of another.
    const detail = await fetch(`/api/challenges/${encodeURIComponent(slug)}`, { headers });
    const info = detail.ok ? await detail.json() : null;
    if (!info || !info.staff_role) return denied();
    if ((info.phases || []).length > 1) {  // each phase has its boards: the current one first
      const select = root.querySelector("[data-judge-phase]");
      info.phases.forEach((p) => {
        const option = document.createElement("option");
        option.value = p.key; option.textContent = p.title; option.selected = p.key === info.phase;
        select.append(option);
      });
      phase = info.phase;
      select.closest("p").hidden = false;
      select.addEventListener("change", () => { phase = select.value; loadBoard("private"); loadBoard("public"); });
    }
    root.querySelectorAll("[data-judge-content]").forEach((el) => { el.hidden = false; });
    root.dispatchEvent(new CustomEvent("staff-ready"));
    await loadBoard("private"); await loadBoard("public");
    // The public stream says when a score or a final selection changed; both boards are then read
    // again with the judge's token (an EventSource cannot send it). One row is enough to be told.
    const changes = new EventSource(`/api/challenges/${encodeURIComponent(slug)}/leaderboard/stream?limit=1`);
    const reload = () => { loadBoard("private"); loadBoard("public"); };
    changes.addEventListener("board", reload);
    changes.addEventListener("snapshot", reload);  // (re)connected: what changed meanwhile was not heard
  })();
})();
