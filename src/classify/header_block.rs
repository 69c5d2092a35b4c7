//! A byte-level scan of the header block: where each field starts and ends and where
//! the body begins. It exists for speed: mail-parser spends a fifth of a whole parse on
//! kilobytes of Received/ARC/DKIM headers that rules never read, so only the few
//! fields that need decoding (From, Subject, Date…) are handed to it. Never panics;
//! hostile input is cut off at fixed limits.

/// Header bytes looked at; real header blocks are a few kilobytes.
const MAX_HEADER_BYTES: usize = 256 * 1024;
/// Header fields kept; a message with more is hostile or broken.
const MAX_FIELDS: usize = 512;

/// One header field: `line_start..value_start` is the name and colon,
/// `value_start..end` the (possibly folded) value including its line break.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub line_start: usize,
    pub name_end: usize,
    pub value_start: usize,
    pub end: usize,
}

#[derive(Debug, Default)]
pub struct HeaderBlock {
    pub fields: Vec<Field>,
    /// Where the body starts (the byte after the blank line), or the end of the input.
    pub body_start: usize,
}

impl Field {
    pub fn name<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.line_start..self.name_end).unwrap_or_default()
    }

    pub fn value<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.value_start..self.end).unwrap_or_default()
    }

    /// The whole field as written, name to line break.
    pub fn whole<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.line_start..self.end).unwrap_or_default()
    }
}

/// A field name per RFC 5322: printable ASCII except the colon, no spaces.
fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| (33..=126).contains(&b) && b != b':')
}

/// Scan the header block. Returns `None` when the input does not start with a header.
pub fn scan(raw: &[u8]) -> Option<HeaderBlock> {
    let limit = raw.len().min(MAX_HEADER_BYTES);
    let mut block = HeaderBlock::default();
    let mut pos = 0;
    while pos < limit {
        let line_end = raw
            .get(pos..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
            .map_or(raw.len(), |i| pos + i + 1);
        let line = raw.get(pos..line_end).unwrap_or_default();
        let content = line.strip_suffix(b"\n").unwrap_or(line);
        let content = content.strip_suffix(b"\r").unwrap_or(content);
        if content.is_empty() {
            block.body_start = line_end;
            return (!block.fields.is_empty()).then_some(block);
        }
        if matches!(content.first(), Some(b' ' | b'\t')) {
            // Folded continuation of the previous field.
            if let Some(last) = block.fields.last_mut() {
                last.end = line_end;
            }
        } else {
            let colon = content.iter().position(|&b| b == b':');
            let name = colon
                .and_then(|c| content.get(..c))
                .map(|n| n.trim_ascii_end());
            match (colon, name) {
                (Some(colon), Some(name)) if is_field_name(name) => {
                    if block.fields.len() >= MAX_FIELDS {
                        break;
                    }
                    block.fields.push(Field {
                        line_start: pos,
                        name_end: pos + name.len(),
                        value_start: pos + colon + 1,
                        end: line_end,
                    });
                }
                // Not a header line: the header block ended without a blank line.
                _ => {
                    block.body_start = pos;
                    return (!block.fields.is_empty()).then_some(block);
                }
            }
        }
        pos = line_end;
    }
    block.body_start = pos.min(raw.len());
    (!block.fields.is_empty()).then_some(block)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_fields_folding_and_body() {
        let raw = b"From: a@b.example\r\nSubject: one\r\n two\r\nX-Y:z\n\nbody";
        let block = scan(raw).unwrap();
        assert_eq!(block.fields.len(), 3);
        assert_eq!(block.fields[1].name(raw), b"Subject");
        assert_eq!(block.fields[1].value(raw), b" one\r\n two\r\n");
        assert_eq!(raw.get(block.body_start..), Some(&b"body"[..]));
    }

    #[test]
    fn odd_input_is_no_header_or_a_short_one() {
        assert!(scan(b"").is_none());
        assert!(scan(b"\x00\xff garbage without colon").is_none());
        assert!(scan(b"\n\nFrom: x").is_none());
        let truncated = scan(b"From: a@b.example\nMessage-ID: <x").unwrap();
        assert_eq!(truncated.fields.len(), 2);
    }
}
