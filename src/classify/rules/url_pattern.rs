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
    /// `^(?:pattern)`, tried at each place a URL starts.
    AtUrlStarts { anchored: Regex, groups: bool },
    /// The pattern as written, searched everywhere.
    Anywhere { pattern: Pattern, groups: bool },
}

/// Whether `regex` has named groups; without them the whole match is the URL, and a
/// plain search is much cheaper than resolving groups.
fn has_named_groups(regex: &Regex) -> bool {
    regex.capture_names().flatten().next().is_some()
}

/// Whether every match of `source` begins with `http://` or `https://` (in any case) and
/// the pattern looks at nothing around the match (`\b`, `^`, `$`), so that a search
/// anchored at the start of each URL finds exactly what a search of the whole text does.
///
/// The pattern is read case-sensitively here: the case-insensitive pattern matches the
/// same strings up to case folding, and the scheme's letters fold only to their ASCII
/// capitals, apart from `s`, which also folds to `ſ` (handled in [`url_starts`]).
fn always_starts_with_scheme(source: &str) -> bool {
    let Ok(hir) = regex_syntax::parse(source) else {
        return false;
    };
    if !hir.properties().look_set().is_empty() {
        return false;
    }
    // Prefix literals: every match starts with one of them. `None` means "any prefix".
    let prefixes = Extractor::new().extract(&hir);
    prefixes.literals().is_some_and(|literals| {
        !literals.is_empty()
            && literals.iter().all(|literal| {
                let start = literal.as_bytes();
                let lower = |n: usize| start.get(..n).map(|s| s.to_ascii_lowercase());
                lower(7).as_deref() == Some(b"http://") || lower(8).as_deref() == Some(b"https://")
            })
    })
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
            if always_starts_with_scheme(&self.source)
                && let Ok(anchored) = compile_pattern(&format!("^(?:{})", self.source))
            {
                let groups = has_named_groups(&anchored);
                return Matcher::AtUrlStarts { anchored, groups };
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
            Matcher::AtUrlStarts { anchored, groups } => {
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

    /// What `always_starts_with_scheme` and `url_starts` assume about case folding.
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
            "https://a.example/https://b.example/ http://c.example/\"quoted\"",
        );
        for source in [
            r#"https://www\.linkedin\.com/comm/in/(?P<handle>[A-Za-z0-9_%-]+)[^\s"<>]*"#,
            r#"https?://[^\s"<>]+"#,
            r#"https?://[^\s"<>]*example/"#,
            r#"(?P<url>https://www\.meetup\.com/(?P<handle>[A-Za-z0-9_-]+)/)events/\d+"#,
            r#"https://(x|twitter)\.com/[A-Za-z0-9_]+\?[^\s"<>]*"#,
            r#"(?P<link>https://[^\s"<>]+)"#,
            r#"https://[a-z.]+/"#,
        ] {
            let pattern = UrlPattern::new(source);
            assert!(is_anchored(&pattern), "{source}");
            let found: Vec<UrlMatch<'_>> = pattern.matches(hay).collect();
            assert!(!found.is_empty(), "{source} finds something");
            assert_eq!(found, plain(source, hay), "{source}");
        }
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
