// The scanner's service worker: keeps the scanner page and its scripts so that a scanner that
// lost its network still opens and verifies codes (the key set is kept by the page itself).
// Network first, the cache only when the network fails; nothing but these five is cached
// (the page's style sheet too: pages carry no inline style).
const CACHE = 'moralbank-scan-v2';
const ASSETS = ['/scan', '/scan/verify.js', '/scan/scan.js', '/scan/jsqr.js', '/assets/app.css'];

self.addEventListener('install', (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(ASSETS)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (e) => {
  e.waitUntil(caches.keys()
    .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (e.request.method !== 'GET' || url.origin !== self.location.origin || !ASSETS.includes(url.pathname)) return;
  e.respondWith(fetch(e.request).then(async (r) => {
    const cache = await caches.open(CACHE);
    if (r.ok && !r.redirected) await cache.put(url.pathname, r.clone());
    // Signed out (sent to the sign-in page): forget the cached page.
    else if (r.redirected && url.pathname === '/scan') await cache.delete('/scan');
    return r;
  }).catch(async () => (await caches.match(url.pathname)) || Response.error()));
});
