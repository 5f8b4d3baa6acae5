// Check a points entry's receipt in the browser (served at /assets/receipt.js; the entries page
// loads it): the log's signature on the checkpoint (a C2SP signed note, Ed25519 by WebCrypto),
// the witnesses' cosignatures on it (C2SP cosignature/v1) up to the trust policy's quorum, the
// RFC 6962 inclusion proof of the entry's leaf in that checkpoint's tree, and that the leaf is
// this resident's (the opening of their commitment) with the amount the page shows. The same
// checks as `moralbank verify --policy` (docs/ledger.md), which remains the independent route:
// this script and the policy it checks against come from the server itself.
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

  // A vkey `<name>+<key id, 8 hex>+<base64 of type ‖ 32-byte key>`, its id checked: a name has
  // no '+', base64 may.
  async function parseVkey(vkey, type) {
    const v = vkey.trim();
    const first = v.indexOf("+");
    const name = first > 0 ? v.slice(0, first) : "";
    const keyId = v.slice(first + 1, first + 9);
    const keyB64 = v.charAt(first + 9) === "+" ? v.slice(first + 10) : "";
    let key;
    try { key = b64(keyB64 || ""); } catch (_) { throw refuse("bad_key"); }
    if (!name || !keyId || key.length !== 33 || key[0] !== type) throw refuse("bad_key");
    const id = (await sha256(concat(enc.encode(name + "\n"), key))).slice(0, 4);
    if (hex(id) !== keyId) throw refuse("bad_key");
    const pub = await crypto.subtle.importKey("raw", key.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name: name, id: id, pub: pub };
  }

  // The note's body (up to the blank line, its newline included) and its signature lines.
  function splitNote(note) {
    const split = note.indexOf("\n\n");
    if (split < 0) throw refuse("bad_checkpoint");
    return {
      body: note.slice(0, split + 1),
      sigs: note.slice(split + 2).split("\n").filter(function (l) { return l; })
    };
  }

  // The signature blobs (key id ‖ signature) of lines by `k` of `length` bytes.
  function linesBy(sigs, k, length) {
    const prefix = "\u2014 " + k.name + " ";
    return sigs.filter(function (l) { return l.startsWith(prefix); }).map(function (l) {
      try { return b64(l.slice(prefix.length)); } catch (_) { return null; }
    }).filter(function (raw) { return raw && raw.length === length && same(raw.slice(0, 4), k.id); });
  }

  // The checkpoint: its signature by the log's key, then origin, size and root hash.
  async function checkpoint(note, vkey) {
    const k = await parseVkey(vkey, 1);
    const n = splitNote(note);
    const raw = linesBy(n.sigs, k, 68)[0];
    if (!raw) throw refuse("no_signature");
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, k.pub, raw.slice(4), enc.encode(n.body));
    if (!ok) throw refuse("bad_signature");
    const lines = n.body.split("\n");
    const size = Number(lines[1]);
    let root;
    try { root = b64(lines[2] || ""); } catch (_) { throw refuse("bad_checkpoint"); }
    if (lines[0] !== k.name || !Number.isSafeInteger(size) || root.length !== 32) throw refuse("bad_checkpoint");
    return { origin: lines[0], size: size, root: root };
  }

  // The witnesses of the policy whose cosignature/v1 on the note verifies: key id ‖ timestamp
  // (u64, big-endian) ‖ Ed25519 over "cosignature/v1\ntime <timestamp>\n" and the body. A
  // cosignature by a known witness that does not verify refuses the whole checkpoint.
  async function cosigners(note, policy) {
    const n = splitNote(note);
    const have = [];
    const missing = [];
    for (const w of policy.witnesses) {
      const k = await parseVkey(w, 4);
      let ok = false;
      for (const raw of linesBy(n.sigs, k, 76)) {
        let ts = 0;
        for (let i = 4; i < 12; i++) ts = ts * 256 + raw[i];
        if (!Number.isSafeInteger(ts)) throw refuse("bad_cosignature");
        const msg = enc.encode("cosignature/v1\ntime " + ts + "\n" + n.body);
        if (!(await crypto.subtle.verify({ name: "Ed25519" }, k.pub, raw.slice(12), msg))) throw refuse("bad_cosignature");
        ok = true;
      }
      (ok ? have : missing).push(k.name);
    }
    return { have: have, missing: missing };
  }

  // The trust policy (/log/policy): `log <vkey>`, `witness <vkey>` lines, `quorum <n>`. A bare
  // vkey is a policy without witnesses.
  function policyOf(text) {
    if (typeof text !== "string") return text;
    if (!/^\s*(#|log |witness |quorum )/m.test(text)) return { log: text.trim(), witnesses: [], quorum: 0 };
    const p = { log: null, witnesses: [], quorum: 0 };
    text.split("\n").forEach(function (raw) {
      const line = raw.split("#")[0].trim();
      if (!line) return;
      const sp = line.indexOf(" ");
      const word = sp > 0 ? line.slice(0, sp) : line;
      const value = sp > 0 ? line.slice(sp + 1).trim() : "";
      if (word === "log" && !p.log) p.log = value;
      else if (word === "witness") p.witnesses.push(value);
      else if (word === "quorum" && /^\d+$/.test(value)) p.quorum = Number(value);
      else throw refuse("bad_policy");
    });
    if (!p.log || p.quorum > p.witnesses.length) throw refuse("bad_policy");
    return p;
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

  async function verify(receipt, policyText, index) {
    const policy = policyOf(policyText);
    if (receipt.format !== "moralbank-receipt/v1") throw refuse("bad_format");
    if (index !== undefined && receipt.index !== index) throw refuse("bad_format");
    const leaf = b64(receipt.entry);
    const cp = await checkpoint(receipt.checkpoint, policy.log);
    const witnessed = await cosigners(receipt.checkpoint, policy);
    if (witnessed.have.length < policy.quorum) {
      const e = refuse("no_quorum");
      e.missing = witnessed.missing;
      throw e;
    }
    const root = await inclusionRoot(leaf, receipt.index, cp.size, receipt.proof.map(b64));
    if (!same(root, cp.root)) throw refuse("not_included");
    const entry = await leafFor(leaf, receipt.opening);
    return { index: receipt.index, size: cp.size, origin: cp.origin, entry: entry, cosigners: witnessed.have };
  }
  window.MoralBankReceipt = { verify: verify };

  // The entries page: a button per entry (hidden without this script).
  const messages = document.getElementById("receipt-messages");
  if (!messages || !window.crypto || !crypto.subtle) return;
  const M = JSON.parse(messages.textContent);
  const labelsEl = document.getElementById("witness-labels");
  const labels = labelsEl ? JSON.parse(labelsEl.textContent) : {};
  const named = function (names) { return names.map(function (n) { return labels[n] || n; }).join("、"); };
  let policy = null;
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
        if (!policy) policy = await (await fetch("/log/policy", { cache: "no-store" })).text();
        const r = await fetch("/me/entries/" + button.dataset.index + "/receipt", { credentials: "same-origin", cache: "no-store" });
        if (!r.ok) throw refuse("unavailable");
        const v = await verify(await r.json(), policy, Number(button.dataset.index));
        const shown = Number(button.dataset.amount);
        if (v.entry.amount !== shown) throw refuse("amount_differs");
        out.className = "success";
        out.dataset.state = "verified";
        out.textContent = M.ok.replace("{index}", v.index).replace("{size}", v.size)
          .replace("{amount}", (v.entry.amount > 0 ? "+" : "") + v.entry.amount)
          + (v.cosigners.length ? " " + M.witnessed.replace("{witnesses}", named(v.cosigners)) : "");
      } catch (e) {
        out.className = "error";
        out.dataset.state = "refused";
        out.textContent = M.failed + " " + (M["why." + e.reason] || M["why.unavailable"])
          .replace("{missing}", named(e.missing || []));
      }
    });
  });
})();
