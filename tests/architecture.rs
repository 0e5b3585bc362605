//! The layer rule of docs/architecture.md, read off the source: every `crate::` and `super::`
//! path in `src/` (outside `#[cfg(test)] mod tests`) is an arrow from one module to another.
//! An arrow is a back-arrow when it points to a layer at or above its own (faces also never
//! use one another); a circle is a group of modules that reach each other.
//!
//! `cargo test --test architecture -- --nocapture` prints every arrow that breaks the rule.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is the failure report

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top (highest) first; a module may use only modules of lower layers.
/// Kept in step with the table in docs/architecture.md (`the_doc_lists_the_same_layers`).
const LAYERS: &[(u32, &[&str])] = &[
    (100, &["main", "cli"]),
    (95, &["bootstrap"]),
    (90, &["server"]),
    (80, &["api", "admin", "console"]),
    (70, &["state"]),
    (65, &["config"]),
    (60, &["auth"]),
    (55, &["webhooks", "upstream", "mail"]),
    (50, &["observe"]),
    (40, &["domain"]),
    (30, &["db"]),
    (20, &["xmlrpc", "problem"]),
    (
        10,
        &[
            "clock",
            "error",
            "net",
            "wire",
            "secrets",
            "tls",
            "token",
            "retry_schedule",
        ],
    ),
];

/// The faces: they share a layer (the CLI sits above the server it starts) and never use
/// one another.
const FACES: &[&str] = &["api", "admin", "console", "cli"];

type Module = Vec<String>;

fn rank(top: &str) -> Option<u32> {
    LAYERS
        .iter()
        .find(|(_, names)| names.contains(&top))
        .map(|(rank, _)| *rank)
}

