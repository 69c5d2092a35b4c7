//! LinkedIn's `Connections.csv` (Settings → Data privacy → Get a copy of your data).
//! The file may open with a UTF-8 byte-order mark, a "Notes:" paragraph and blank
//! rows before the header `First Name,Last Name,URL,Email Address,Company,Position,
//! Connected On`; dates read like `01 Jan 2024`. Columns are found by name, so a
//! reordered or extended export still reads.

use anyhow::{Context, Result, bail};
use chrono::NaiveDate;

use super::{identity_for_email, identity_for_url};
use crate::store::{ImportReport, ImportedContact, NewIdentity};

/// Parse the export. Rows without a name are skipped into `report`.
pub fn parse(text: &str, report: &mut ImportReport) -> Result<Vec<ImportedContact>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(start) = header_offset(text) else {
        bail!("no header row with \"First Name\" and \"URL\": is this LinkedIn's Connections.csv?");
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.get(start..).unwrap_or_default().as_bytes());
    let headers = reader
        .headers()
        .context("cannot read the header row")?
        .clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let [first, last, url, email, company, position, connected] = [
        "First Name",
        "Last Name",
        "URL",
        "Email Address",
        "Company",
        "Position",
        "Connected On",
    ]
    .map(column);
    let mut records = Vec::new();
    for (index, row) in reader.records().enumerate() {
        let row_number = index + 2;
        let row = match row {
            Ok(row) => row,
            Err(err) => {
                report.skip(&format!("row {row_number}"), format!("unreadable: {err}"));
                continue;
            }
        };
        let field = |i: Option<usize>| {
            i.and_then(|i| row.get(i))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        if row.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let name = [field(first), field(last)]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if name.is_empty() {
            report.skip(&format!("row {row_number}"), "no first or last name".into());
            continue;
        }
        let mut identities: Vec<NewIdentity> = Vec::new();
        identities.extend(field(url).and_then(|u| identity_for_url(u, &name)));
        if identities.is_empty() {
            // LinkedIn hides some profiles' URLs; the name is then the only key.
            identities.push(NewIdentity {
                platform: "linkedin".into(),
                display_name: Some(name.clone()),
                ..NewIdentity::default()
            });
        }
        identities.extend(field(email).and_then(|e| identity_for_email(e, &name)));
        let note = match (field(position), field(company)) {
            (Some(p), Some(c)) => Some(format!("{p} at {c}")),
            (p, c) => p.or(c).map(str::to_string),
        };
        records.push(ImportedContact {
            name,
            note,
            identities,
            connected_at: field(connected).and_then(parse_date),
        });
    }
    Ok(records)
}

/// Where the header row starts: the first line whose cells include "First Name" and
/// "URL". Everything before it (notes, blank lines) is LinkedIn's preamble.
fn header_offset(text: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let cells: Vec<String> = line
            .split(',')
            .map(|c| c.trim().trim_matches('"').to_ascii_lowercase())
            .collect();
        if cells.iter().any(|c| c == "first name") && cells.iter().any(|c| c == "url") {
            return Some(offset);
        }
        offset += line.len();
    }
    None
}

/// "01 Jan 2024" (and ISO "2024-01-01"), as noon UTC of that day: the export has no
/// time of day, and noon keeps the date the same in nearly every time zone.
fn parse_date(text: &str) -> Option<i64> {
    ["%d %b %Y", "%Y-%m-%d", "%d %B %Y"]
        .iter()
        .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        .and_then(|date| date.and_hms_opt(12, 0, 0))
        .map(|at| at.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preamble_bom_and_blank_rows_before_the_header() {
        let text = "\u{feff}Notes:\n\"When exporting, some emails are missing, see https://x\"\n\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\n\nAnn,Lee,https://www.linkedin.com/in/annlee,,\"Acme, Inc.\",CTO,01 Jan 2024\n,,,,,,\n";
        let mut report = ImportReport::default();
        let records = parse(text, &mut report).unwrap();
        assert_eq!(records.len(), 1, "{report:?}");
        assert_eq!(records[0].name, "Ann Lee");
        assert_eq!(records[0].note.as_deref(), Some("CTO at Acme, Inc."));
        assert_eq!(records[0].connected_at, Some(1704110400));
        assert_eq!(report.skipped, 0);
    }

    #[test]
    fn a_file_without_the_header_is_refused() {
        let mut report = ImportReport::default();
        assert!(parse("Name,Phone\nAnn,1\n", &mut report).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1 Feb 2023"), parse_date("01 Feb 2023"));
        assert!(parse_date("2023-02-01").is_some());
        assert!(parse_date("yesterday").is_none());
    }
}
