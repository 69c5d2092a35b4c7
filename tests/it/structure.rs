//! The shape of src/, checked on every run: no import circle between files, no file over
//! 500 lines, SQLite only inside src/store. What is still wrong today is listed below;
//! those lists must only shrink: the test fails on anything new, and on an entry that no
//! longer holds (so a fix is written down by deleting its line).

mod graph;

use std::collections::BTreeSet;
use std::path::Path;

const MAX_LINES: usize = 500;

/// Import circles not yet cut, each as the sorted files of one strongly connected
/// group. Only ever remove entries.
const KNOWN_CIRCLES: &[&[&str]] = &[];

/// Files over the line limit not yet split. Only ever remove entries.
const KNOWN_LONG_FILES: &[&str] = &[];

/// Files outside src/store that still use rusqlite. Only ever remove entries.
const KNOWN_SQL_OUTSIDE_STORE: &[&str] = &[];

/// Every .rs file under src/, relative to it, with its text.
fn sources() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let mut todo = vec![root.clone()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let name = path.strip_prefix(&root).unwrap().to_string_lossy();
                let text = std::fs::read_to_string(&path).unwrap();
                out.push((name.replace('\\', "/"), text));
            }
        }
    }
    out.sort();
    out
}

/// The library's files: main.rs is its own crate root and only uses `nudged::`.
fn library(sources: &[(String, String)]) -> Vec<(String, String)> {
    sources
        .iter()
        .filter(|(file, _)| file != "main.rs")
        .cloned()
        .collect()
}

/// Differences between what was found and what is allowed, as lines a reader can act on.
fn compare(what: &str, found: &BTreeSet<String>, known: &BTreeSet<String>) -> Vec<String> {
    let mut problems = Vec::new();
    for new in found.difference(known) {
        problems.push(format!("new {what}: {new}"));
    }
    for gone in known.difference(found) {
        problems.push(format!(
            "{what} no longer found (remove it from the list in tests/structure.rs): {gone}"
        ));
    }
    problems
}

fn circle_names(circles: &[Vec<String>]) -> BTreeSet<String> {
    circles.iter().map(|c| c.join(" ↔ ")).collect()
}

fn long_files(sources: &[(String, String)]) -> BTreeSet<String> {
    sources
        .iter()
        .filter(|(_, text)| text.lines().count() > MAX_LINES)
        .map(|(file, text)| format!("{file} ({} lines)", text.lines().count()))
        .collect()
}

fn sql_outside_store(sources: &[(String, String)]) -> BTreeSet<String> {
    sources
        .iter()
        .filter(|(file, text)| {
            !file.starts_with("store/") && graph::code_only(text).contains("rusqlite")
        })
        .map(|(file, _)| file.clone())
        .collect()
}

#[test]
fn src_has_no_new_import_circle() {
    let sources = sources();
    assert!(sources.len() > 50, "src/ was not found");
    let found = circle_names(&graph::build(&library(&sources)).circles());
    let known = KNOWN_CIRCLES.iter().map(|c| c.join(" ↔ ")).collect();
    let problems = compare("import circle", &found, &known);
    assert!(
        problems.is_empty(),
        "{}\n(when two files need each other, the shared part is a third, lower file)",
        problems.join("\n")
    );
}

/// What config may use besides itself: leaves with no imports of their own.
const CONFIG_MAY_USE: &[&str] = &[];

/// Config is plain data at the bottom: the classifier and planner import it, never the
/// other way round.
#[test]
fn config_imports_nothing_above_it() {
    let graph = graph::build(&library(&sources()));
    let mut upward = Vec::new();
    for (file, targets) in &graph.edges {
        if !file.starts_with("config/") {
            continue;
        }
        for target in targets {
            if !target.starts_with("config/") && !CONFIG_MAY_USE.contains(&target.as_str()) {
                upward.push(format!("{file} uses {target}"));
            }
        }
    }
    assert!(upward.is_empty(), "{}", upward.join("\n"));
    for leaf in CONFIG_MAY_USE {
        assert!(
            graph.edges.get(*leaf).is_some_and(|t| t.is_empty()),
            "{leaf} is no longer a leaf: {:?}",
            graph.edges.get(*leaf)
        );
    }
}

