// The team page: my team, the upload form with progress, and my submissions, refreshed while any is pending.
(function () {
  const root = document.querySelector("[data-team-page]");
  if (!root) return;
  const slug = root.dataset.slug, lang = root.dataset.lang;
  const token = localStorage.getItem("riality.token");
  const auth = { Authorization: "Bearer " + token };
  const show = (selector, visible) => root.querySelectorAll(selector).forEach((el) => { el.hidden = !visible; });
  show("[data-signin]", !token);
  show("[data-signed]", !!token);
  if (!token) return;
  const api = (path, options = {}) => fetch(path, { ...options, headers: { ...auth, ...(options.headers || {}) } });
  const teamMessage = root.querySelector("[data-team-message]");

  async function loadTeam() {
    const response = await api(`/api/challenges/${slug}/team`);
    show("[data-team-info]", response.ok);
    show("[data-team-none]", response.status === 404);
    if (!response.ok) return;
    const team = await response.json();
    root.querySelector("[data-team-name]").textContent = team.name;
    root.querySelector("[data-team-members]").textContent = team.members.join(", ");
    root.querySelector("[data-team-code]").textContent = team.invite_code;
    const dq = root.querySelector("[data-team-dq]");  // the organisers' reason, if they disqualified the team
    dq.hidden = !team.disqualified;
    dq.textContent = team.disqualified ? root.dataset.teamDqText.replace("{reason}", team.disqualified) : "";
  }
  async function teamAction(path, body) {
    const response = await api(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    teamMessage.textContent = response.ok ? "" : (await response.json()).detail;
    await loadTeam();
  }
  root.querySelector("[data-team-create]").addEventListener("submit", (event) => {
    event.preventDefault(); teamAction(`/api/challenges/${slug}/teams`, { name: event.target.name.value });
  });
  root.querySelector("[data-team-join]").addEventListener("submit", (event) => {
    event.preventDefault(); teamAction(`/api/challenges/${slug}/teams/join`, { invite_code: event.target.code.value });
  });

  const table = root.querySelector("[data-submissions]");
  const emptyRow = table.tBodies[0].innerHTML;
  const finalMessage = root.querySelector("[data-final-message]"), announcer = root.querySelector("[data-announcer]");
  const statusText = (status) => root.dataset["status" + status[0].toUpperCase() + status.slice(1)] || status;
  let timer = null, shown = null, statuses = new Map();
  function cell(text) { const td = document.createElement("td"); td.textContent = text; return td; }
  async function choose(id, box) {
    const response = await api(`/api/submissions/${id}/final`, {
      method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ final: box.checked }),
    });
    finalMessage.textContent = response.ok ? "" : (await response.json()).detail;
    shown = null; loadSubmissions();  // on a refusal, the box shows the truth again
  }
  function draw(submissions) {
    // Redrawn only when something changed, and the focused control and open details are put back:
    // a keyboard user's place must survive the refresh.
    const focused = table.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    const open = new Set([...table.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    const body = document.createElement("tbody");
    for (const s of submissions) {
      const row = document.createElement("tr");
      row.dataset.submission = s.id;
      const dq = s.disqualified ? " · " + root.dataset.subDqText.replace("{reason}", s.disqualified) : "";
      const unranked = s.not_ranked.length ? " · " + root.dataset.subUnrankedText.replace("{reason}", s.not_ranked.join("; ")) : "";
      const status = cell(statusText(s.status) + dq + unranked);
      status.dataset.status = s.status;
      const final = document.createElement("td"), box = document.createElement("input");
      box.type = "checkbox"; box.checked = s.final; box.disabled = s.status !== "scored" && !s.final;
      box.dataset.key = `final-${s.id}`;
      box.setAttribute("aria-label", root.dataset.finalLabel.replace("{id}", s.id));
      box.setAttribute("aria-describedby", "final-help");
      box.addEventListener("change", () => choose(s.id, box));
      final.append(box);
      const details = document.createElement("td");
      if (s.error || s.logs) {
        const more = document.createElement("details"), summary = document.createElement("summary"), pre = document.createElement("pre");
        more.dataset.key = `details-${s.id}`; summary.dataset.key = `summary-${s.id}`; more.open = open.has(more.dataset.key);
        summary.textContent = s.error ? s.error.split("\n")[0] : root.dataset.logs;
        pre.textContent = [s.error, s.logs].filter(Boolean).join("\n\n");
        more.append(summary, pre); details.append(more);
      }
      if (s.details) {  // the challenge's scoring program wrote a page about this submission
        const results = window.rialityResults(s.id, root.dataset.results, root.dataset.resultsFrame, auth);
        results.open = open.has(results.dataset.key);
        details.append(results);
      }
      const groups = (s.metrics.groups || {}).public;  // the primary metric per group, public subset
      if (groups && Object.keys(groups).length) {
        const line = document.createElement("p"); line.className = "groups";
        line.textContent = root.dataset.byGroup + " " + Object.entries(groups)
          .map(([name, value]) => `${name} ${value === null ? "–" : value.toFixed(4)}`).join(" · ");
        details.append(line);
      }
      const score = cell(s.public_score === null ? "" : s.public_score.toFixed(4));
      if (s.released === false && s.status === "scored") {  // the Ladder did not release it
        score.textContent = root.dataset.heldBack; score.title = root.dataset.heldBackTitle;
      }
      const kind = s.phase && s.phase !== "main" ? `${s.kind} · ${s.phase}` : s.kind;  // its phase, if any
      row.append(cell(String(s.id)), cell(s.filename), cell(kind), status, score,
                 cell(new Date(s.created_at).toLocaleString(lang)), final, details);
      body.append(row);
    }
    if (!submissions.length) body.innerHTML = emptyRow;
    table.replaceChild(body, table.tBodies[0]);
    if (focused) body.querySelector(`[data-key="${focused}"]`)?.focus();
  }
  function announce(submissions) {
    // The status cell changes silently; say so when a submission this page saw pending is done.
    const done = submissions.filter((s) => ["queued", "running"].includes(statuses.get(s.id)) && s.status !== statuses.get(s.id));
    if (done.length) announcer.textContent = done.map((s) => root.dataset.announce.replace("{id}", s.id).replace("{status}", statusText(s.status))).join(". ");
    statuses = new Map(submissions.map((s) => [s.id, s.status]));
  }
  async function loadSubmissions() {
    const response = await api(`/api/challenges/${slug}/submissions`);
    if (!response.ok) return;
    const text = await response.text();
    const submissions = JSON.parse(text);
    if (text !== shown) { shown = text; draw(submissions); announce(submissions); }
    clearTimeout(timer);
    const pending = submissions.some((s) => s.status === "queued" || s.status === "running");
    timer = setTimeout(loadSubmissions, pending ? 1000 : 10000);
  }

  const form = root.querySelector("[data-upload]");
  const progress = form.querySelector("progress"), message = form.querySelector("[data-upload-message]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const data = new FormData(form);
    if (!data.get("kind")) data.delete("kind");  // told by the file name
    const request = new XMLHttpRequest();  // XHR, not fetch: it reports upload progress
    request.open("POST", `/api/challenges/${slug}/submissions`);
    request.setRequestHeader("Authorization", auth.Authorization);
    progress.hidden = false; progress.value = 0;
    request.upload.onprogress = (e) => { if (e.lengthComputable) progress.value = Math.round((100 * e.loaded) / e.total); };
    request.onload = () => {
      const body = JSON.parse(request.responseText || "{}");
      message.textContent = request.status === 202 ? root.dataset.sent.replace("{id}", body.id) : body.detail;
      progress.value = 100;
      loadTeam(); loadSubmissions();
    };
    request.send(data);
  });
  loadTeam(); loadSubmissions();
})();
