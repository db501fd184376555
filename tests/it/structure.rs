//! The architecture, checked: the crate layering of ARCHITECTURE.md, no
//! file I/O in the model crates, and no import cycles between files.

use petgraph::algo::tarjan_scc;
use petgraph::graph::DiGraph;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The model crates and the eyesim crates each may depend on. The
/// application (the root package) may depend on all of them.
const LAYERS: &[(&str, &[&str])] = &[
    ("eyesim-core", &[]),
    ("eyesim-analytic", &["eyesim-core"]),
    ("eyesim-engine", &["eyesim-core"]),
    ("eyesim-mapper", &["eyesim-core", "eyesim-analytic"]),
];

/// Where each crate's sources are.
fn crates() -> Vec<(&'static str, PathBuf)> {
    let root = Path::new(ROOT);
    vec![
        ("eyesim-core", root.join("sim/core")),
        ("eyesim-analytic", root.join("sim/analytic")),
        ("eyesim-engine", root.join("sim/engine")),
        ("eyesim-mapper", root.join("sim/mapper")),
        ("eyesim", root.join("sim/app")),
    ]
}

/// The eyesim crates a manifest names in any dependency table.
fn eyesim_deps(manifest: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(manifest).unwrap();
    let doc: toml::Table = toml::from_str(&text).unwrap();
    let mut out = BTreeSet::new();
    for table in ["dependencies", "dev-dependencies", "build-dependencies"] {
        if let Some(deps) = doc.get(table).and_then(|t| t.as_table()) {
            out.extend(deps.keys().filter(|k| k.starts_with("eyesim")).cloned());
        }
    }
    out
}

/// Every eyesim crate a model crate reaches, directly or not.
fn reach(name: &str) -> BTreeSet<String> {
    let dirs: BTreeMap<_, _> = crates().into_iter().collect();
    let mut seen = BTreeSet::new();
    let mut todo = vec![name.to_string()];
    while let Some(c) = todo.pop() {
        for d in eyesim_deps(&dirs[c.as_str()].join("Cargo.toml")) {
            if seen.insert(d.clone()) {
                todo.push(d);
            }
        }
    }
    seen
}

#[test]
fn each_model_crate_depends_only_on_the_layers_below_it() {
    for (name, allowed) in LAYERS {
        let deps = reach(name);
        let extra: Vec<_> = deps
            .iter()
            .filter(|d| !allowed.contains(&d.as_str()))
            .collect();
        assert!(
            extra.is_empty(),
            "{name} reaches {extra:?}; it may reach only {allowed:?}"
        );
    }
    // The cross-check is evidence only while the two models are independent.
    assert!(!reach("eyesim-analytic").contains("eyesim-engine"));
    assert!(!reach("eyesim-engine").contains("eyesim-analytic"));
    assert!(reach("eyesim-mapper").contains("eyesim-analytic"));
}

/// Rust sources under `dir`, sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its comments (doc links are not uses).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// APIs that reach the file system, the environment or the network.
const IO_APIS: &[&str] = &[
    "std::fs",
    "File::",
    "OpenOptions",
    "read_dir(",
    "std::env",
    "std::net",
    "std::process",
    "tempfile::",
    ".exists()",
    ".metadata(",
    "canonicalize(",
];

/// Standard-library modules that reach the file system, the environment,
/// processes or the network.
const IO_MODULES: &[&str] = &["fs", "env", "net", "process"];

