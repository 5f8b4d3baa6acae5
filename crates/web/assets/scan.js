// The partner's scanner page (扫码核验). It verifies a moral code in the browser, with the
// issuer's key set it caches, so a scan is accepted or refused without the server; it reports
// each verified scan to the resident's access log (later, if offline) and, online, redeems one
// of the partner's benefits. See crates/web/src/scanner.rs and docs/moral-code.md §8.
import { importKeySet, verifyCode } from '/scan/verify.js';

const root = document.getElementById('scanner');
const csrf = root.dataset.csrf;
const skew = Number(root.dataset.skew);
const M = JSON.parse(document.getElementById('scan-messages').textContent);
const KEYS_STORE = 'moralbank.scan.jwks';
const PENDING_STORE = 'moralbank.scan.pending';
const PENDING_MAX = 500;
const $ = (id) => document.getElementById(id);
// The status line (network, keys) means something only with this script running.
$('scanner-status').hidden = false;

let keys = null;        // Map kid -> CryptoKey
let current = null;     // {text, claims, keys}: the last code that verified, a key per benefit
let online = navigator.onLine;

function setNet(up) {
  online = up;
  $('net').textContent = up ? M.online : M.offline;
  $('net').dataset.state = up ? 'online' : 'offline';
  updateRedeem();
}

// A moment as the rest of the app shows it: China Standard Time (UTC+8), whatever the
// scanning device's own time zone and language.
function cst(ms, withDate) {
  const d = new Date(ms + 8 * 3600 * 1000);
  const p = (n) => String(n).padStart(2, '0');
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return withDate ? `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${time}` : time;
}

function readStored() {
  try { return JSON.parse(localStorage.getItem(KEYS_STORE) || 'null'); } catch { return null; }
}

// The newest key set we have: the one fetched last, or the one the page came with.
async function useKeySet(jwks, fetchedAt, source) {
  try {
    keys = await importKeySet(jwks);
    $('keys').textContent = `${M.keys} ${keys.size} · ${cst(fetchedAt, true)}`;
    $('keys').dataset.source = source;
    return true;
  } catch (e) {
    $('keys').textContent = `${M.keys_bad} ${e.message}`;
    return false;
  }
}

async function loadKeys() {
  const embedded = JSON.parse(document.getElementById('jwks').textContent);
  const servedAt = Number(root.dataset.servedAt);
  const stored = readStored();
  if (stored && stored.fetchedAt > servedAt) await useKeySet(stored.jwks, stored.fetchedAt, 'stored');
  else await useKeySet(embedded, servedAt, 'page');
  await refreshKeys();
}

async function refreshKeys() {
  try {
    const r = await fetch('/.well-known/moral-code/keys', { cache: 'no-cache' });
    if (!r.ok) throw new Error(String(r.status));
    const jwks = await r.json();
    const fetchedAt = Date.now();
    if (await useKeySet(jwks, fetchedAt, 'fetched')) {
      localStorage.setItem(KEYS_STORE, JSON.stringify({ jwks, fetchedAt }));
    }
    setNet(true);
    flushScans();
  } catch {
    setNet(false);
  }
}

// A partner without benefits has no redemption form: the page still verifies codes.
function benefitOptions() {
  return $('benefit') ? [...$('benefit').options].filter((o) => o.value) : [];
}

// Which of this partner's benefits the code's tier and badges open.
function opens(o, claims) {
  return claims.tier >= Number(o.dataset.minTier)
    && (!o.dataset.badge || claims.badges.includes(o.dataset.badge));
}

function show(kind, title, lines) {
  const box = $('result');
  box.hidden = false;
  box.className = `card result ${kind}`;
  box.dataset.state = kind;
  $('result-title').textContent = title;
  const list = $('result-lines');
  list.replaceChildren(...lines.map((l) => { const li = document.createElement('li'); li.textContent = l; return li; }));
  if ($('decision')) {
    $('decision').hidden = true;
    $('decision').textContent = '';
  }
}

