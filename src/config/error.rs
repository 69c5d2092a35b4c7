//! Config errors and where they are. Validation names the offending value by its path
//! in the document (`source[1].tls`); the path is looked up in the parser's own spans,
//! so the line:column is the value's, never the first look-alike text in a comment.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml_edit::{ImDocument, Item, Table, Value};

/// A configuration problem, with where it is when we know.
#[derive(Debug)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line_col: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.file, self.line_col) {
            (Some(file), Some((line, col))) => {
                write!(f, "{}:{line}:{col}: {}", file.display(), self.message)
            }
            (Some(file), None) => write!(f, "{}: {}", file.display(), self.message),
            (None, Some((line, col))) => write!(f, "line {line}, column {col}: {}", self.message),
            (None, None) => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(super) fn at(
        file: Option<&Path>,
        text: &str,
        span: Option<Range<usize>>,
        message: String,
    ) -> Self {
        Self {
            file: file.map(Path::to_path_buf),
            line_col: span.map(|span| line_col(text, span.start)),
            message,
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, col)
}

/// One step of a path into the document: a key, or an index into an array (of tables).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

/// Where a semantic error is: a path into the document, or a span serde kept
/// (`toml::Spanned` fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Path(Vec<Seg<'static>>),
    Span(Range<usize>),
}

/// A value that parsed but makes no sense, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub place: Place,
    pub message: String,
}

impl Invalid {
    /// At `path`, or the nearest enclosing table or value that is written in the file.
    pub fn at(path: &[Seg<'static>], message: impl Into<String>) -> Self {
        Self {
            place: Place::Path(path.to_vec()),
            message: message.into(),
        }
    }

    pub fn spanned(span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            place: Place::Span(span),
            message: message.into(),
        }
    }

    /// Resolve the place against the text and make the error users see.
    pub(super) fn into_error(self, text: &str, file: Option<&Path>) -> ConfigError {
        let span = match self.place {
            Place::Span(span) => Some(span),
            Place::Path(path) => span_of(text, &path),
        };
        ConfigError::at(file, text, span, self.message)
    }
}

/// A node of the parsed document: tables, inline tables and arrays all nest.
enum Node<'a> {
    Item(&'a Item),
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    fn span(&self) -> Option<Range<usize>> {
        match self {
            Node::Item(item) => item.span(),
            Node::Table(table) => table.span(),
            Node::Value(value) => value.span(),
        }
    }

    fn child(&self, seg: Seg<'_>) -> Option<Node<'a>> {
        match (self, seg) {
            (Node::Item(Item::Value(value)), _) => Node::Value(value).child(seg),
            (Node::Item(item), Seg::Key(key)) => item.as_table_like()?.get(key).map(Node::Item),
            (Node::Item(Item::ArrayOfTables(array)), Seg::Index(i)) => {
                array.get(i).map(Node::Table)
            }
            (Node::Item(_), Seg::Index(_)) => None,
            (Node::Table(table), Seg::Key(key)) => table.get(key).map(Node::Item),
            (Node::Table(_), Seg::Index(_)) => None,
            (Node::Value(Value::InlineTable(table)), Seg::Key(key)) => {
                table.get(key).map(Node::Value)
            }
            (Node::Value(Value::Array(array)), Seg::Index(i)) => array.get(i).map(Node::Value),
            (Node::Value(_), _) => None,
        }
    }
}

/// The span of the value at `path`; where the path ends early (a key left out), the
/// deepest part of it that is written, e.g. the `[[source]]` header.
pub fn span_of(text: &str, path: &[Seg<'_>]) -> Option<Range<usize>> {
    let document = ImDocument::parse(text).ok()?;
    let mut node = Node::Item(document.as_item());
    let mut best = None;
    for seg in path {
        let Some(next) = node.child(*seg) else {
            break;
        };
        node = next;
        best = node.span().or(best);
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_spans_ignore_look_alikes_in_comments() {
        let text = "# [digest] to = \"x\"\n[digest]\nto = \"x\"\n";
        let span = span_of(text, &[Seg::Key("digest"), Seg::Key("to")]).unwrap();
        assert_eq!(line_col(text, span.start), (3, 6));
        let span = span_of(text, &[Seg::Key("digest"), Seg::Key("from")]).unwrap();
        assert_eq!(line_col(text, span.start).0, 2);
    }

    #[test]
    fn arrays_of_tables_and_inline_tables() {
        let text =
            "[[source]]\nname = \"a\"\n[[source]]\nname = \"b\"\noauth2 = { client_id = \"c\" }\n";
        let at = |path: &[Seg<'_>]| line_col(text, span_of(text, path).unwrap().start);
        assert_eq!(
            at(&[Seg::Key("source"), Seg::Index(1), Seg::Key("name")]),
            (4, 8)
        );
        let oauth = [
            Seg::Key("source"),
            Seg::Index(1),
            Seg::Key("oauth2"),
            Seg::Key("client_id"),
        ];
        assert_eq!(at(&oauth), (5, 24));
        assert_eq!(
            at(&[Seg::Key("source"), Seg::Index(1), Seg::Key("host")]),
            (3, 1)
        );
    }

    #[test]
    fn line_col_counts_characters() {
        assert_eq!(line_col("ab\nçd", 5), (2, 2));
        assert_eq!(line_col("", 10), (1, 1));
    }
}
