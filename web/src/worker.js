// archsim playground: the Web Worker that owns one instance of archsim.wasm.
//
// The page posts {id, req} (req is a request object of web-contract.md:
// {op: "run" | "check" | "explain" | "sweep" | "version", ...}); the worker
// answers {id, resp} with the module's JSON response parsed, and while a
// request runs it posts {id, progress} (0..1, at most about ten a second).
// Messages are handled one at a time, in the order they arrive, because
// archsim_call is synchronous.

const WASM_URL = new URL('archsim.wasm', self.location.href);

let module = null; // the compiled WebAssembly.Module, kept to re-instantiate after a trap
let exports = null; // the current instance's exports
let currentId = null; // id of the request being answered, for progress messages
let lastProgressAt = 0;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const imports = {
  env: {
    archsim_now_ms: () => performance.now(),
    archsim_progress: (fraction) => {
      const now = performance.now();
      if (fraction < 1 && now - lastProgressAt < 100) return;
      lastProgressAt = now;
      self.postMessage({ id: currentId, progress: fraction });
    },
  },
};

// The module may declare imports beyond the two above that it never calls:
// wasm-bindgen placeholders that a dependency (plotters, through web-sys)
// links in on wasm32 without being used by archsim. They get stubs that throw,
// naming themselves, should one ever be called.
function withStubs(mod) {
  const all = { env: { ...imports.env } };
  for (const imp of WebAssembly.Module.imports(mod)) {
    all[imp.module] ??= {};
    if (imp.kind === 'function' && !(imp.name in all[imp.module])) {
      all[imp.module][imp.name] = () => { throw new Error(`archsim.wasm called the import ${imp.module}.${imp.name}, which the playground does not provide`); };
    }
  }
  return all;
}

async function instantiate() {
  if (!module) {
    const response = await fetch(WASM_URL);
    if (!response.ok) throw new Error(`fetching ${WASM_URL}: HTTP ${response.status}`);
    // compileStreaming needs the application/wasm content type; fall back when a server lacks it.
    try {
      module = await WebAssembly.compileStreaming(response.clone());
    } catch {
      module = await WebAssembly.compile(await response.arrayBuffer());
    }
  }
  const instance = await WebAssembly.instantiate(module, withStubs(module));
  exports = instance.exports;
}

// One request through the ABI: copy the JSON in, call, read the JSON out.
function call(req) {
  const bytes = encoder.encode(JSON.stringify(req));
  const ptr = exports.archsim_alloc(bytes.length) >>> 0; // i32 to unsigned
  new Uint8Array(exports.memory.buffer, ptr, bytes.length).set(bytes);
  let len;
  try {
    len = exports.archsim_call(ptr, bytes.length) >>> 0;
  } finally {
    // After a trap the instance is replaced, so freeing into it is pointless.
    try { exports.archsim_free(ptr, bytes.length); } catch { /* instance broken */ }
  }
  const out = exports.archsim_result_ptr() >>> 0;
  // Copy before decoding: memory.buffer may be detached by a later growth.
  const text = decoder.decode(new Uint8Array(exports.memory.buffer, out, len).slice());
  return JSON.parse(text);
}

const ready = instantiate();

self.onmessage = async (event) => {
  const { id, req } = event.data;
  let resp;
  try {
    await ready;
    currentId = id;
    lastProgressAt = 0;
    resp = call(req);
  } catch (err) {
    // A trap (a Rust panic) or a load failure: answer in the error shape, and start a
    // fresh instance so the next request does not run on a broken heap.
    resp = { ok: false, errors: [{ line: null, col: null, message: `internal error: ${err && err.message ? err.message : err}` }] };
    if (module) {
      try { await instantiate(); } catch { /* reported by the next request */ }
    }
  } finally {
    currentId = null;
  }
  self.postMessage({ id, resp });
};
