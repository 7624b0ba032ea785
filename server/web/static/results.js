// A scoring program's detailed results page, shown in place. It is the organiser's HTML, so it is
// never given our origin: fetched with the reader's token, then put in a sandboxed frame (no scripts,
// no forms, an opaque origin; the page's CSP still applies to it).
window.rialityResults = function (id, label, frameTitle, headers) {
  const more = document.createElement("details"), summary = document.createElement("summary");
  summary.textContent = label;
  more.dataset.key = `results-${id}`;
  more.append(summary);
  more.addEventListener("toggle", async () => {
    if (!more.open || more.querySelector("iframe")) return;
    const response = await fetch(`/api/submissions/${id}/details`, { headers });
    if (!response.ok) return;
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "");
    frame.title = frameTitle;
    frame.className = "results";
    frame.srcdoc = await response.text();
    more.append(frame);
  });
  return more;
};
