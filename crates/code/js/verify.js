// Moral code (道德码) verifier for the browser: checks an `MB1:` code offline against the
// issuer's published key set (JWKS), with WebCrypto's Ed25519. No dependencies; an ES module.
// The format and each step are in docs/moral-code.md; this file follows the Rust verifier
// (crates/code/src/code.rs) step for step and answers with the same error names, which a Rust
// test checks by running both over the same codes.
//
//   import { importKeySet, verifyCode } from './verify.js';
//   const keys = await importKeySet(await (await fetch('/.well-known/moral-code/keys')).json());
//   const result = await verifyCode(scannedText, keys, Math.floor(Date.now() / 1000));
//   if (result.ok) show(result.claims); else refuse(result.error, result.claim);
//
// WebCrypto Ed25519 is in Chrome 137+, Firefox 129+, Safari 17+ and Node.js 20+.

export const PREFIX = 'MB1:';
export const CODE_CHARS_MAX = 1024;
export const DEFAULT_CLOCK_SKEW_S = 30;
export const KEYS_MAX = 32;

const COSE_SIGN1_TAG = 18n;
const ALG_EDDSA = -8n;
const NESTING_MAX = 16;
const BADGES_MAX = 8;
const I64_MIN = -(2n ** 63n);
const I64_MAX = 2n ** 63n - 1n;
const BASE45 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** A key set that cannot be used (the message says why). */
export class KeySetError extends Error {}

/**
 * The Ed25519 keys of a JWKS document (the parsed JSON), by kid. Keys of another type or use
 * are skipped (RFC 7517 §5); a malformed Ed25519 key, a kid that is not the key's own
 * (base64url of the first 8 bytes of SHA-256 of the public key), a private part, a repeated
 * kid, or no usable key at all is an error.
 */
export async function importKeySet(jwks, subtle = globalThis.crypto.subtle) {
  if (!jwks || !Array.isArray(jwks.keys)) throw new KeySetError('not a JWKS: no "keys" array');
  const keys = new Map();
  for (const jwk of jwks.keys) {
    const ed25519 = jwk && jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
      && (jwk.alg === undefined || jwk.alg === 'EdDSA')
      && (jwk.use === undefined || jwk.use === 'sig');
    if (!ed25519) continue;
    if (jwk.d !== undefined) throw new KeySetError('the public key set holds a private key');
    const x = base64urlDecode(jwk.x);
    if (!x || x.length !== 32) throw new KeySetError('a key\'s "x" is not 32 bytes of base64url');
    const digest = new Uint8Array(await subtle.digest('SHA-256', x));
    const kid = base64urlEncode(digest.subarray(0, 8));
    if (jwk.kid !== kid) throw new KeySetError(`a key's "kid" is not ${kid}`);
    if (keys.has(kid)) throw new KeySetError(`two keys have the kid ${kid}`);
    const publicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x };
    keys.set(kid, await subtle.importKey('jwk', publicJwk, { name: 'Ed25519' }, false, ['verify']));
  }
  if (keys.size === 0) throw new KeySetError('the key set holds no Ed25519 signing key');
  if (keys.size > KEYS_MAX) throw new KeySetError(`more than ${KEYS_MAX} keys`);
  return keys;
}

/**
 * Verify a scanned code: `{ok: true, claims}` or `{ok: false, error, claim?}` where `error` is
 * one of too_large, wrong_prefix, not_base45, not_cose, unsupported_algorithm, unknown_key,
 * bad_signature, missing_claim, bad_claim, expired, not_yet_valid (`claim` names the claim of
 * missing_claim and bad_claim). `now` is in unix seconds.
 */
