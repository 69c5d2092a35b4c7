//! Link and profile patterns (`link = …`, `profile = …`) and how a message is searched
//! for them. Nearly all begin with their scheme (`https://www\.linkedin\.com/comm/in/…`).
//! Compiled case-insensitively with Unicode folding, such a pattern leaves the regex
//! engine no literal to skip ahead on beyond "http", so a plain search ran its automaton
//! over every link of the text and then of the HTML, forward and back again: a quarter
//! of what classifying a notification cost. A pattern whose every match starts with
//! `http://` or `https://` is therefore tried only where a URL starts, anchored there,
//! so it stops at the first byte that cannot match; any other pattern is searched the
//! plain way. Both give the same matches in the same order (see the tests).

use std::sync::OnceLock;

use memchr::memmem;
use regex::Regex;
use regex_syntax::hir::literal::Extractor;

use super::pattern::Pattern;
use crate::config::compile_pattern;

/// One match: the URL (group `link`, else `url`, else the whole match) and the group
/// `handle` when the pattern has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct UrlMatch<'h> {
    pub url: &'h str,
    pub handle: Option<&'h str>,
}

#[derive(Debug)]
pub(super) struct UrlPattern {
    source: String,
    built: OnceLock<Matcher>,
}

#[derive(Debug)]
enum Matcher {
    /// `^(?:pattern)`, tried at each place a URL starts with one of `prefixes`.
    AtUrlStarts {
        anchored: Regex,
        groups: bool,
        prefixes: Vec<Vec<u8>>,
    },
    /// The pattern as written, searched everywhere.
    Anywhere { pattern: Pattern, groups: bool },
}

/// Whether `regex` has named groups; without them the whole match is the URL, and a
/// plain search is much cheaper than resolving groups.
fn has_named_groups(regex: &Regex) -> bool {
    regex.capture_names().flatten().next().is_some()
}

/// The literals every match of `source` begins with, when each of them begins with
/// `http://` or `https://` (in any case) and the pattern looks at nothing around the
/// match (`\b`, `^`, `$`), so that a search anchored at the start of each URL finds
/// exactly what a search of the whole text does. `None` for any other pattern.
///
/// The pattern is read case-sensitively here: the case-insensitive pattern matches the
/// same strings up to case folding, and the scheme's letters fold only to their ASCII
/// capitals, apart from `s`, which also folds to `ſ` (handled in [`url_starts`]). Each
/// literal is returned lower-cased and cut before its first non-ASCII byte, as
/// [`may_start_with`] compares it.
fn scheme_prefixes(source: &str) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::parse(source).ok()?;
    if !hir.properties().look_set().is_empty() {
        return None;
    }
    // Prefix literals: every match starts with one of them. `None` means "any prefix".
    let prefixes = Extractor::new().extract(&hir);
    let literals = prefixes.literals().filter(|l| !l.is_empty())?;
    let mut out = Vec::with_capacity(literals.len());
    for literal in literals {
        let bytes = literal.as_bytes();
        let ascii = bytes
            .iter()
            .position(|b| !b.is_ascii())
            .unwrap_or(bytes.len());
        let lower = bytes.get(..ascii)?.to_ascii_lowercase();
        if !(lower.starts_with(b"http://") || lower.starts_with(b"https://")) {
            return None;
        }
        out.push(lower);
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// Whether a match of a case-insensitive pattern whose matches all begin with a literal
/// like `prefix` (lower-case ASCII) could start at `hay`: cheap enough to try at every
/// URL, where running the regex there costs an engine search each. ASCII letters fold
/// only to each other, so an ASCII byte that differs from the literal's rules the place
/// out; at the first non-ASCII byte (`ſ` for `s`, the Kelvin sign for `k`, which take
/// more bytes than the letter) the comparison stops and the regex decides.
fn may_start_with(hay: &[u8], prefix: &[u8]) -> bool {
    for (at, want) in prefix.iter().enumerate() {
        match hay.get(at) {
            None => return false,
            Some(got) if !got.is_ascii() => return true,
            Some(got) if got.to_ascii_lowercase() != *want => return false,
            Some(_) => {}
        }
    }
    true
}

/// Where a URL may start in `hay`, in order: the `h` of each `http://`, `https://` (any
/// case, and `httpſ://`, which a case-insensitive `s` also matches). Found from the
/// `://`, which is rare in text and has no case.
fn url_starts(hay: &str) -> impl Iterator<Item = usize> + '_ {
    let bytes = hay.as_bytes();
    let scheme_ends_at = move |end: usize, len: usize, last: &[u8]| {
        let start = end.checked_sub(len)?;
        let word = bytes.get(start..end)?;
        (word.get(..4)?.eq_ignore_ascii_case(b"http") && word.get(4..)?.eq_ignore_ascii_case(last))
            .then_some(start)
    };
    memmem::find_iter(bytes, b"://").filter_map(move |colon| {
        scheme_ends_at(colon, 4, b"")
            .or_else(|| scheme_ends_at(colon, 5, b"s"))
            .or_else(|| scheme_ends_at(colon, 6, "ſ".as_bytes()))
    })
}

