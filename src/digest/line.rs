//! Outside text (names, subjects, notes from notifications) made safe to show on one
//! line of a digest: the text and HTML renderers and the context lines all use it.

/// One line of outside text: control characters (CR, LF, tabs, escapes) become spaces,
/// runs of spaces collapse, and it is cut at `max` characters.
pub fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut space = false;
    for ch in text.chars() {
        let ch = if ch.is_control() { ' ' } else { ch };
        if ch == ' ' {
            if space || out.is_empty() {
                continue;
            }
            space = true;
        } else {
            space = false;
        }
        if count == max {
            out.push('…');
            return out;
        }
        out.push(ch);
        count += 1;
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_keeps_one_line() {
        assert_eq!(
            clean("Ann\r\nBcc: x@evil\t Lee ", 100),
            "Ann Bcc: x@evil Lee"
        );
        assert_eq!(clean("ééééé", 3), "ééé…");
        assert_eq!(clean("", 3), "");
    }
}
