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
  function schedule() {
    const wait = Math.max(5000, Number(box.dataset.expires) - Date.now() - 20000);
    setTimeout(refresh, wait);
  }
  function refresh() {
    fetch("/me/code.json", { credentials: "same-origin" })
      .then(r => r.ok ? r.json() : Promise.reject(r.status))
      .then(c => { box.innerHTML = c.svg; box.dataset.code = c.code; box.dataset.expires = c.expires_at; schedule(); })
      .catch(() => setTimeout(refresh, 5000));
  }
  schedule();
})();
