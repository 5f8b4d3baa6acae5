// Every page's small enhancements (served at /assets/forms.js; pages carry no inline script:
// see the Content-Security-Policy in src/headers.rs). Each one is optional: without JavaScript
// the pages work the same, only less conveniently.
(function () {
  "use strict";

  // 1. A refused form: bring the reader to the summary of its errors (at the top of the page),
  //    or to the first field in error, so an error at the bottom of a long page is not missed.
  const summary = document.getElementById("error-summary");
  const firstBad = document.querySelector("[aria-invalid='true']");
  if (summary) {
    summary.focus();
    summary.scrollIntoView({ block: "start" });
  } else if (firstBad) {
    firstBad.focus();
    firstBad.scrollIntoView({ block: "center" });
  }
  // The summary's links move the focus into the field itself, not just the view.
  document.querySelectorAll("#error-summary a[href^='#']").forEach(function (a) {
    a.addEventListener("click", function (e) {
      const field = document.getElementById(a.getAttribute("href").slice(1));
      if (!field) return;
      e.preventDefault();
      field.focus();
      field.scrollIntoView({ block: "center" });
    });
  });

  // 2. A button that may be used again only after a wait (a new sign-in code): count down.
  document.querySelectorAll("button[data-wait]").forEach(function (b) {
    let left = Number(b.dataset.wait);
    const label = b.textContent;
    const template = b.dataset.waitLabel || "{s}";
    function tick() {
      if (left <= 0) {
        b.disabled = false;
        b.textContent = label;
        return;
      }
      b.disabled = true;
      b.textContent = template.replace("{s}", String(left));
      left -= 1;
      setTimeout(tick, 1000);
    }
    tick();
  });

  // 3. Nothing typed is lost when a session ends: a form's fields are kept in this tab while it
  //    is being sent, and restored once, when sign-in brings the reader back (`resume=1`).
  //    Passwords, codes, tokens, files, ID numbers, phones and names are never kept, and a form
  //    is given back only to the person who typed it (`data-who` on the page's body).
  const KEY = "moralbank.form";
  const SKIP = ["csrf", "password", "code", "next", "token", "form_token", "resident_id",
    "card_number", "card_name", "phone", "nominee_phone", "name"];
  const who = document.body.dataset.who || "";
  function keepable(el) {
    return el.name && !SKIP.includes(el.name) && el.type !== "password" &&
      el.type !== "file" && el.type !== "hidden" && el.type !== "submit";
  }
  // (The sign-in pages' own forms are not kept: they come between the form and its return.)
  const signingIn = location.pathname === "/login" || location.pathname === "/staff/login";
  document.querySelectorAll(signingIn ? "form.none" : "form[method='post']").forEach(function (form) {
    form.addEventListener("submit", function () {
      const fields = {};
      Array.from(form.elements).filter(keepable).forEach(function (el) {
        if ((el.type === "checkbox" || el.type === "radio")) {
          if (el.checked) fields[el.name] = el.value;
        } else {
          fields[el.name] = el.value;
        }
      });
      try {
        sessionStorage.setItem(KEY, JSON.stringify({
          who: who, action: form.getAttribute("action"), at: Date.now(), fields: fields
        }));
      } catch (_) { /* private mode: nothing kept */ }
    });
  });
  const params = new URLSearchParams(location.search);
  if (params.get("resume") !== "1" && !signingIn) {
    // The form was answered (this is the page after it): nothing to restore later.
    try { sessionStorage.removeItem(KEY); } catch (_) { /* nothing */ }
  }
  if (params.get("resume") === "1") {
    let kept = null;
    try { kept = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch (_) { kept = null; }
    try { sessionStorage.removeItem(KEY); } catch (_) { /* nothing */ }
    const fresh = kept && who && kept.who === who && Date.now() - kept.at < 30 * 60 * 1000;
    const form = fresh && Array.from(document.querySelectorAll("form[method='post']"))
      .find(function (f) { return f.getAttribute("action") === kept.action; });
    if (form) {
      Array.from(form.elements).filter(keepable).forEach(function (el) {
        if (!(el.name in kept.fields)) return;
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = kept.fields[el.name] === el.value;
        } else {
          el.value = kept.fields[el.name];
        }
      });
      const note = document.getElementById("restored-note");
      if (note) note.hidden = false;
    }
  }

  // 5. A long grouped list (305 villages in 21 towns) picked in two steps: the town first,
  //    then only its villages. Without this script the one grouped list works as it is.
  document.querySelectorAll("select[data-narrows]").forEach(function (towns) {
    const target = document.getElementById(towns.dataset.narrows);
    if (!target) return;
    const groups = Array.from(target.querySelectorAll("optgroup"));
    const blank = target.querySelector("option[value='']");
    const picker = towns.closest("[hidden]");
    if (picker) picker.hidden = false;
    // A village already chosen (a form shown again) selects its town.
    const chosen = target.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP") towns.value = chosen.parentElement.label;
    function narrow() {
      const keep = groups.filter(function (g) { return g.label === towns.value; });
      target.replaceChildren.apply(target, (blank ? [blank] : []).concat(keep));
      target.disabled = keep.length === 0;
    }
    towns.addEventListener("change", function () { target.value = ""; narrow(); });
    narrow();
  });

  // 4. Files chosen for upload are checked here first (type, size, count), with the same limits
  //    the server applies, and a large upload shows its progress.
  document.querySelectorAll("input[type='file'][data-max-bytes]").forEach(function (input) {
    const form = input.form;
    const out = document.getElementById(input.id + "-check");
    const maxBytes = Number(input.dataset.maxBytes);
    const maxFiles = Number(input.dataset.maxFiles);
    const types = (input.getAttribute("accept") || "").split(",").map(function (t) { return t.trim(); });
    function problem() {
      const files = Array.from(input.files || []);
      if (files.length > maxFiles) return input.dataset.msgCount;
      const wrongType = files.find(function (f) { return types.indexOf(f.type) < 0; });
      if (wrongType) return input.dataset.msgType.replace("{name}", wrongType.name);
      const tooBig = files.find(function (f) { return f.size > maxBytes; });
      if (tooBig) return input.dataset.msgSize.replace("{name}", tooBig.name);
      return "";
    }
    function show() {
      const p = problem();
      if (out) {
        out.textContent = p;
        out.hidden = !p;
      }
      input.setAttribute("aria-invalid", p ? "true" : "false");
      return p;
    }
    input.addEventListener("change", show);
    if (!form) return;
    form.addEventListener("submit", function (e) {
      if (show()) {
        e.preventDefault();
        input.focus();
        return;
      }
      if (!window.XMLHttpRequest || !window.FormData || !(input.files && input.files.length)) return;
      // Send it ourselves to show the progress; the answer is then shown as the browser would.
      e.preventDefault();
      const bar = document.getElementById(input.id + "-progress");
      const button = form.querySelector("button[type='submit']");
      if (button) button.disabled = true;
      if (bar) { bar.hidden = false; bar.value = 0; }
      const xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (ev) {
        if (bar && ev.lengthComputable) bar.value = Math.round(100 * ev.loaded / ev.total);
      });
      xhr.addEventListener("load", function () {
        const url = xhr.responseURL || form.action;
        if (xhr.status < 300 && url !== form.action) {
          location.assign(url);
          return;
        }
        document.open();
        document.write(xhr.responseText);
        document.close();
      });
      xhr.addEventListener("error", function () {
        if (button) button.disabled = false;
        if (bar) bar.hidden = true;
        if (out) { out.textContent = input.dataset.msgNetwork; out.hidden = false; }
      });
      xhr.send(new FormData(form));
    });
  });
})();