function refusalText(r) {
  const base = M['verify.' + r.error] || r.error;
  if (r.error === 'expired') return `${base} (${cst(r.expiresAt * 1000, false)})`;
  if (r.claim) return `${base}: ${r.claim}`;
  return base;
}

async function handle(raw) {
  const text = raw.trim();
  if (!text) return;
  current = null;
  if (!keys) {
    show('refused', M.refused, [M['verify.no_keys']]);
    updateRedeem();
    return;
  }
  const r = await verifyCode(text, keys, Math.floor(Date.now() / 1000), skew);
  if (!r.ok) {
    show('refused', M.refused, [refusalText(r)]);
    updateRedeem();
    return;
  }
  const c = r.claims;
  const lines = [
    `${M.tier} ${c.tier}`,
    `${M.name} ${c.maskedName}`,
    ...c.badges.map((b) => M['badge.' + b] || b),
    `${M.valid_until} ${cst(c.expiresAt * 1000, true)}`,
  ];
  if (c.printedCard) lines.push(M.printed);
  const open = benefitOptions().filter((o) => opens(o, c)).map((o) => o.textContent.trim());
  lines.push(open.length ? `${M.opens} ${open.join('；')}` : M.opens_none);
  show('ok', M.ok, lines);
  current = { text, claims: c, keys: {} };
  queueScan(text);
  updateRedeem();
}

function updateRedeem() {
  const b = $('redeem');
  if (!b) return;
  b.disabled = !current || !$('benefit').value;
  $('redeem-hint').textContent = current && !online ? M.redeem_offline
    : current && !$('benefit').value ? M.choose_benefit : '';
}

// Scans verified offline wait here until the server can be told (the resident's access log).
function queueScan(text) {
  let pending = [];
  try { pending = JSON.parse(localStorage.getItem(PENDING_STORE) || '[]'); } catch { pending = []; }
  pending.push({ code: text, scanned_at: Date.now() });
  localStorage.setItem(PENDING_STORE, JSON.stringify(pending.slice(-PENDING_MAX)));
  flushScans();
}

let flushing = false;
async function flushScans() {
  if (flushing) return;
  flushing = true;
  try {
    for (;;) {
      let pending = [];
      try { pending = JSON.parse(localStorage.getItem(PENDING_STORE) || '[]'); } catch { pending = []; }
      if (!pending.length) break;
      let r;
      try {
        r = await fetch('/scan/seen', {
          method: 'POST', credentials: 'same-origin',
          headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
          body: JSON.stringify(pending[0]),
        });
      } catch {
        setNet(false);
        break;
      }
      // 401/403: signed out, keep the queue for the next sign-in; a server error: try later.
      // Any other answer (recorded, or a code the server refuses) is final.
      if (r.status === 401 || r.status === 403 || r.status >= 500) break;
      setNet(true);
      pending.shift();
      localStorage.setItem(PENDING_STORE, JSON.stringify(pending));
    }
  } finally {
    flushing = false;
    let left = 0;
    try { left = JSON.parse(localStorage.getItem(PENDING_STORE) || '[]').length; } catch { left = 0; }
    $('pending').textContent = left ? `${M.pending} ${left}` : '';
  }
}

