// The resident's code page and printable card (served at /assets/code.js; pages carry no
// inline script: see the Content-Security-Policy in src/headers.rs).
(function () {
  // The card's print button.
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());

  // The phone's code: fetch a new one shortly before this one expires, so a scan never meets
  // an expired code. The printed card's code is long-lived and has no expiry to watch.
  const box = document.getElementById("qr");
  if (!box || !box.dataset.expires) return;
  const card = document.getElementById("code-card");
  const note = document.getElementById("refresh-note");
  const offline = document.getElementById("code-offline");
  const stopped = document.getElementById("code-stopped");
  const why = document.getElementById("code-stopped-why");
  const retry = document.getElementById("code-retry");
  let timer = null;
  let ended = false;

  // The code on screen can no longer be used: say so and how to get a new one, instead of
  // showing a code a scanner would refuse. `signedOut`: the session ended (sign in again);
  // otherwise the code expired while the phone was offline (try again).
  function stop(signedOut) {
    ended = true;
    clearTimeout(timer);
    card.classList.add("code-stopped");
    note.hidden = true;
    offline.hidden = true;
    why.textContent = signedOut ? why.dataset.signedOut : why.dataset.expired;
    document.getElementById("code-sign-in").hidden = !signedOut;
    retry.hidden = signedOut;
    stopped.hidden = false;
  }
  function expired() {
    return Date.now() >= Number(box.dataset.expires);
  }
  function schedule() {
    const wait = Math.max(5000, Number(box.dataset.expires) - Date.now() - 20000);
    timer = setTimeout(refresh, wait);
  }
  function refresh() {
    fetch("/me/code.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) {
        // A session that ended is sent to the sign-in page: that answer is a page, not a code.
        const json = (r.headers.get("content-type") || "").indexOf("application/json") === 0;
        if (r.redirected || r.status === 401 || (r.ok && !json)) return Promise.reject("signed-out");
        return r.ok ? r.json() : Promise.reject(r.status);
      })
      .then(function (c) {
        box.innerHTML = c.svg; box.dataset.code = c.code; box.dataset.expires = c.expires_at;
        ended = false;
        card.classList.remove("code-stopped");
        stopped.hidden = true;
        offline.hidden = true;
        note.hidden = false;
        schedule();
      })
      .catch(function (why) {
        if (why === "signed-out") return stop(true);
        // No network (or the server is busy): the code on screen stays usable until it
        // expires; keep trying.
        if (expired()) return stop(false);
        offline.hidden = false;
        timer = setTimeout(refresh, 5000);
      });
  }
  // A phone that slept past the expiry shows the code stopped at once, then tries again.
  setInterval(function () { if (!ended && expired()) { stop(false); refresh(); } }, 1000);
  retry.addEventListener("click", refresh);
  // A phone taken out of a pocket shows a fresh code at once (timers sleep with the screen).
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") { clearTimeout(timer); refresh(); }
  });
  window.addEventListener("online", function () { if (ended || !offline.hidden) refresh(); });
  schedule();
})();