// A print button (the printable credit report): no inline handler, the page's CSP allows none.
(function () {
  document.querySelectorAll("[data-print]").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
})();

// A camera button for a code field (the volunteer's check-in): the phone's camera reads the
// QR into the field (BarcodeDetector where the browser has it, else jsQR) and sends the form.
// Without a camera or permission, the field stays for typing.
(function () {
  document.querySelectorAll("button[data-camera-into]").forEach(function (b) {
    const input = document.querySelector(b.dataset.cameraInto);
    const video = document.querySelector(b.dataset.cameraVideo);
    if (!input || !video || !navigator.mediaDevices) { b.hidden = true; return; }
    b.hidden = false;
    b.addEventListener("click", async function () {
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
      } catch (e) {
        b.textContent = b.dataset.msgFailed;
        return;
      }
      video.srcObject = stream;
      video.hidden = false;
      await video.play();
      let detect;
      if ("BarcodeDetector" in window) {
        const d = new BarcodeDetector({ formats: ["qr_code"] });
        detect = async function () { return (await d.detect(video)).map(function (x) { return x.rawValue; })[0]; };
      } else {
        if (!window.jsQR) {
          await new Promise(function (ok, fail) {
            const s = document.createElement("script");
            s.src = "/scan/jsqr.js"; s.onload = ok; s.onerror = fail;
            document.head.appendChild(s);
          });
        }
        const canvas = document.createElement("canvas");
        const g = canvas.getContext("2d", { willReadFrequently: true });
        detect = async function () {
          if (!video.videoWidth) return undefined;
          canvas.width = video.videoWidth; canvas.height = video.videoHeight;
          g.drawImage(video, 0, 0);
          const img = g.getImageData(0, 0, canvas.width, canvas.height);
          const found = window.jsQR(img.data, img.width, img.height, { inversionAttempts: "dontInvert" });
          return found ? found.data : undefined;
        };
      }
      const tick = async function () {
        const text = await detect().catch(function () { return undefined; });
        if (text) {
          stream.getTracks().forEach(function (t) { t.stop(); });
          video.hidden = true;
          input.value = text;
          input.form.submit();
          return;
        }
        setTimeout(tick, 150);
      };
      tick();
    });
  });
})();
