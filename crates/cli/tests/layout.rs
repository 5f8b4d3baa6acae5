#![allow(clippy::too_many_lines)] // scenario tests tell one story each
//! The house's layout rules, checked on every test run (docs/ARCHITECTURE.md, "Rooms"): no
//! source file over `FILE_LINES_MAX` lines, and no circle among the top-level modules of any
//! crate (module A uses module B which, directly or not, uses A). The crates' own arrows are
//! checked by `.ci/run` with `cargo tree`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file, in lines. Migrations and tests are not source files here.
const FILE_LINES_MAX: usize = 800;

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("crates/")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read source folder") {
        let p = e.expect("folder entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every crate's `src` folder.
fn source_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(crates_dir())
        .expect("read crates/")
        .map(|e| e.expect("crate folder").path().join("src"))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// The text of a file without comments and without its unit tests (the `#[cfg(test)]` module
/// closes every file that has one).
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The names `crate::` paths in `code` start with, including each name of a `crate::{…}` group.
fn crate_paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

/// Top-level modules of a crate and, for names its root re-exports (`pub use m::{A, B}`), the
/// module each comes from.
fn root_of(src: &Path) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let root = ["lib.rs", "main.rs"]
        .iter()
        .map(|f| src.join(f))
        .find(|p| p.exists())
        .expect("lib.rs or main.rs");
    let code = code_of(&std::fs::read_to_string(root).expect("read crate root"));
    let mut modules = BTreeSet::new();
    let mut reexports = BTreeMap::new();
    for stmt in code.split(';') {
        let words: Vec<&str> = stmt.split_whitespace().collect();
        if let Some(i) = words.iter().position(|w| *w == "mod") {
            if let Some(name) = words.get(i + 1) {
                modules.insert(name.to_string());
            }
        }
        if let Some(i) = words.iter().position(|w| *w == "use") {
            let path = words[i + 1..].join(" ");
            let path = path.trim_start_matches("crate::");
            let Some((module, names)) = path.split_once("::") else {
                continue;
            };
            let names = names.trim_start_matches('{').trim_end_matches('}');
            for n in names.split(',') {
                let n = n.trim().rsplit("::").next().unwrap_or_default().trim();
                let n = n.split(" as ").last().unwrap_or(n).trim();
                if !n.is_empty() {
                    reexports.insert(n.to_string(), module.trim().to_string());
                }
            }
        }
    }
    (modules, reexports)
}

/// Which top-level module uses which, in one crate.
fn module_graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let (modules, reexports) = root_of(src);
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(src).expect("under src");
        let first = rel
            .components()
            .next()
            .expect("a path")
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if !modules.contains(&module) {
            continue; // the crate root itself
        }
        let code = code_of(&std::fs::read_to_string(&f).expect("read source"));
        let uses = graph.entry(module.clone()).or_default();
        for name in crate_paths(&code) {
            let target = if modules.contains(&name) {
                Some(name)
            } else {
                reexports.get(&name).cloned()
            };
            if let Some(t) = target.filter(|t| *t != module && modules.contains(t)) {
                uses.insert(t);
            }
        }
    }
    graph
}

/// One circle in `graph`, if there is any: the modules along it, the first again at the end.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn walk(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut circle = path[i..].to_vec();
            circle.push(m.to_string());
            return Some(circle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = walk(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| walk(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_source_file_is_longer_than_the_limit() {
    let mut long = Vec::new();
    for src in source_dirs() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for f in files {
            let n = std::fs::read_to_string(&f).expect("read").lines().count();
            if n > FILE_LINES_MAX {
                long.push(format!("{} ({n} lines)", f.display()));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split along a seam (docs/ARCHITECTURE.md): {long:?}"
    );
}

#[test]
fn no_crate_has_a_circle_of_modules() {
    for src in source_dirs() {
        let graph = module_graph(&src);
        assert!(
            graph.len() > 1 || src.ends_with("ledger/src") || src.ends_with("domain/src"),
            "{}: the graph found no modules",
            src.display()
        );
        if let Some(circle) = find_circle(&graph) {
            panic!(
                "{}: modules in a circle: {}",
                src.display(),
                circle.join(" → ")
            );
        }
    }
}

#[test]
fn the_circle_finder_finds_circles_and_reexports() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(
        find_circle(&graph).map(|c| c.len()),
        Some(4),
        "a → b → c → a"
    );
    let mut acyclic = graph.clone();
    acyclic.insert("c".into(), BTreeSet::new());
    assert_eq!(find_circle(&acyclic), None);
    assert_eq!(
        crate_paths("use crate::{auth::X, Store}; crate::frame::page(); // crate::no"),
        ["auth", "Store", "frame", "no"]
    );
    assert_eq!(
        crate_paths(&code_of("x // crate::hidden\n")),
        Vec::<String>::new()
    );
}
