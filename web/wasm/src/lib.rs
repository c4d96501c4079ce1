//! archsim for the browser: the library behind one exported function that
//! takes a JSON request and returns a JSON answer. The page (web/src) runs
//! this module in a Web Worker.
//!
//! The interface is plain WebAssembly, no generated glue:
//! - imports (module `env`): `archsim_now_ms() -> f64` (the page's
//!   `performance.now()`), `archsim_progress(fraction: f64)`;
//! - exports: `archsim_alloc(len) -> ptr`, `archsim_free(ptr, len)`,
//!   `archsim_call(ptr, len) -> len` (a UTF-8 JSON request in, the length
//!   of the UTF-8 JSON answer out) and `archsim_result_ptr() -> ptr`, where
//!   the answer stays until the next call.
//!
//! Requests: `{"op": "version" | "check" | "run" | "explain" | "sweep",
//! "text", "file", "overrides", "replications", "vary"}`. Answers:
//! `{"ok": true, …}` or `{"ok": false, "errors": [{"line", "col",
//! "message"}]}`; see [`call`].

use std::cell::RefCell;

use archsim::web::{self, Problem};
use serde::Deserialize;
use serde_json::{Value, json};

/// One request from the page.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    op: String,
    #[serde(default)]
    text: String,
    #[serde(default = "default_file")]
    file: String,
    #[serde(default)]
    overrides: Vec<String>,
    #[serde(default)]
    replications: Option<u32>,
    #[serde(default)]
    vary: Vec<String>,
}

fn default_file() -> String {
    "scenario.yaml".into()
}

fn problems(ps: Vec<Problem>) -> Value {
    json!({
        "ok": false,
        "errors": ps
            .into_iter()
            .map(|p| json!({ "line": p.line, "col": p.col, "message": p.message }))
            .collect::<Vec<_>>(),
    })
}

/// Answer one request (the JSON text of the request in, of the answer out).
pub fn call(request: &str) -> String {
    let req: Request = match serde_json::from_str(request) {
        Ok(r) => r,
        Err(e) => {
            return problems(vec![Problem {
                line: None,
                col: None,
                message: format!("error: a request the playground cannot read: {e}"),
            }])
            .to_string();
        }
    };
    answer(&req).to_string()
}

fn answer(req: &Request) -> Value {
    let (file, text, ov) = (req.file.as_str(), req.text.as_str(), req.overrides.as_slice());
    match req.op.as_str() {
        "version" => json!({ "ok": true, "version": env!("CARGO_PKG_VERSION") }),
        "check" => match web::check(file, text, ov) {
            Ok(sc) => json!({
                "ok": true,
                "name": sc.name,
                "description": sc.description,
                "seed": sc.seed,
                "duration_s": sc.duration.as_nanos() as f64 / 1e9,
            }),
            Err(p) => problems(p),
        },
        "explain" => match web::explain(file, text, ov) {
            Ok(t) => json!({ "ok": true, "text": t }),
            Err(p) => problems(p),
        },
        "run" => match web::run(file, text, ov, req.replications) {
            Ok(r) => {
                let events_per_s = if r.wall_s > 0.0 {
                    r.events as f64 / r.wall_s
                } else {
                    0.0
                };
                json!({
                    "ok": true,
                    "report": r.report.to_json(),
                    "summary": r.summary,
                    "page": r.page,
                    "explain": r.explain,
                    "events": r.events,
                    "wall_s": r.wall_s,
                    "events_per_s": events_per_s,
                })
            }
            Err(p) => problems(p),
        },
        "sweep" => match web::sweep(file, text, ov, &req.vary, req.replications) {
            Ok(s) => json!({
                "ok": true,
                "report": s.report.to_json(),
                "table": s.table,
                "page": s.page,
                "events": s.events,
            }),
            Err(p) => problems(p),
        },
        other => problems(vec![Problem {
            line: None,
            col: None,
            message: format!("error: unknown op `{other}` (expected version, check, run, explain or sweep)"),
        }]),
    }
}

thread_local! {
    /// The last answer, read by the page through `archsim_result_ptr`.
    static RESULT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Room for `len` bytes the page writes a request into.
#[unsafe(no_mangle)]
pub extern "C" fn archsim_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Give back what [`archsim_alloc`] lent.
///
/// # Safety
/// `ptr` and `len` must come from one `archsim_alloc(len)` call, freed once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn archsim_free(ptr: *mut u8, len: usize) {
    // SAFETY: as the caller promises, a vector of this capacity.
    drop(unsafe { Vec::from_raw_parts(ptr, 0, len.max(1)) });
}

/// Answer the request at `ptr..ptr + len`; returns the answer's length.
///
/// # Safety
/// `ptr..ptr + len` must be memory the page wrote through `archsim_alloc`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn archsim_call(ptr: *const u8, len: usize) -> usize {
    // SAFETY: as the caller promises.
    let bytes = unsafe { std::slice::from_raw_parts(ptr, len) };
    let answer = match std::str::from_utf8(bytes) {
        Ok(text) => call(text),
        Err(e) => problems(vec![Problem {
            line: None,
            col: None,
            message: format!("error: the request is not UTF-8: {e}"),
        }])
        .to_string(),
    };
    RESULT.with(|r| {
        let mut r = r.borrow_mut();
        *r = answer.into_bytes();
        r.len()
    })
}

/// Where the last answer starts.
#[unsafe(no_mangle)]
pub extern "C" fn archsim_result_ptr() -> *const u8 {
    RESULT.with(|r| r.borrow().as_ptr())
}