fn src_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            src_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/a/b.rs` is `a::b`; `src/a/mod.rs` is `a`; `src/lib.rs` is `lib`.
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts
}

/// The code without line comments and without the unit tests at the end of the file.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The paths after `prefix` (`crate::` or `super::`): `a::b::c`, and each member of a
/// `{...}` group, as segment lists.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(prefix) {
        let before = rest[..at].chars().last();
        rest = &rest[at + prefix.len()..];
        if before.is_some_and(|c| is_ident(c) || c == ':') {
            continue; // `foo::super::`, or part of a longer name
        }
        collect_path(rest, Vec::new(), &mut out);
    }
    out
}

/// Reads `seg::seg::{x, y::z}` at the start of `text` into full paths under `base`.
fn collect_path(text: &str, base: Vec<String>, out: &mut Vec<Vec<String>>) {
    let mut path = base;
    let mut rest = text.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut end = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            let mut depth = 0;
            let mut start = 0;
            let inner = &group[..end];
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        collect_path(&inner[start..i], path.clone(), out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            collect_path(&inner[start..], path.clone(), out);
            return;
        }
        let len = rest.find(|c: char| !is_ident(c)).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        path.push(rest[..len].to_string());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !path.is_empty() {
        out.push(path);
    }
}

struct Graph {
    modules: BTreeSet<Module>,
    arrows: BTreeMap<Module, BTreeSet<Module>>,
}

fn graph() -> Graph {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    src_files(&src, &mut files);
    let modules: BTreeSet<Module> = files.iter().map(|f| module_of(&src, f)).collect();
    // The longest prefix of a path that names a module file.
    let resolve = |path: &[String]| -> Option<Module> {
        (1..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|m| modules.contains(m))
    };
    let mut arrows: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for file in &files {
        let me = module_of(&src, file);
        let is_mod_file = file
            .file_name()
            .is_some_and(|n| n == "mod.rs" || n == "lib.rs");
        // `super::` of `a/b.rs` is `a`; of `a/mod.rs` it is the parent of `a`.
        let parent: Module = if is_mod_file {
            me[..me.len().saturating_sub(1)].to_vec()
        } else {
            me[..me.len() - 1].to_vec()
        };
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut targets = paths_after(&code, "crate::");
        for path in paths_after(&code, "super::") {
            let mut full = parent.clone();
            full.extend(path);
            targets.push(full);
        }
        for target in targets {
            let Some(to) = resolve(&target) else { continue };
            // A module's own children are its own business.
            if to.starts_with(&me) {
                continue;
            }
            arrows.entry(me.clone()).or_default().insert(to);
        }
    }
    Graph { modules, arrows }
}

fn name(m: &Module) -> String {
    m.join("/")
}

fn back_arrows(g: &Graph) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for (from, tos) in &g.arrows {
        for to in tos {
            let (a, b) = (&from[0], &to[0]);
            if a == b {
                continue;
            }
            let upward = match (rank(a), rank(b)) {
                (Some(ra), Some(rb)) => rb >= ra,
                _ => true, // a module in no layer is a finding too
            };
            let sideways_face = FACES.contains(&a.as_str()) && FACES.contains(&b.as_str());
            if upward || sideways_face {
                found.push((name(from), name(to)));
            }
        }
    }
    found
}

/// Strongly connected groups of more than one module (Tarjan).
fn circles(g: &Graph) -> Vec<Vec<String>> {
    struct Walk<'a> {
        g: &'a Graph,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        on_stack: BTreeSet<&'a Module>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            self.index.insert(v, self.next);
            self.low.insert(v, self.next);
            self.next += 1;
            self.stack.push(v);
            self.on_stack.insert(v);
            if let Some(tos) = self.g.arrows.get(v) {
                for w in tos {
                    if !self.index.contains_key(w) {
                        self.visit(w);
                        let low = self.low[v].min(self.low[w]);
                        self.low.insert(v, low);
                    } else if self.on_stack.contains(w) {
                        let low = self.low[v].min(self.index[w]);
                        self.low.insert(v, low);
                    }
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    group.push(name(w));
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        g,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    for m in &g.modules {
        if !walk.index.contains_key(m) {
            walk.visit(m);
        }
    }
    walk.found
}

#[test]
fn arrows_point_down_and_nothing_goes_round() {
    let g = graph();
    let arrows: usize = g.arrows.values().map(BTreeSet::len).sum();
    let back = back_arrows(&g);
    let round = circles(&g);
    println!(
        "{} modules, {arrows} arrows, {} back-arrows, {} circles",
        g.modules.len(),
        back.len(),
        round.len()
    );
    for (from, to) in &back {
        println!("back-arrow: {from} -> {to}");
    }
    for group in &round {
        println!("circle: {}", group.join(" <-> "));
    }
    assert!(arrows > 300, "the scan found only {arrows} arrows");
    assert!(
        back.is_empty(),
        "back-arrows: {back:?} (docs/architecture.md, 'Layers')"
    );
    assert!(round.is_empty(), "circles: {round:?}");
}

#[test]
fn the_scan_sees_grouped_and_relative_paths() {
    let mut out = Vec::new();
    collect_path("{a::b, c::{d, e}}, x", Vec::new(), &mut out);
    assert_eq!(out, [vec!["a", "b"], vec!["c", "d"], vec!["c", "e"]]);
    let found = paths_after(
        "use crate::db::{self, Pool};\nlet x = my_crate::y;",
        "crate::",
    );
    assert_eq!(found, [vec!["db", "self"], vec!["db", "Pool"]]);
}

#[test]
fn the_doc_lists_the_same_layers() {
    let doc = std::fs::read_to_string(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/architecture.md"),
    )
    .unwrap();
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    for (_, names) in LAYERS {
        for module in *names {
            let exists = src.join(format!("{module}.rs")).exists() || src.join(module).is_dir();
            if !exists {
                continue; // a layer's place for a module that has not landed yet
            }
            assert!(
                doc.contains(&format!("`{module}`")) || doc.contains(&format!("`src/{module}")),
                "docs/architecture.md does not name `{module}`"
            );
        }
    }
}
