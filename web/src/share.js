// The scenario shared through the URL: `#s=` + base64url(deflate-raw(JSON)).
// Everything happens in the browser (CompressionStream); nothing is sent anywhere.
// The JSON is {text, overrides: [..], file?}; `overrides` may also be a string
// (one override per line) when someone writes such a link by hand.

async function pipe(bytes, stream) {
  const out = new Blob([bytes]).stream().pipeThrough(stream);
  return new Uint8Array(await new Response(out).arrayBuffer());
}

function toBase64url(bytes) {
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64url(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4);
  const bin = atob(b64);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

export async function encodeShare(state) {
  const json = new TextEncoder().encode(JSON.stringify(state));
  return toBase64url(await pipe(json, new CompressionStream('deflate-raw')));
}

export async function decodeShare(encoded) {
  let state;
  try {
    const bytes = await pipe(fromBase64url(encoded), new DecompressionStream('deflate-raw'));
    state = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error('it is damaged or incomplete (was it copied whole?)');
  }
  if (typeof state.text !== 'string') throw new Error('the shared link has no scenario text');
  let overrides = state.overrides ?? [];
  if (typeof overrides === 'string') overrides = overrides.split('\n').filter((l) => l.trim());
  return { text: state.text, overrides: overrides.map(String), file: typeof state.file === 'string' ? state.file : null };
}

// The encoded part of a `#s=...` hash, or null.
export function shareFromHash(hash) {
  const m = /^#s=([A-Za-z0-9_-]+)$/.exec(hash || '');
  return m ? m[1] : null;
}
