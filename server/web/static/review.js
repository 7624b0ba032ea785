// The judges' team view and notes: every team with its members and all its submissions (open,
// download), and notes on teams and submissions that only the challenge's staff see.
(function () {
  const root = document.querySelector("[data-judge-page]");
  if (!root) return;
  const { headers, messages, cell, button, showError, download } = window.riality;
  const t = messages(root), status = messages(root, "statuses");
  const slug = encodeURIComponent(root.dataset.slug), api = `/api/challenges/${slug}`;
  const message = root.querySelector("[data-review-message]");
  const json = { ...headers, "content-type": "application/json" };
  let teams = [], shownSubmission = null, shownTeam = null;

  function fillNotes(list, notes) {
    list.replaceChildren();
    for (const n of notes) {
      const item = document.createElement("li");
      item.textContent = `${n.author}, ${n.created_at.replace("T", " ").slice(0, 16)}: ${n.text}`;
      list.append(item);
    }
    if (!notes.length) { const item = document.createElement("li"); item.textContent = t("review.no_notes"); list.append(item); }
  }
  async function notesOf(url, list) {
    const response = await fetch(url, { headers });
    if (response.ok) fillNotes(list, await response.json());
  }
  async function addNote(url, form, list) {
    const response = await fetch(url, { method: "POST", headers: json, body: JSON.stringify({ text: form.text.value }) });
    if (!response.ok) { await showError(response, message); return; }
    message.textContent = t("review.note_added");
    form.reset();
    await notesOf(url, list);
  }
  const submissionNotes = () => `/api/submissions/${shownSubmission}/notes`;
  const teamNotes = () => `${api}/teams/${shownTeam.id}/notes`;

  root.addEventListener("submission-shown", (event) => {
    shownSubmission = event.detail;
    root.querySelector("[data-submission-extra]").hidden = false;
    notesOf(submissionNotes(), root.querySelector("[data-submission-notes]"));
  });
  root.querySelector("[data-submission-download]").addEventListener("click", async () => {
    const response = await download(`/api/submissions/${shownSubmission}/file`, `submission-${shownSubmission}`);
    if (!response.ok) await showError(response, message);
  });
  root.querySelector("[data-submission-note]").addEventListener("submit", (event) => {
    event.preventDefault();
    addNote(submissionNotes(), event.target, root.querySelector("[data-submission-notes]"));
  });
  root.querySelector("[data-team-note]").addEventListener("submit", (event) => {
    event.preventDefault();
    addNote(teamNotes(), event.target, root.querySelector("[data-team-notes]"));
  });

  async function openTeam(team) {
    shownTeam = team;
    const view = root.querySelector("[data-team-view]");
    view.hidden = false;
    root.querySelector("[data-team-title]").textContent = t("review.team_title", { team: team.name });
    root.querySelector("[data-team-members]").textContent = team.members.join(", ") || t("review.no_members");
    root.querySelector("[data-team-dq]").textContent = team.disqualified ? t("review.disqualified", { reason: team.disqualified }) : "";
    const response = await fetch(`${api}/submissions?team=${encodeURIComponent(team.name)}&limit=500`, { headers });
    const body = root.querySelector("[data-team-subs] tbody");
    body.replaceChildren();
    for (const s of response.ok ? await response.json() : []) {
      const row = document.createElement("tr");
      cell(row, `#${s.id} ${s.filename}`, true);
      cell(row, status("status." + s.status) + (s.final ? " · " + t("review.final") : ""));
      cell(row, s.public_score === null ? "" : s.public_score.toFixed(4));
      cell(row, s.private_score === null ? "" : s.private_score.toFixed(4));
      const actions = document.createElement("span");
      actions.className = "actions";
      actions.append(
        button(t("review.show", { id: s.id }), () => root.dispatchEvent(new CustomEvent("show-submission", { detail: s.id }))),
        button(t("review.download_n", { id: s.id }), async () => {
          const got = await download(`/api/submissions/${s.id}/file`, s.filename);
          if (!got.ok) await showError(got, message);
        }),
      );
      cell(row, actions);
      body.append(row);
    }
    await notesOf(teamNotes(), root.querySelector("[data-team-notes]"));
    root.querySelector("#team-view-heading").focus();
  }
  async function loadTeams() {
    const response = await fetch(`${api}/teams`, { headers });
    if (!response.ok) return;
    teams = await response.json();
    const body = root.querySelector("[data-teams] tbody");
    body.replaceChildren();
    for (const team of teams) {
      const row = document.createElement("tr");
      cell(row, team.name, true); cell(row, team.members.join(", ")); cell(row, String(team.submissions));
      cell(row, team.disqualified ? t("review.disqualified", { reason: team.disqualified }) : "");
      cell(row, button(t("review.open_team", { team: team.name }), () => openTeam(team)));
      body.append(row);
    }
  }
  root.addEventListener("team-wanted", async (event) => {
    if (!teams.length) await loadTeams();
    const team = teams.find((x) => x.name === event.detail);
    if (team) openTeam(team);
  });
  root.addEventListener("staff-ready", loadTeams);
})();
