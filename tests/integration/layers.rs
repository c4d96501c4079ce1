//! Layers without cycles (issue 18): every module uses only the layers
//! below it, never one above and never a peer at its own level.
//!
//! ```text
//! 11 cli, web                (the command line; the browser's commands on text)
//! 10 plan
//! 9 sweep, compare            (peers: neither uses the other)
//! 8 report
//! 7 run
//! 6 explain                   (theory's prediction: the run and the pages show it beside the simulation)
//! 5 scenario
//! 4 model
//! 3 engine
//! 2 theory                    (closed forms; may use the normal distribution of stats)
//! 1 files, stats              (utilities)
//! 0 math, host                (one libm on every platform; the host's clock and progress)
//! ```
//!
//! The test reads every `src/**/*.rs` (lib.rs and main.rs are exempt), with
//! comments, strings and character literals blanked, finds each
//! `crate::<module>` path (in `use` lines, `crate::{a, b}` groups and inline
//! paths) and names every file:line that breaks the rule.

use std::path::{Path, PathBuf};

/// The layer of a top-level module, or None for one the table lacks.
fn layer(module: &str) -> Option<u32> {
    Some(match module {
        "math" | "host" => 0,
        "files" | "stats" => 1,
        "theory" => 2,
        "engine" => 3,
        "model" => 4,
        "scenario" => 5,
        "explain" => 6,
        "run" => 7,
        "report" => 8,
        "sweep" | "compare" => 9,
        "plan" => 10,
        "cli" | "web" => 11,
        _ => return None,
    })
}

/// The top-level module a source file belongs to (None: lib.rs, main.rs).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_string())
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The source with comments (line, block, doc), string literals (plain and
/// raw) and character literals replaced by spaces; newlines are kept, so
/// line numbers stay right.
fn code_only(src: &str) -> String {
    let c: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(i + k).copied().unwrap_or('\0');
        if at(0) == '/' && at(1) == '/' {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if at(0) == '/' && at(1) == '*' {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
        } else if at(0) == 'r' && (at(1) == '"' || (at(1) == '#' && matches!(at(2), '"' | '#'))) {
            // A raw string r"…", r#"…"#: ends at a quote followed by as many #.
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            j += 1;
            while j < c.len() && !(c[j] == '"' && (1..=hashes).all(|h| c.get(j + h) == Some(&'#'))) {
                j += 1;
            }
            let end = (j + 1 + hashes).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else if at(0) == '"' {
            blank(&mut out, '"');
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    blank(&mut out, c[i]);
                    i += 1;
                }
                if i < c.len() {
                    blank(&mut out, c[i]);
                    i += 1;
                }
            }
            if i < c.len() {
                blank(&mut out, '"');
                i += 1;
            }
        } else if at(0) == '\'' && (at(1) == '\\' || at(2) == '\'') {
            // A character literal ('a', '\n', '\''); a lifetime has no closing quote.
            let mut j = i + 1;
            if c[j] == '\\' {
                j += 2;
            } else {
                j += 1;
            }
            while j < c.len() && c[j] != '\'' {
                j += 1;
            }
            let end = (j + 1).min(c.len());
            for &ch in &c[i..end] {
                blank(&mut out, ch);
            }
            i = end;
        } else {
            out.push(c[i]);
            i += 1;
        }
    }
    out
}

/// Each (line, module) of a `crate::module` path in code; `crate::{a, b::c}`
/// counts a and b.
fn crate_refs(code: &str) -> Vec<(usize, String)> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut out = Vec::new();
    for (pos, _) in code.match_indices("crate::") {
        // `crate` must be a whole word (not `mycrate::`).
        if code[..pos]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &code[pos + "crate::".len()..];
        let rest_trim = rest.trim_start();
        if let Some(group) = rest_trim.strip_prefix('{') {
            // Top-level items of the group, with their own line numbers.
            let base = pos + "crate::".len() + (rest.len() - rest_trim.len()) + 1;
            let mut depth = 0;
            let mut start = true;
            for (k, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => start = true,
                    c if start && (c.is_alphanumeric() || c == '_') => {
                        start = false;
                        if depth == 0 {
                            let name = ident(&group[k..]);
                            out.push((line_of(base + k), name));
                        }
                    }
                    _ => {}
                }
            }
        } else {
            let name = ident(rest_trim);
            if !name.is_empty() {
                out.push((line_of(pos), name));
            }
        }
    }
    out
}

/// Every breach of the layering, as `file:line: message`.
fn violations(root: &Path) -> Vec<String> {
    let src = root.join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = Vec::new();
    for f in &files {
        let Some(module) = module_of(&src, f) else {
            continue;
        };
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let Some(own) = layer(&module) else {
            out.push(format!("{rel}:1: module `{module}` has no layer in the table"));
            continue;
        };
        let text = std::fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {rel}: {e}"));
        for (line, used) in crate_refs(&code_only(&text)) {
            if used == module || used == "self" {
                continue;
            }
            match layer(&used) {
                None => out.push(format!(
                    "{rel}:{line}: `crate::{used}` is not a module in the layer table"
                )),
                Some(l) if l > own => out.push(format!(
                    "{rel}:{line}: {module} (layer {own}) uses {used}, a layer above (layer {l})"
                )),
                Some(l) if l == own => out.push(format!(
                    "{rel}:{line}: {module} (layer {own}) uses {used}, a peer at its own layer"
                )),
                Some(_) => {}
            }
        }
    }
    out
}

#[test]
fn parsing_sees_code_only() {
    let code = code_only(
        "use crate::a; // crate::b\n/* crate::c\n crate::d */ let s = \"crate::e\"; let r = r#\"crate::f\"#;\n\
         let c = '\"'; fn f<'a>(x: &'a crate::g::X) {}\n/// crate::h\nuse crate::{i::J, k, l::{m, n}};\n",
    );
    let refs = crate_refs(&code);
    assert_eq!(
        refs,
        [
            (1, "a".to_string()),
            (4, "g".to_string()),
            (6, "i".to_string()),
            (6, "k".to_string()),
            (6, "l".to_string())
        ]
    );
}

#[test]
fn modules_use_only_the_layers_below() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let v = violations(root);
    for line in &v {
        eprintln!("{line}");
    }
    assert!(
        v.is_empty(),
        "{} layering violation(s) (layers: 0 math/host, 1 files/stats, 2 theory, 3 engine, 4 model, \
         5 scenario, 6 explain, 7 run, 8 report, 9 sweep/compare, 10 plan, 11 cli/web):\n{}",
        v.len(),
        v.join("\n")
    );
}