/// The URL and handle of one match.
fn url_match<'h>(caps: &regex::Captures<'h>) -> Option<UrlMatch<'h>> {
    let url = caps
        .name("link")
        .or_else(|| caps.name("url"))
        .or_else(|| caps.get(0))?;
    Some(UrlMatch {
        url: url.as_str(),
        handle: caps.name("handle").map(|h| h.as_str()),
    })
}

impl UrlPattern {
    pub fn new(source: &str) -> Self {
        Self {
            source: source.to_string(),
            built: OnceLock::new(),
        }
    }

    fn matcher(&self) -> &Matcher {
        self.built.get_or_init(|| {
            // The anchored form can only fail to build where the pattern itself does
            // (say, a verbose-mode comment swallowing the closing parenthesis); the
            // plain form then reports it.
            if let Some(prefixes) = scheme_prefixes(&self.source)
                && let Ok(anchored) = compile_pattern(&format!("^(?:{})", self.source))
            {
                let groups = has_named_groups(&anchored);
                return Matcher::AtUrlStarts {
                    anchored,
                    groups,
                    prefixes,
                };
            }
            let pattern = Pattern::new(&self.source);
            let groups = has_named_groups(&pattern);
            Matcher::Anywhere { pattern, groups }
        })
    }

    /// Every match in `hay`, in order and not overlapping, as `Regex::captures_iter`
    /// gives them.
    pub fn matches<'p, 'h: 'p>(
        &'p self,
        hay: &'h str,
    ) -> Box<dyn Iterator<Item = UrlMatch<'h>> + 'p> {
        match self.matcher() {
            Matcher::Anywhere {
                pattern,
                groups: false,
            } => Box::new(pattern.find_iter(hay).map(|m| UrlMatch {
                url: m.as_str(),
                handle: None,
            })),
            Matcher::Anywhere {
                pattern,
                groups: true,
            } => Box::new(pattern.captures_iter(hay).filter_map(|c| url_match(&c))),
            Matcher::AtUrlStarts {
                anchored,
                groups,
                prefixes,
            } => {
                let mut starts = url_starts(hay);
                // A match hides the URL starts inside it, as in a plain search.
                let mut resume = 0;
                Box::new(std::iter::from_fn(move || {
                    for start in starts.by_ref() {
                        if start < resume {
                            continue;
                        }
                        // `start` is at an ASCII `h`, so on a character boundary.
                        let rest = hay.get(start..)?;
                        if !prefixes.iter().any(|p| may_start_with(rest.as_bytes(), p)) {
                            continue;
                        }
                        let found = if *groups {
                            anchored.captures(rest).and_then(|c| {
                                let whole = c.get(0)?.end();
                                Some((whole, url_match(&c)?))
                            })
                        } else {
                            anchored.find(rest).map(|m| {
                                let found = UrlMatch {
                                    url: m.as_str(),
                                    handle: None,
                                };
                                (m.end(), found)
                            })
                        };
                        if let Some((end, found)) = found {
                            resume = start + end;
                            return Some(found);
                        }
                    }
                    None
                }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a plain search of the whole text finds.
    fn plain<'h>(source: &str, hay: &'h str) -> Vec<UrlMatch<'h>> {
        let regex = compile_pattern(source).unwrap();
        regex
            .captures_iter(hay)
            .filter_map(|c| url_match(&c))
            .collect()
    }

    fn is_anchored(pattern: &UrlPattern) -> bool {
        matches!(pattern.matcher(), Matcher::AtUrlStarts { .. })
    }

    #[test]
    fn patterns_that_start_with_a_scheme_are_searched_at_url_starts() {
        for source in [
            r#"https://www\.linkedin\.com/comm/in/(?P<handle>[A-Za-z0-9_%-]+)[^\s"<>]*"#,
            r#"https?://[^\s"<>]+"#,
            r#"(?P<url>https://www\.meetup\.com/(?P<handle>[A-Za-z0-9_-]+)/)events/\d+"#,
            r#"https://(x|twitter)\.com/[A-Za-z0-9_]+\?[^\s"<>]*"#,
            r#"HTTPS://example\.com/"#,
        ] {
            assert!(is_anchored(&UrlPattern::new(source)), "{source}");
        }
        for source in [
            r#"View: (?P<url>https://[^\s/"<>]+/@(?P<handle>[A-Za-z0-9_.@-]+))"#,
            r#"\bhttps://example\.com/"#,
            r#"https://example\.com/\b"#,
            r#"(https://a\.example/|see )x"#,
            r#"[a-z]+://example\.com/"#,
            r#"http"#,
            r#"https://a\.example/(?x) # comment"#,
        ] {
            assert!(!is_anchored(&UrlPattern::new(source)), "{source}");
        }
    }

    /// What `scheme_prefixes` and `url_starts` assume about case folding.
    #[test]
    fn scheme_letters_fold_only_to_what_url_starts_looks_for() {
        for (letter, folds) in [("h", "hH"), ("t", "tT"), ("p", "pP"), ("s", "sSſ")] {
            let regex = compile_pattern(&format!("^{letter}$")).unwrap();
            let matched: String = (0..=char::MAX as u32)
                .filter_map(char::from_u32)
                .filter(|c| regex.is_match(c.encode_utf8(&mut [0; 4])))
                .collect();
            let mut expected: Vec<char> = folds.chars().collect();
            expected.sort_unstable();
            assert_eq!(
                matched,
                expected.into_iter().collect::<String>(),
                "{letter}"
            );
        }
    }

    #[test]
    fn url_starts_find_every_scheme_in_any_case() {
        let hay = "a http://x b HTTPS://y c Https://z d httpſ://w e ftp://v f ://g hhttp://h";
        let starts: Vec<&str> = url_starts(hay).map(|s| &hay[s..s + 4]).collect();
        assert_eq!(starts, ["http", "HTTP", "Http", "http", "http"]);
        assert_eq!(url_starts("://x").count(), 0);
        assert_eq!(url_starts("").count(), 0);
    }

    #[test]
    fn anchored_search_finds_what_a_plain_search_finds() {
        let hay = concat!(
            "Hi <a href=\"https://www.linkedin.com/comm/in/ann-lee?trk=1&amp;x=2\">Ann</a>\n",
            "HTTPS://WWW.LINKEDIN.COM/comm/in/Bob_2 and https://www.linkedin.com.evil.example/in/x\n",
            "nested https://t.example/?u=https://www.linkedin.com/comm/in/carol end\n",
            "https://x.com/dana?s=1 https://twitter.com/eve?t=2 httpſ://x.com/fay?\n",
            "https://www.meetup.com/rust-berlin/events/123/ (https://www.meetup.com/g/events/9)\n",
            "https://a.example/https://b.example/ http://c.example/\"quoted\"\n",
            "Kelvin https://www.lin\u{212A}edin.com/comm/in/kay and https://GITHUB.com/o/r/pull/7\n",
            "https://github.com/o/r/issues/8 https://gith\u{fc}b.com/o/r/pull/9 https://git\n",
        );
        for source in [
            r#"https://www\.linkedin\.com/comm/in/(?P<handle>[A-Za-z0-9_%-]+)[^\s"<>]*"#,
            r#"https?://[^\s"<>]+"#,
            r#"https?://[^\s"<>]*example/"#,
            r#"(?P<url>https://www\.meetup\.com/(?P<handle>[A-Za-z0-9_-]+)/)events/\d+"#,
            r#"https://(x|twitter)\.com/[A-Za-z0-9_]+\?[^\s"<>]*"#,
            r#"(?P<link>https://[^\s"<>]+)"#,
            r#"https://[a-z.]+/"#,
            r#"https://github\.com/[^\s"<>]+/(issues|pull|discussions)/\d+[^\s"<>]*"#,
            r#"https?://(www\.)?(linkedin|github)\.com/[^\s"<>]*"#,
        ] {
            let pattern = UrlPattern::new(source);
            assert!(is_anchored(&pattern), "{source}");
            let found: Vec<UrlMatch<'_>> = pattern.matches(hay).collect();
            assert!(!found.is_empty(), "{source} finds something");
            assert_eq!(found, plain(source, hay), "{source}");
        }
    }

    #[test]
    fn prefixes_are_the_literals_every_match_starts_with() {
        let prefixes = |source: &str| {
            scheme_prefixes(source).map(|p| {
                p.iter()
                    .map(|l| String::from_utf8(l.clone()).unwrap())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(
            prefixes(r#"HTTPS://www\.LinkedIn\.com/comm/in/(?P<handle>[A-Za-z0-9_%-]+)"#).unwrap(),
            ["https://www.linkedin.com/comm/in/"]
        );
        assert_eq!(
            prefixes(r#"https?://x\.com/"#).unwrap(),
            ["http://x.com/", "https://x.com/"]
        );
        // Cut before the first non-ASCII byte: what follows may fold to other bytes.
        assert_eq!(
            prefixes(r#"https://bücher\.example/"#).unwrap(),
            ["https://b"]
        );
        assert_eq!(prefixes(r#"(https://a\.example/|see )x"#), None);
        assert_eq!(prefixes(r#"\bhttps://a\.example/"#), None);
    }

    #[test]
    fn the_prefix_test_rules_out_only_what_cannot_match() {
        let prefix = b"https://www.linkedin.com/";
        assert!(may_start_with(b"HTTPS://WWW.LinkedIn.com/in/x", prefix));
        assert!(!may_start_with(b"https://www.linkedin.co", prefix));
        assert!(!may_start_with(b"https://www.github.com/", prefix));
        // The Kelvin sign folds to `k`: the regex decides.
        assert!(may_start_with(
            "https://www.lin\u{212A}edin.com/".as_bytes(),
            prefix
        ));
        assert!(may_start_with(b"https://", b"https://"));
    }

    #[test]
    fn other_patterns_are_searched_everywhere() {
        let source = r#"View: (?P<url>https://[^\s/"<>]+/@(?P<handle>[A-Za-z0-9_.@-]+))"#;
        let hay = "Someone followed you.\nView: https://social.example/@ann\n";
        let found: Vec<UrlMatch<'_>> = UrlPattern::new(source).matches(hay).collect();
        assert_eq!(
            found,
            [UrlMatch {
                url: "https://social.example/@ann",
                handle: Some("ann"),
            }]
        );
    }
}
