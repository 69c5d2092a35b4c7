//! The file-level module graph of a crate, read from its source text alone: which file
//! uses which through `crate::` and `super::` paths, in `use` statements and inline,
//! following `pub use` re-exports to the file that defines the item. A parent using its
//! own children by relative path (`mod x; use x::Y;`) is structure, not an edge; test
//! modules (`#[cfg(test)] mod …`) are left out.

use std::collections::{BTreeMap, BTreeSet};

/// A module path below the crate root: `["classify", "rules"]`.
type ModPath = Vec<String>;

pub struct Graph {
    /// File (relative to src/) → files it uses.
    pub edges: BTreeMap<String, BTreeSet<String>>,
}

struct Crate {
    /// Module path → its file.
    files: BTreeMap<ModPath, String>,
    /// Module path → its `pub use` names and where each points (absolute path).
    reexports: BTreeMap<ModPath, BTreeMap<String, ModPath>>,
}

/// The module path of a file under src/: `a/b.rs` and `a/b/mod.rs` are `a::b`.
fn module_path(file: &str) -> ModPath {
    let stem = file.strip_suffix(".rs").unwrap_or(file);
    let mut parts: Vec<String> = stem.split('/').map(str::to_string).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Source without comments, string and char literals, or `#[cfg(test)]` modules, so
/// only code is searched for paths.
pub fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == 'r' && matches!(next, Some('"' | '#')) && !ident_before(&chars, i) {
            let mut j = i + 1;
            let mut hashes = 0;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            while j < chars.len() {
                if chars[j] == '"' && (1..=hashes).all(|h| chars.get(j + h) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    without_test_modules(&out)
}

fn ident_before(chars: &[char], i: usize) -> bool {
    i > 0 && (chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')
}

fn without_test_modules(code: &str) -> String {
    let mut out = code.to_string();
    while let Some(at) = out.find("#[cfg(test)]") {
        let rest = &out[at..];
        let after = rest["#[cfg(test)]".len()..].trim_start();
        let end = if after.starts_with("mod ") || after.starts_with("pub mod ") {
            match_block(rest).map_or(out.len(), |len| at + len)
        } else {
            at + "#[cfg(test)]".len()
        };
        out.replace_range(at..end, "");
    }
    out
}

/// Length up to and including the brace that closes the first `{` (or the first `;`
/// if it comes before any brace: `mod x;`).
fn match_block(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            ';' if depth == 0 => return Some(i + 1),
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path of a `use` tree: `a::{b, c::{d as e}}` → `[a, b]`, `[a, c, d]` (with the
/// name it is bound to).
fn use_paths(tree: &str) -> Vec<(Vec<String>, String)> {
    let mut out = Vec::new();
    expand(tree.trim(), &mut Vec::new(), &mut out);
    out
}

fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    let tree = tree.trim().trim_start_matches("::");
    if let Some(open) = tree.find('{') {
        let head: Vec<String> = split_path(&tree[..open]);
        let inner = tree[open + 1..].trim_end().trim_end_matches('}');
        let depth_before = prefix.len();
        prefix.extend(head);
        for part in split_top_level(inner) {
            expand(part, prefix, out);
        }
        prefix.truncate(depth_before);
        return;
    }
    let (path, alias) = match tree.split_once(" as ") {
        Some((path, alias)) => (path, Some(alias.trim().to_string())),
        None => (tree, None),
    };
    let mut full = prefix.clone();
    full.extend(split_path(path));
    if full.last().is_some_and(|s| s == "self") {
        full.pop();
    }
    if let Some(name) = alias.or_else(|| full.last().cloned()) {
        out.push((full, name));
    }
}

fn split_path(path: &str) -> Vec<String> {
    path.split("::")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn split_top_level(text: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts.into_iter().filter(|p| !p.trim().is_empty()).collect()
}

/// The `use` statements of some code (with whether each is a re-export), and the code
/// with them removed.
fn use_statements(code: &str) -> (Vec<(bool, String)>, String) {
    let mut uses = Vec::new();
    let mut rest = String::new();
    let mut i = 0;
    while let Some(found) = code[i..].find("use ") {
        let at = i + found;
        let word_start = at == 0 || !code[..at].ends_with(is_ident);
        if !word_start {
            rest.push_str(&code[i..at + 4]);
            i = at + 4;
            continue;
        }
        let Some(len) = code[at..].find(';') else {
            break;
        };
        let line_start = code[..at].rfind(['\n', ';', '{', '}']).map_or(0, |p| p + 1);
        let public = code[line_start..at].trim_start().starts_with("pub");
        rest.push_str(&code[i..at]);
        uses.push((public, code[at + 4..at + len].to_string()));
        i = at + len + 1;
    }
    rest.push_str(&code[i..]);
    (uses, rest)
}

/// Inline paths in code: `crate::a::b(…)`, `super::x::Y`.
fn inline_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    for keyword in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(found) = code[from..].find(keyword) {
            let at = from + found;
            from = at + keyword.len();
            if code[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue;
            }
            let tail: String = code[at..]
                .chars()
                .take_while(|c| is_ident(*c) || *c == ':')
                .collect();
            paths.push(split_path(&tail));
        }
    }
    paths
}

impl Crate {
    /// `segs` as written in `module`, made absolute; `None` for another crate's path.
    fn absolute(&self, module: &ModPath, segs: &[String]) -> Option<ModPath> {
        let mut base = module.clone();
        let mut rest = segs;
        match segs.first().map(String::as_str) {
            Some("crate") => {
                base.clear();
                rest = &segs[1..];
            }
            Some("super") | Some("self") => {
                while let Some(first) = rest.first().map(String::as_str) {
                    match first {
                        "super" => {
                            base.pop()?;
                        }
                        "self" => {}
                        _ => break,
                    }
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                let mut child = module.clone();
                child.push(first.to_string());
                if !self.files.contains_key(&child) {
                    return None;
                }
            }
            None => return None,
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The file that defines what an absolute path names, through re-exports.
    fn file_of(&self, path: &[String], hops: usize) -> Option<&String> {
        let mut module: ModPath = Vec::new();
        for (i, seg) in path.iter().enumerate() {
            let mut child = module.clone();
            child.push(seg.clone());
            if self.files.contains_key(&child) {
                module = child;
                continue;
            }
            if hops < 8
                && let Some(target) = self.reexports.get(&module).and_then(|r| r.get(seg))
            {
                let mut next = target.clone();
                next.extend(path[i + 1..].iter().cloned());
                return self.file_of(&next, hops + 1);
            }
            break;
        }
        self.files.get(&module)
    }
}

/// The graph of a crate given as (file relative to src/, text) pairs, `lib.rs` its root.
pub fn build(sources: &[(String, String)]) -> Graph {
    let mut krate = Crate {
        files: BTreeMap::new(),
        reexports: BTreeMap::new(),
    };
    let mut parsed = Vec::new();
    for (file, text) in sources {
        let module = module_path(file);
        krate.files.insert(module.clone(), file.clone());
        let (uses, rest) = use_statements(&code_only(text));
        parsed.push((file.clone(), module, uses, rest));
    }
    for (_, module, uses, _) in &parsed {
        for (public, tree) in uses.iter().filter(|(public, _)| *public) {
            debug_assert!(*public);
            for (segs, name) in use_paths(tree) {
                if name == "*" {
                    continue;
                }
                if let Some(target) = krate.absolute(module, &segs) {
                    krate
                        .reexports
                        .entry(module.clone())
                        .or_default()
                        .insert(name, target);
                }
            }
        }
    }
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (file, module, uses, rest) in &parsed {
        let mut paths: Vec<Vec<String>> = Vec::new();
        for (_, tree) in uses {
            paths.extend(
                use_paths(tree)
                    .into_iter()
                    .map(|(segs, _)| segs)
                    .filter(|segs| {
                        // A parent's relative use of its own child is structure.
                        matches!(segs.first().map(String::as_str), Some("crate" | "super"))
                    }),
            );
        }
        paths.extend(inline_paths(rest));
        let targets = edges.entry(file.clone()).or_default();
        for segs in paths {
            let Some(absolute) = krate.absolute(module, &segs) else {
                continue;
            };
            if let Some(target) = krate.file_of(&absolute, 0)
                && target != file
            {
                targets.insert(target.clone());
            }
        }
    }
    Graph { edges }
}

impl Graph {
    /// Every import circle: the strongly connected groups of two or more files, each
    /// sorted, in order.
    pub fn circles(&self) -> Vec<Vec<String>> {
        let nodes: Vec<&String> = self.edges.keys().collect();
        let reach = |from: &String| {
            let mut seen = BTreeSet::new();
            let mut todo = vec![from];
            while let Some(node) = todo.pop() {
                for next in self.edges.get(node).into_iter().flatten() {
                    if seen.insert(next) {
                        todo.push(next);
                    }
                }
            }
            seen
        };
        let reachable: BTreeMap<&String, BTreeSet<&String>> =
            nodes.iter().map(|n| (*n, reach(n))).collect();
        let mut circles = BTreeSet::new();
        for node in &nodes {
            let group: Vec<String> = nodes
                .iter()
                .filter(|other| {
                    reachable[*node].contains(*other) && reachable[*other].contains(*node)
                })
                .map(|s| s.to_string())
                .collect();
            if group.len() > 1 {
                circles.insert(group);
            }
        }
        circles.into_iter().collect()
    }
}