export async function verifyCode(text, keys, now, skew = DEFAULT_CLOCK_SKEW_S,
  subtle = globalThis.crypto.subtle) {
  // A hardware scanner types Enter after the code; a space is a Base45 digit, so only CR/LF go.
  text = String(text).replace(/[\r\n]+$/, '');
  // Length in UTF-8 bytes, as the Rust verifier counts (never fewer than UTF-16 units).
  if (text.length > CODE_CHARS_MAX || utf8.encode(text).length > CODE_CHARS_MAX) {
    return fail('too_large');
  }
  if (!text.startsWith(PREFIX)) return fail('wrong_prefix');
  const bytes = base45Decode(text.slice(PREFIX.length));
  if (!bytes) return fail('not_base45');

  const sign1 = decodeOrNull(bytes);
  const parts = sign1 && sign1.tag === COSE_SIGN1_TAG && sign1.value;
  if (!Array.isArray(parts) || parts.length !== 4) return fail('not_cose');
  const [protectedBytes, unprotected, payload, signature] = parts;
  if (!(protectedBytes instanceof Uint8Array) || !(unprotected instanceof CborMap)
    || !(payload instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
    return fail('not_cose');
  }

  const header = decodeOrNull(protectedBytes);
  if (!(header instanceof CborMap) || !header.labelsOk(true)) return fail('not_cose');
  if (header.get(1n) !== ALG_EDDSA) return fail('unsupported_algorithm');
  const kid = header.get(4n);
  const key = kid instanceof Uint8Array && kid.length === 8 && keys.get(base64urlEncode(kid));
  if (!key) return fail('unknown_key');

  if (signature.length !== 64) return fail('bad_signature');
  let signed = false;
  try {
    signed = await subtle.verify({ name: 'Ed25519' }, key, signature,
      sigStructure(protectedBytes, payload));
  } catch {
    signed = false;
  }
  if (!signed) return fail('bad_signature');

  const map = decodeOrNull(payload);
  if (!(map instanceof CborMap) || !map.labelsOk(false)) return fail('not_cose');
  const result = readClaims(map);
  if (!result.ok) return result;
  const { claims } = result;
  const [nowN, skewN] = [BigInt(Math.floor(now)), BigInt(Math.floor(skew))];
  if (nowN >= BigInt(claims.expiresAt) + skewN) {
    return { ok: false, error: 'expired', expiresAt: claims.expiresAt };
  }
  if (BigInt(claims.issuedAt) > nowN + skewN) {
    return { ok: false, error: 'not_yet_valid', issuedAt: claims.issuedAt };
  }
  return result;
}

function fail(error, claim) {
  return claim === undefined ? { ok: false, error } : { ok: false, error, claim };
}

// The claims, in the order the format lists them; unknown claims are ignored.
function readClaims(map) {
  const text = (v, ok) => (typeof v === 'string' && ok(v) ? v : undefined);
  const i64 = (v) => (typeof v === 'bigint' && v >= I64_MIN && v <= I64_MAX ? v : undefined);
  const bytes16 = (v) => (v instanceof Uint8Array && v.length === 16 ? hex(v) : undefined);
  const steps = [
    [map, 1n, 'iss', (v) => text(v, (s) => /^[\x21-\x7e]{1,64}$/.test(s))],
    [map, 4n, 'exp', i64],
    [map, 6n, 'iat', i64],
    [map, 7n, 'cti', bytes16],
    [map, -65537n, 'moralbank', (v) => (v instanceof CborMap && v.labelsOk(false) ? v : undefined)],
  ];
  const got = {};
  for (const [m, label, name, parse] of steps) {
    if (!m.has(label)) return fail('missing_claim', name);
    const value = parse(m.get(label));
    if (value === undefined) return fail('bad_claim', name);
    got[name] = value;
  }
  const mb = got.moralbank;
  const inner = [
    [1n, 'pseudonym', bytes16],
    [2n, 'tier', (v) => (typeof v === 'bigint' && v >= 0n && v <= 255n ? Number(v) : undefined)],
    [3n, 'badges', (v) => (Array.isArray(v) && v.length <= BADGES_MAX
      && v.every((b) => typeof b === 'string' && /^[a-z0-9-]{1,24}$/.test(b)) ? v : undefined)],
    [4n, 'masked_name', (v) => text(v, (s) => [...s].length >= 1 && [...s].length <= 16
      && !/[\u0000-\u001f\u007f-\u009f]/.test(s))],
    [5n, 'printed_card', (v) => (typeof v === 'boolean' ? v : undefined)],
  ];
  for (const [label, name, parse] of inner) {
    if (!mb.has(label)) return fail('missing_claim', name);
    const value = parse(mb.get(label));
    if (value === undefined) return fail('bad_claim', name);
    got[name] = value;
  }
  if (got.exp <= got.iat) return fail('bad_claim', 'exp');
  return {
    ok: true,
    claims: {
      issuer: got.iss,
      issuedAt: Number(got.iat),
      expiresAt: Number(got.exp),
      codeId: got.cti,
      printedCard: got.printed_card,
      pseudonym: got.pseudonym,
      tier: got.tier,
      badges: got.badges,
      maskedName: got.masked_name,
    },
  };
}

/** RFC 9052 §4.4's Sig_structure for a COSE_Sign1 without external data: what was signed. */
export function sigStructure(protectedBytes, payload) {
  const context = utf8.encode('Signature1');
  return concat([
    Uint8Array.of(0x84),
    head(3, context.length), context,
    head(2, protectedBytes.length), protectedBytes,
    head(2, 0),
    head(2, payload.length), payload,
  ]);
}

/** Base45 (RFC 9285), or null when `text` is not Base45. */
export function base45Decode(text) {
  if (text.length % 3 === 1) return null;
  const out = new Uint8Array(Math.floor(text.length / 3) * 2 + (text.length % 3 ? 1 : 0));
  let o = 0;
  for (let i = 0; i < text.length; i += 3) {
    const digits = [...text.slice(i, i + 3)].map((c) => BASE45.indexOf(c));
    if (digits.some((d) => d < 0)) return null;
    const [c, d, e = 0] = digits;
    const n = c + d * 45 + e * 45 * 45;
    if (digits.length === 3) {
      if (n > 0xffff) return null;
      out[o++] = n >> 8;
      out[o++] = n & 0xff;
    } else {
      if (n > 0xff) return null;
      out[o++] = n;
    }
  }
  return out;
}

/** A CBOR map, its entries in the order read. */
export class CborMap {
  constructor(entries) { this.entries = entries; }

  has(label) { return this.entries.some(([k]) => k === label); }

  get(label) { const e = this.entries.find(([k]) => k === label); return e && e[1]; }

  /** Labels are ints or texts, each once; in a COSE header (`header`) any int, in claims an i64. */
  labelsOk(header) {
    const seen = new Set();
    for (const [k] of this.entries) {
      const isInt = typeof k === 'bigint' && (header || (k >= I64_MIN && k <= I64_MAX));
      if (!isInt && typeof k !== 'string') return false;
      const id = `${typeof k}:${k}`;
      if (seen.has(id)) return false;
      seen.add(id);
    }
    return true;
  }
}

/**
 * Decode one CBOR item that is all of `bytes`, within the subset a code uses: integers
 * (as BigInt), byte strings (Uint8Array), text strings, arrays, maps (CborMap), false, true,
 * null and tags ({tag, value}, only around the whole item); definite lengths and the shortest
 * encoding of every length and integer; nested at most 16 deep. Throws on anything else.
 */
export function decodeCbor(bytes) {
  let pos = 0;
  const need = (n) => {
    if (pos + n > bytes.length) throw new Error('truncated');
  };
  const argument = (ai) => {
    if (ai < 24) return BigInt(ai);
    const width = { 24: 1, 25: 2, 26: 4, 27: 8 }[ai];
    if (!width) throw new Error('indefinite length or reserved');
    need(width);
    let n = 0n;
    for (let i = 0; i < width; i++) n = (n << 8n) | BigInt(bytes[pos++]);
    const smallest = { 1: 24n, 2: 0x100n, 4: 0x10000n, 8: 0x100000000n }[width];
    if (n < smallest) throw new Error('not the shortest encoding');
    return n;
  };
  const length = (n) => {
    if (n > BigInt(bytes.length)) throw new Error('truncated');
    return Number(n);
  };
  const item = (depth) => {
    if (depth > NESTING_MAX) throw new Error('nested too deep');
    need(1);
    const initial = bytes[pos++];
    const major = initial >> 5;
    const ai = initial & 0x1f;
    if (major === 7) {
      if (ai === 20) return false;
      if (ai === 21) return true;
      if (ai === 22) return null;
      throw new Error('float or simple value');
    }
    const n = argument(ai);
    switch (major) {
      case 0: return n;
      case 1: return -1n - n;
      case 2: case 3: {
        const len = length(n);
        need(len);
        const data = bytes.slice(pos, pos + len);
        pos += len;
        return major === 2 ? data : utf8Strict.decode(data);
      }
      case 4: {
        const items = [];
        for (let i = 0n; i < n; i++) items.push(item(depth + 1));
        return items;
      }
      case 5: {
        const entries = [];
        for (let i = 0n; i < n; i++) entries.push([item(depth + 1), item(depth + 1)]);
        return new CborMap(entries);
      }
      default: // 6
        if (depth !== 0) throw new Error('a tag inside');
        return { tag: n, value: item(depth + 1) };
    }
  };
  const value = item(0);
  if (pos !== bytes.length) throw new Error('bytes after the item');
  return value;
}

function decodeOrNull(bytes) {
  try {
    return decodeCbor(bytes);
  } catch {
    return null;
  }
}

const utf8 = new TextEncoder();
const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function head(major, len) {
  if (len < 24) return Uint8Array.of((major << 5) | len);
  if (len < 0x100) return Uint8Array.of((major << 5) | 24, len);
  return Uint8Array.of((major << 5) | 25, len >> 8, len & 0xff);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function base64urlEncode(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_')
    .replace(/=+$/, '');
}

function base64urlDecode(text) {
  if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
    return null;
  }
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
