//! Header values as a person reads them: unfolded, without control characters or
//! RFC 5322 comments. Rules read a few values of every message, so the common case
//! (one plain line) is borrowed, not copied.

use std::borrow::Cow;

/// Remove RFC 5322 comments — "(2048-bit key; unprotected)", "(UTC)" — honouring
/// nesting and escapes: a backslash keeps the character after it (and is itself
/// dropped). Authentication-Results of every notification goes through here, so the
/// text between the three special bytes is copied in runs, not character by character.
pub fn strip_comments(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut pos) = (0usize, 0usize);
    while let Some(offset) = bytes
        .get(pos..)
        .and_then(|rest| memchr::memchr3(b'\\', b'(', b')', rest))
    {
        // The special bytes are ASCII, so every index here is a character boundary.
        let at = pos + offset;
        if depth == 0 {
            out.push_str(value.get(pos..at).unwrap_or_default());
        }
        pos = at + 1;
        match bytes.get(at) {
            Some(b'\\') => {
                let escaped = value.get(pos..).and_then(|rest| rest.chars().next());
                if let Some(ch) = escaped {
                    if depth == 0 {
                        out.push(ch);
                    }
                    pos += ch.len_utf8();
                }
            }
            Some(b'(') => depth += 1,
            Some(_) if depth > 0 => depth -= 1,
            Some(_) => out.push(')'),
            None => {}
        }
    }
    if depth == 0 {
        out.push_str(value.get(pos..).unwrap_or_default());
    }
    out
}

/// Text as a person reads it: control characters (including bidi overrides, which
/// can disguise a name) dropped.
pub(super) fn clean_text(value: &str) -> String {
    value
        .chars()
        .filter(|c| {
            !c.is_control() && !matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
        })
        .collect()
}

/// Header values as a person reads them: folding removed, control characters dropped.
/// A one-line value without controls (nearly all of them) is borrowed as it is.
pub(super) fn unfold(raw: &[u8]) -> Cow<'_, str> {
    // `from_utf8` checks ASCII a word at a time; the lossy decoder goes byte by byte
    // and is only needed for the rare value that is not UTF-8.
    let Ok(value) = std::str::from_utf8(raw) else {
        return Cow::Owned(unfold_text(&String::from_utf8_lossy(raw)));
    };
    let trimmed = value.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\r' | '\n'));
    if is_plain(trimmed) {
        Cow::Borrowed(trimmed)
    } else {
        Cow::Owned(unfold_text(trimmed))
    }
}

fn unfold_text(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for part in value.split('\n') {
        let part = part.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\r'));
        if part.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        if is_plain(part) {
            out.push_str(part);
        } else {
            out.extend(part.chars().filter(|c| !c.is_control()));
        }
    }
    out
}

/// No C0 control (including CR/LF), DEL, or UTF-8 lead byte of a C1 control
/// (U+0080–U+009F). Written without early exit so it vectorises.
fn is_plain(text: &str) -> bool {
    !text
        .bytes()
        .fold(false, |bad, b| bad | (b < 0x20) | (b == 0x7f) | (b == 0xc2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The definition, one character at a time: what the fast version must equal.
    fn strip_comments_by_char(value: &str) -> String {
        let mut out = String::new();
        let (mut depth, mut escaped) = (0usize, false);
        for ch in value.chars() {
            if escaped {
                escaped = false;
                if depth == 0 {
                    out.push(ch);
                }
                continue;
            }
            match ch {
                '\\' => escaped = true,
                '(' => depth += 1,
                ')' if depth > 0 => depth -= 1,
                _ if depth == 0 => out.push(ch),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn comments_are_stripped_as_defined() {
        assert_eq!(
            strip_comments("mx.example.com; dkim=pass (2048-bit key; unprotected) header.d=x"),
            "mx.example.com; dkim=pass  header.d=x"
        );
        assert_eq!(strip_comments(r"a (b (c) d) e\(f\) g)"), "a  e(f) g)");
        let fixed = [
            "",
            "(",
            ")",
            "\\",
            "a\\",
            "(a\\)b)c",
            "ü(ö)ä",
            "\\ü(\\ö)x",
            "((a)",
            "a)b(c",
        ];
        for value in fixed {
            assert_eq!(
                strip_comments(value),
                strip_comments_by_char(value),
                "{value:?}"
            );
        }
        // Every short string over an alphabet of the special and multi-byte characters.
        let alphabet = ['a', '(', ')', '\\', 'é', '😀', ' '];
        let mut seed = 7u64;
        for _ in 0..20_000 {
            let mut value = String::new();
            for _ in 0..(seed % 12) {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                value.push(alphabet[(seed >> 33) as usize % alphabet.len()]);
            }
            seed = seed.wrapping_add(1);
            assert_eq!(
                strip_comments(&value),
                strip_comments_by_char(&value),
                "{value:?}"
            );
        }
    }
}
