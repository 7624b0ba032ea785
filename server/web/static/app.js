// Language switch, sign-in state and the account forms. No library: the venue's network may be closed.
(function () {
  const token = localStorage.getItem("riality.token");
  document.querySelectorAll("[data-signed-in]").forEach((el) => { el.hidden = !token; });
  document.querySelectorAll("[data-signed-out]").forEach((el) => { el.hidden = !!token; });
  document.querySelectorAll("[data-logout]").forEach((el) => el.addEventListener("click", async () => {
    // Revoke the token on the server first: a copy left anywhere stops working too.
    try {
      await fetch("/api/auth/logout", { method: "POST", headers: { authorization: "Bearer " + token } });
    } finally {
      localStorage.removeItem("riality.token"); location.href = "/";
    }
  }));
  document.querySelectorAll("form[data-account]").forEach((form) => form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const message = form.querySelector("[data-message]");
    const body = { username: form.username.value, password: form.password.value };
    if (form.dataset.account === "register") {
      if (form.email && form.email.value) body.email = form.email.value;
      const response = await fetch("/api/auth/register", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      message.textContent = response.ok ? form.dataset.done : (await response.json()).detail;
      if (response.ok) setTimeout(() => { location.href = "/login"; }, 800);
      return;
    }
    const response = await fetch("/api/auth/token", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!response.ok) { message.textContent = form.dataset.failed; return; }
    localStorage.setItem("riality.token", (await response.json()).access_token);
    location.href = "/";
  }));
})();