#[test]
fn the_model_crates_do_no_file_io() {
    let mut found = Vec::new();
    for (name, dir) in crates() {
        if name == "eyesim" {
            continue;
        }
        for file in sources(&dir.join("src")) {
            let code = code(&file);
            for api in IO_APIS {
                if code.contains(api) {
                    found.push(format!("{}: {api}", file.display()));
                }
            }
            // Imports through a `use` tree, e.g. `use std::{fs, io};`.
            for path in named_paths(&code) {
                let io = match path.as_slice() {
                    [std, module, ..] if std == "std" => IO_MODULES.contains(&module.as_str()),
                    [first, ..] => first == "tempfile",
                    [] => false,
                };
                if io {
                    found.push(format!("{}: use {}", file.display(), path.join("::")));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "file I/O outside the application:\n{}",
        found.join("\n")
    );
}

/// One crate's modules: module path → file.
fn module_files(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    for file in sources(src) {
        let rel = file.strip_prefix(src).unwrap();
        let mut segs: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().into_owned())
            .collect();
        let last = segs.pop().unwrap();
        match last.as_str() {
            "lib.rs" | "main.rs" | "mod.rs" => {}
            f => segs.push(f.trim_end_matches(".rs").to_string()),
        }
        // `#[path]` test files are part of their parent module.
        if last.ends_with("_tests.rs") {
            continue;
        }
        out.insert(segs, file);
    }
    out
}

/// The paths a file names: `use` trees expanded, plus `crate::`, `super::`
/// and `self::` paths in its code, each as segments.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut at = 0;
    for line in code.split_inclusive('\n') {
        let start = at;
        at += line.len();
        let t = line.trim_start();
        let t = t
            .strip_prefix("pub ")
            .or_else(|| t.strip_prefix("pub(crate) "))
            .unwrap_or(t);
        if let Some(tree) = t.strip_prefix("use ") {
            let from = start + (line.len() - tree.len());
            let end = code[from..].find(';').map_or(code.len(), |e| from + e);
            expand(&code[from..end], &mut Vec::new(), &mut out);
        }
    }
    for anchor in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(anchor) {
            if code[..i]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            {
                continue;
            }
            let path: String = code[i..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            out.push(
                path.split("::")
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect(),
            );
        }
    }
    out
}

/// Expands a `use` tree (`a::{b, c::{d as e}}`) into paths.
fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = tree[..open]
            .split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        let close = tree.rfind('}').filter(|&c| c > open).unwrap_or(tree.len());
        let inner = &tree[open + 1..close];
        let n = prefix.len();
        prefix.extend(head);
        let mut depth = 0;
        let mut from = 0;
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand(&inner[from..i], prefix, out);
                    from = i + 1;
                }
                _ => {}
            }
        }
        expand(&inner[from..], prefix, out);
        prefix.truncate(n);
    } else if !tree.is_empty() {
        let tree = tree.split(" as ").next().unwrap();
        let mut path = prefix.clone();
        path.extend(
            tree.split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
        out.push(path);
    }
}