async function redeem() {
  if (!current || !$('benefit').value) return;
  // One idempotency key per scan and benefit: pressing Redeem again (a retry after the
  // network failed) cannot count twice.
  const benefit = $('benefit').value;
  current.keys[benefit] ||= crypto.randomUUID();
  const key = current.keys[benefit];
  const out = $('decision');
  out.hidden = false;
  out.className = 'notice';
  out.dataset.state = 'waiting';
  out.textContent = M.redeeming;
  let r;
  try {
    r = await fetch('/scan/redeem', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
      body: JSON.stringify({ code: current.text, benefit_id: benefit, idempotency_key: key }),
    });
  } catch {
    setNet(false);
    out.dataset.state = 'offline';
    out.textContent = M.redeem_offline;
    return;
  }
  setNet(true);
  let body = {};
  try { body = await r.json(); } catch { body = {}; }
  if (!r.ok) {
    out.className = 'error';
    out.dataset.state = 'error';
    out.textContent = body.detail || body.title || String(r.status);
    return;
  }
  out.className = body.granted ? 'success' : 'error';
  out.dataset.state = body.granted ? 'granted' : 'refused';
  // A repeated press (the same scan and benefit) is answered with the first decision: say so,
  // so the clerk does not grant the benefit twice at the counter.
  out.dataset.replayed = body.replayed ? 'true' : 'false';
  out.textContent = body.replayed
    ? (body.granted ? M.granted_before : `${M.not_granted} ${M['refusal.' + body.reason] || body.reason}`)
    : body.granted ? M.granted : `${M.not_granted} ${M['refusal.' + body.reason] || body.reason}`;
  flushScans();
}

// Camera: BarcodeDetector where the browser has it, else jsQR on video frames.
let stream = null;
async function startCamera() {
  const video = $('video');
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
  } catch (e) {
    $('camera-status').textContent = `${M.camera_failed} ${e.message}`;
    return;
  }
  video.srcObject = stream;
  video.hidden = false;
  await video.play();
  $('camera-status').textContent = M.camera_on;
  let detect;
  if ('BarcodeDetector' in window && (await BarcodeDetector.getSupportedFormats()).includes('qr_code')) {
    const d = new BarcodeDetector({ formats: ['qr_code'] });
    detect = async () => (await d.detect(video)).map((x) => x.rawValue)[0];
  } else {
    if (!window.jsQR) {
      await new Promise((ok, fail) => {
        const s = document.createElement('script');
        s.src = '/scan/jsqr.js'; s.onload = ok; s.onerror = fail;
        document.head.appendChild(s);
      });
    }
    const canvas = document.createElement('canvas');
    const g = canvas.getContext('2d', { willReadFrequently: true });
    detect = async () => {
      if (!video.videoWidth) return undefined;
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      g.drawImage(video, 0, 0);
      const img = g.getImageData(0, 0, canvas.width, canvas.height);
      const found = window.jsQR(img.data, img.width, img.height, { inversionAttempts: 'dontInvert' });
      return found ? found.data : undefined;
    };
  }
  const tick = async () => {
    if (!stream) return;
    const text = await detect().catch(() => undefined);
    if (text) { stopCamera(); handle(text); return; }
    setTimeout(tick, 150);
  };
  tick();
}

function stopCamera() {
  if (stream) stream.getTracks().forEach((t) => t.stop());
  stream = null;
  $('video').hidden = true;
  $('camera-status').textContent = '';
}

// A hardware scanner types the code and presses Enter (the form's submit); one that sends no
// Enter is caught when typing pauses.
const input = $('code-input');
let pause;
$('scan-form').addEventListener('submit', (e) => {
  e.preventDefault();
  clearTimeout(pause);
  const text = input.value;
  input.value = '';
  handle(text);
});
input.addEventListener('input', () => {
  clearTimeout(pause);
  if (input.value.startsWith('MB1:')) {
    pause = setTimeout(() => { const t = input.value; input.value = ''; handle(t); }, 400);
  }
});
$('camera').addEventListener('click', () => (stream ? stopCamera() : startCamera()));
if ($('redeem')) {
  $('redeem').addEventListener('click', redeem);
  $('benefit').addEventListener('change', updateRedeem);
}
window.addEventListener('online', refreshKeys);
window.addEventListener('offline', () => setNet(false));
setInterval(refreshKeys, 60000);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/scan/sw.js', { scope: '/scan' }).catch(() => {});
}
setNet(online);
loadKeys().then(() => { root.dataset.ready = '1'; input.focus(); });
