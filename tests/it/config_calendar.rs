//! `[[calendar]]` and `[[contacts]]`: the sample's tables parse once uncommented, and
//! each mistake gets an error that names the table and the fix.

use std::path::Path;

use nudged::config::{Config, DavKind};

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, None, Path::new("/base")).map_err(|e| e.to_string())
}

#[test]
fn the_sample_tables_parse_when_uncommented() {
    let sample =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("config.sample.toml"))
            .unwrap();
    let start = sample
        .find("# [[calendar]]")
        .expect("sample documents [[calendar]]");
    let end = sample[start..].find("\n\n[").map(|e| start + e).unwrap();
    let tables: String = sample[start..end]
        .lines()
        .filter(|l| l.starts_with("# ") && !l.starts_with("#  "))
        .map(|l| l.trim_start_matches("# "))
        .filter(|l| l.starts_with('[') || l.contains(" = "))
        .collect::<Vec<_>>()
        .join("\n");
    let config = parse(&tables).unwrap_or_else(|e| panic!("{e}\n{tables}"));
    assert_eq!(config.calendars.len(), 2);
    assert_eq!(config.contacts.len(), 2);
    assert_eq!(config.calendars[0].kind, DavKind::Caldav);
    assert_eq!(config.calendars[0].interval().as_secs(), 300);
    assert_eq!(config.calendars[1].collection(), "nudged");
    assert_eq!(config.contacts[0].interval().as_secs(), 86400);
    assert!(config.calendars[1].path.as_ref().unwrap().is_absolute());
}

#[test]
fn mistakes_name_the_table_and_the_fix() {
    let cases = [
        (
            "[[calendar]]\nname = \"a\"\nkind = \"vdir\"\n",
            "calendar \"a\": kind = \"vdir\" needs path",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"caldav\"\n",
            "calendar \"a\": needs url",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"caldav\"\nurl = \"http://dav.example.com/\"\n",
            "plain http is only allowed for a loopback host",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"carddav\"\nurl = \"https://x/\"\n",
            "kind must be \"caldav\" or \"vdir\"",
        ),
        (
            "[[contacts]]\nname = \"b\"\nkind = \"carddav\"\nurl = \"https://x/\"\nusername = \"me\"\n",
            "set username together with password_file or password_command",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"vdir\"\npath = \"x\"\n[[calendar]]\nname = \"a\"\nkind = \"vdir\"\npath = \"y\"\n",
            "names must be unique",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"caldav\"\nurl = \"https://me:pw@x/\"\n",
            "url must not hold a login",
        ),
        (
            "[[calendar]]\nname = \"a\"\nkind = \"vdir\"\npath = \"x\"\nsurprise = 1\n",
            "unknown field",
        ),
    ];
    for (text, want) in cases {
        let err = parse(text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {text}"));
        assert!(err.contains(want), "{text}\n→ {err}");
    }
    assert!(
        parse("[[calendar]]\nname = \"a\"\nkind = \"caldav\"\nurl = \"http://127.0.0.1:5232/\"\n")
            .is_ok()
    );
}