/// The module a path starts from, relative to module `at`; `None` for paths
/// into other crates or the standard library.
fn anchor(
    at: &[String],
    path: &[String],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<(Vec<String>, usize)> {
    let mut module = at.to_vec();
    let mut i = 0;
    match path.first()?.as_str() {
        "crate" => {
            module.clear();
            i = 1;
        }
        "self" => i = 1,
        "super" => {
            while path.get(i).map(String::as_str) == Some("super") {
                module.pop();
                i += 1;
            }
        }
        first => {
            let mut child = at.to_vec();
            child.push(first.to_string());
            if !mods.contains_key(&child) {
                return None;
            }
        }
    }
    Some((module, i))
}

/// Items that module files re-export from their children: (module, item) → defining module.
fn reexports(
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> BTreeMap<(Vec<String>, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for (m, file) in mods {
        let code = code(file);
        for line in code.split(';') {
            let Some(i) = line.find("pub use ") else {
                continue;
            };
            let mut paths = Vec::new();
            expand(&line[i + 8..], &mut Vec::new(), &mut paths);
            for p in paths {
                if let Some(target) = resolve_module(m, &p, mods) {
                    if &target != m {
                        out.insert((m.clone(), p.last().unwrap().clone()), target);
                    }
                }
            }
        }
    }
    out
}

/// The deepest module file that `path` (named in module `at`) reaches.
fn resolve_module(
    at: &[String],
    path: &[String],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<Vec<String>> {
    resolve(at, path, mods).map(|(m, _)| m)
}

/// [`resolve_module`], and the index of the first segment after it (the
/// item named in that module, if any).
fn resolve(
    at: &[String],
    path: &[String],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Option<(Vec<String>, usize)> {
    let (mut module, mut i) = anchor(at, path, mods)?;
    while let Some(seg) = path.get(i) {
        let mut child = module.clone();
        child.push(seg.clone());
        if !mods.contains_key(&child) {
            break;
        }
        module = child;
        i += 1;
    }
    Some((module, i))
}

/// Paths named through a module that a `use` brought into scope
/// (`use crate::prune::rank;` then `rank::by_energy(…)`), rewritten as
/// paths from the `use`.
fn aliased_paths(
    at: &[String],
    code: &str,
    uses: &[Vec<String>],
    mods: &BTreeMap<Vec<String>, PathBuf>,
) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for path in uses {
        let base: &[String] = match path.split_last() {
            Some((last, rest)) if last == "self" => rest,
            _ => path,
        };
        let Some(name) = base.last() else { continue };
        match resolve(at, base, mods) {
            Some((_, i)) if i == base.len() => {}
            _ => continue,
        }
        let needle = format!("{name}::");
        for (i, _) in code.match_indices(&needle) {
            let before = code[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let item: String = code[i + needle.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let mut p = base.to_vec();
            p.push(item);
            out.push(p);
        }
    }
    out
}

/// Cycles between a crate's files, each as its files.
fn file_cycles(src: &Path) -> Vec<Vec<String>> {
    let mods = module_files(src);
    let reexported = reexports(&mods);
    let mut graph = DiGraph::<String, ()>::new();
    let nodes: BTreeMap<_, _> = mods
        .keys()
        .map(|m| {
            (
                m.clone(),
                graph.add_node(mods[m].strip_prefix(src).unwrap().display().to_string()),
            )
        })
        .collect();
    for (m, file) in &mods {
        let code = code(file);
        let mut paths = named_paths(&code);
        paths.extend(aliased_paths(m, &code, &paths, &mods));
        for path in paths {
            let Some((mut target, at)) = resolve(m, &path, &mods) else {
                continue;
            };
            let item = path.get(at);
            for _ in 0..4 {
                match item.and_then(|it| reexported.get(&(target.clone(), it.clone()))) {
                    Some(t) => target = t.clone(),
                    None => break,
                }
            }
            // A module's root holds what its children share and re-exports
            // them: edges between a file and its own ancestors are structure.
            if !target.starts_with(m) && !m.starts_with(&target) {
                graph.update_edge(nodes[m], nodes[&target], ());
            }
        }
    }
    tarjan_scc(&graph)
        .into_iter()
        .filter(|scc| scc.len() > 1)
        .map(|scc| {
            let mut files: Vec<String> = scc.iter().map(|&n| graph[n].clone()).collect();
            files.sort();
            files
        })
        .collect()
}

#[test]
fn no_crate_has_import_cycles_between_its_files() {
    let mut all = Vec::new();
    for (name, dir) in crates() {
        for cycle in file_cycles(&dir.join("src")) {
            all.push(format!("{name}: {}", cycle.join(" <-> ")));
        }
    }
    assert!(
        all.is_empty(),
        "import cycles between files:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "mod a;\nmod b;\nmod c;\npub use a::Alpha;\n",
    )
    .unwrap();
    std::fs::write(src.join("a.rs"), "use super::b::Beta;\npub struct Alpha;\n").unwrap();
    // Through the root's re-export: a names b, b names a as `crate::Alpha`.
    std::fs::write(src.join("b.rs"), "pub struct Beta(crate::Alpha);\n").unwrap();
    std::fs::write(src.join("c.rs"), "use crate::{a::Alpha, b::Beta};\n").unwrap();
    assert_eq!(
        file_cycles(src),
        vec![vec!["a.rs".to_string(), "b.rs".to_string()]]
    );
    std::fs::write(src.join("b.rs"), "pub struct Beta;\n").unwrap();
    assert!(file_cycles(src).is_empty());
}

#[test]
fn the_cycle_finder_sees_module_roots_and_aliased_modules() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir(src.join("p")).unwrap();
    std::fs::write(src.join("lib.rs"), "mod p;\nmod q;\n").unwrap();
    // `p.rs` has a child module, and names `q` through a `use`.
    std::fs::write(
        src.join("p.rs"),
        "mod inner;\nuse crate::q;\npub fn f() {\n    q::g()\n}\n",
    )
    .unwrap();
    std::fs::write(src.join("p/inner.rs"), "pub fn h() {\n    super::f()\n}\n").unwrap();
    std::fs::write(src.join("q.rs"), "pub fn g() {\n    crate::p::f()\n}\n").unwrap();
    assert_eq!(
        file_cycles(src),
        vec![vec!["p.rs".to_string(), "q.rs".to_string()]]
    );
    // A child naming its parent is structure, not a cycle.
    std::fs::write(src.join("q.rs"), "pub fn g() {}\n").unwrap();
    assert!(file_cycles(src).is_empty());
}
