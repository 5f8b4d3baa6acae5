// Check a points entry's receipt in the browser (served at /assets/receipt.js; the entries page
// loads it): the log's signature on the checkpoint (a C2SP signed note, Ed25519 by WebCrypto),
// the RFC 6962 inclusion proof of the entry's leaf in that checkpoint's tree, and that the leaf
// is this resident's (the opening of their commitment) with the amount the page shows. The
// same checks as `moralbank verify` (docs/ledger.md), which remains the independent route: this
// script and the key it checks against come from the server itself.
(function () {
  "use strict";
  const enc = new TextEncoder();

  function b64(s) {
    const bin = atob(s);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  function hex(bytes) {
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }
  function unhex(s) {
    if (!/^([0-9a-f]{2})*$/.test(s)) throw new Error("hex");
    const out = new Uint8Array(s.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(s.substr(i * 2, 2), 16);
    return out;
  }
  function concat() {
    const parts = Array.from(arguments);
    const out = new Uint8Array(parts.reduce(function (n, p) { return n + p.length; }, 0));
    let at = 0;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }
  function same(a, b) {
    return a.length === b.length && a.every(function (x, i) { return x === b[i]; });
  }

  // A refusal with its reason's key (the page shows its text in the reader's language).
  function refuse(reason) {
    const e = new Error(reason);
    e.reason = reason;
    return e;
  }

  // The checkpoint: its signature by the log's key, then origin, size and root hash.
  async function checkpoint(note, vkey) {
    // `<name>+<key id, 8 hex>+<base64 of 0x01 ‖ key>`: a name has no '+', base64 may.
    const v = vkey.trim();
    const first = v.indexOf("+");
    const name = first > 0 ? v.slice(0, first) : "";
    const keyId = v.slice(first + 1, first + 9);
    const keyB64 = v.charAt(first + 9) === "+" ? v.slice(first + 10) : "";
    const key = b64(keyB64 || "");
    if (!name || !keyId || key.length !== 33 || key[0] !== 1) throw refuse("bad_key");
    const expectId = (await sha256(concat(enc.encode(name + "\n"), key))).slice(0, 4);
    if (hex(expectId) !== keyId) throw refuse("bad_key");
    const split = note.indexOf("\n\n");
    if (split < 0) throw refuse("bad_checkpoint");
    const body = note.slice(0, split + 1);
    const sigs = note.slice(split + 2).split("\n").filter(function (l) { return l; });
    const prefix = "\u2014 " + name + " ";
    const line = sigs.find(function (l) {
      if (!l.startsWith(prefix)) return false;
      let raw;
      try { raw = b64(l.slice(prefix.length)); } catch (_) { return false; }
      return raw.length === 68 && same(raw.slice(0, 4), expectId);
    });
    if (!line) throw refuse("no_signature");
    const sig = b64(line.slice(prefix.length)).slice(4);
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, pub, sig, enc.encode(body));
    if (!ok) throw refuse("bad_signature");
    const lines = body.split("\n");
    const size = Number(lines[1]);
    const root = b64(lines[2] || "");
    if (lines[0] !== name || !Number.isSafeInteger(size) || root.length !== 32) throw refuse("bad_checkpoint");
    return { origin: lines[0], size: size, root: root };
  }

  // RFC 9162 §2.1.3.2: the root the proof gives for the leaf at `index` in a tree of `size`.
  async function inclusionRoot(leaf, index, size, proof) {
    if (index >= size) throw refuse("beyond_tree");
    let fn = index;
    let sn = size - 1;
    let r = await sha256(concat(new Uint8Array([0]), leaf));
    for (const p of proof) {
      if (p.length !== 32 || sn === 0) throw refuse("bad_proof");
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat(new Uint8Array([1]), p, r));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
        }
      } else {
        r = await sha256(concat(new Uint8Array([1]), r, p));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    if (sn !== 0) throw refuse("bad_proof");
    return r;
  }

  // The leaf's fields (moralbank-entry/v1) and, with the opening, this resident's amount.
  async function leafFor(leaf, opening) {
    const text = new TextDecoder().decode(leaf);
    const lines = text.split("\n");
    if (lines[0] !== "moralbank-entry/v1") throw refuse("bad_entry");
    const field = function (k) {
      const l = lines.find(function (x) { return x.startsWith(k + " "); });
      return l === undefined ? null : l.slice(k.length + 1);
    };
    const postings = lines.filter(function (l) { return l.startsWith("posting "); }).map(function (l) {
      const [, account, amount] = l.split(" ");
      return { account: account, amount: Number(amount) };
    });
    let mine = null;
    if (opening) {
      const salt = unhex(opening.salt);
      if (salt.length !== 32) throw refuse("not_yours");
      const commitment = await sha256(concat(enc.encode("moralbank-commitment/v1"), new Uint8Array([0]), salt, enc.encode(opening.citizen_id)));
      const p = postings.find(function (x) { return x.account === "citizen:" + hex(commitment); });
      if (!p) throw refuse("not_yours");
      mine = p.amount;
    }
    return { kind: field("kind"), rule: field("rule"), at: Number(field("at")), amount: mine };
  }

  async function verify(receipt, vkey, index) {
    if (receipt.format !== "moralbank-receipt/v1") throw refuse("bad_format");
    if (index !== undefined && receipt.index !== index) throw refuse("bad_format");
    const leaf = b64(receipt.entry);
    const cp = await checkpoint(receipt.checkpoint, vkey);
    const root = await inclusionRoot(leaf, receipt.index, cp.size, receipt.proof.map(b64));
    if (!same(root, cp.root)) throw refuse("not_included");
    const entry = await leafFor(leaf, receipt.opening);
    return { index: receipt.index, size: cp.size, origin: cp.origin, entry: entry };
  }
  window.MoralBankReceipt = { verify: verify };

  // The entries page: a button per entry (hidden without this script).
  const messages = document.getElementById("receipt-messages");
  if (!messages || !window.crypto || !crypto.subtle) return;
  const M = JSON.parse(messages.textContent);
  let vkey = null;
  // The buttons appear only where this browser can check an Ed25519 signature (WebCrypto).
  // (RFC 8032's first test key.)
  const probe = unhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
  crypto.subtle.importKey("raw", probe, { name: "Ed25519" }, false, ["verify"])
    .then(function () {
      document.querySelectorAll("button.verify-here").forEach(function (b) { b.hidden = false; });
    }, function () { /* no Ed25519 here: the download and `moralbank verify` remain */ });
  document.querySelectorAll("button.verify-here").forEach(function (button) {
    button.addEventListener("click", async function () {
      const out = document.getElementById("verified-" + button.dataset.index);
      out.hidden = false;
      out.className = "notice";
      out.textContent = M.checking;
      try {
        if (!vkey) vkey = await (await fetch("/log/vkey", { cache: "no-store" })).text();
        const r = await fetch("/me/entries/" + button.dataset.index + "/receipt", { credentials: "same-origin", cache: "no-store" });
        if (!r.ok) throw refuse("unavailable");
        const v = await verify(await r.json(), vkey, Number(button.dataset.index));
        const shown = Number(button.dataset.amount);
        if (v.entry.amount !== shown) throw refuse("amount_differs");
        out.className = "success";
        out.dataset.state = "verified";
        out.textContent = M.ok.replace("{index}", v.index).replace("{size}", v.size)
          .replace("{amount}", (v.entry.amount > 0 ? "+" : "") + v.entry.amount);
      } catch (e) {
        out.className = "error";
        out.dataset.state = "refused";
        out.textContent = M.failed + " " + (M["why." + e.reason] || M["why.unavailable"]);
      }
    });
  });
})();