#[test]
fn no_file_under_src_is_over_500_lines() {
    let sources = sources();
    let found: BTreeSet<String> = long_files(&sources)
        .into_iter()
        .map(|f| f.split(" (").next().unwrap_or_default().to_string())
        .collect();
    let known = KNOWN_LONG_FILES.iter().map(|s| s.to_string()).collect();
    let problems = compare("file over 500 lines (split it by job)", &found, &known);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn only_the_store_touches_sqlite() {
    let found = sql_outside_store(&sources());
    let known = KNOWN_SQL_OUTSIDE_STORE
        .iter()
        .map(|s| s.to_string())
        .collect();
    let problems = compare("rusqlite outside src/store", &found, &known);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

// The checker itself, on small crates made up here.

fn crate_of(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(f, t)| (f.to_string(), t.to_string()))
        .collect()
}

#[test]
fn checker_finds_a_circle_between_siblings() {
    let files = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a/mod.rs", "mod x;\nmod y;\n"),
        ("a/x.rs", "use super::y::Why;\npub struct Ex;\n"),
        (
            "a/y.rs",
            "pub struct Why;\nfn f() { let _ = super::x::Ex; }\n",
        ),
        ("b.rs", "use crate::a::*;\n"),
    ]);
    let circles = graph::build(&files).circles();
    assert_eq!(
        circles,
        vec![vec!["a/x.rs".to_string(), "a/y.rs".to_string()]]
    );
}

#[test]
fn checker_follows_reexports_and_nested_use_groups() {
    let files = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        ("a/mod.rs", "mod inner;\npub use inner::Thing;\n"),
        (
            "a/inner.rs",
            "use crate::{b::{self, Other as O}};\npub struct Thing;\n",
        ),
        ("b.rs", "use crate::a::Thing;\npub struct Other;\n"),
    ]);
    let graph = graph::build(&files);
    assert!(
        graph.edges["b.rs"].contains("a/inner.rs"),
        "{:?}",
        graph.edges
    );
    assert_eq!(
        graph.circles(),
        vec![vec!["a/inner.rs".to_string(), "b.rs".to_string()]]
    );
}

#[test]
fn checker_ignores_comments_strings_tests_and_a_parents_own_children() {
    let files = crate_of(&[
        ("lib.rs", "pub mod a;\npub mod b;\n"),
        (
            "a.rs",
            "// use crate::b::B;\n/* crate::b::B */\nconst S: &str = \"crate::b::B\";\nconst R: &str = r#\"super::b\"#;\nconst C: char = '\"';\npub struct A;\n#[cfg(test)]\nmod tests {\n    use crate::b::B;\n}\n",
        ),
        (
            "b.rs",
            "mod c;\nuse c::C;\nuse crate::a::A;\npub struct B;\n",
        ),
        ("b/c.rs", "use super::B;\npub struct C;\n"),
    ]);
    let graph = graph::build(&files);
    assert!(graph.edges["a.rs"].is_empty(), "{:?}", graph.edges);
    assert!(graph.circles().is_empty(), "{:?}", graph.circles());
}

#[test]
fn allowlists_fail_on_new_entries_and_on_stale_ones() {
    let known: BTreeSet<String> = ["a.rs ↔ b.rs".to_string()].into();
    assert!(compare("import circle", &known, &known).is_empty());
    let grown: BTreeSet<String> = ["a.rs ↔ b.rs ↔ c.rs".to_string()].into();
    let problems = compare("import circle", &grown, &known);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems[0].starts_with("new import circle: a.rs ↔ b.rs ↔ c.rs"));
    assert!(compare("import circle", &BTreeSet::new(), &known)[0].contains("no longer found"));
}

#[test]
fn long_files_and_sql_outside_the_store_are_found() {
    let long = "x\n".repeat(MAX_LINES + 1);
    let files = crate_of(&[
        ("big.rs", &long),
        ("store/db.rs", "use rusqlite::Connection;\n"),
        ("digest/x.rs", "use rusqlite::params;\n"),
        ("web/y.rs", "// not rusqlite, only a comment\n"),
    ]);
    assert_eq!(
        long_files(&files),
        BTreeSet::from([format!("big.rs ({} lines)", MAX_LINES + 1)])
    );
    assert_eq!(
        sql_outside_store(&files),
        BTreeSet::from(["digest/x.rs".to_string()])
    );
}
