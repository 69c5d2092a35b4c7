//! `[[contacts]]` address books read into the contacts: a CardDAV book on Radicale and a
//! vdir folder, each with grouped properties (item1.URL), X-SOCIALPROFILE and IMPP, which
//! become platform identities; reading again adds no one.

use crate::support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{RADICALE_PASSWORD, RADICALE_USER, Radicale};

fn nudged(config: &Path, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(config)
        .arg("--json")
        .args(args)
        .env("NUDGED_NOW", "2026-06-01T13:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn card() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/contacts/ann-lee.vcf")
}

/// Runs two passes with `table` as the only `[[contacts]]` and checks the one person.
fn reads_the_book_into_one_contact(dir: &Path, table: &str) {
    std::fs::create_dir_all(dir.join("mail/cur")).unwrap();
    std::fs::create_dir_all(dir.join("mail/new")).unwrap();
    let config = dir.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\npath = \"n.db\"\n[[source]]\nname = \"local\"\nkind = \"maildir\"\npath = \"mail\"\n{table}"
        ),
    )
    .unwrap();
    let first = nudged(&config, &["run", "--once"]);
    let book = &first["address_books"][0];
    assert_eq!(
        (book["cards"].clone(), book["added"].clone()),
        (1.into(), 1.into()),
        "{first}"
    );
    let again = nudged(&config, &["run", "--once"]);
    assert_eq!(again["address_books"][0]["added"], 0, "{again}");
    let contacts = nudged(&config, &["contacts"]);
    let contacts = contacts.as_array().unwrap();
    assert_eq!(contacts.len(), 1, "{contacts:?}");
    let ids: Vec<(String, String)> = contacts[0]["identities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["platform"].as_str().unwrap_or_default().to_string(),
                i["handle"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for want in [
        ("github", "annlee-demo"),
        ("linkedin", "ann-lee-demo"),
        ("xmpp", "ann@jabber.example.org"),
        ("email", "ann.lee@example.org"),
    ] {
        assert!(
            ids.iter().any(|(p, h)| p == want.0 && h == want.1),
            "{want:?} missing from {ids:?}"
        );
    }
}

#[test]
fn a_carddav_book_with_grouped_properties_becomes_identities() {
    let radicale = Radicale::start();
    radicale.phone(&["put-card", "friends", card().to_str().unwrap()]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("pw"), RADICALE_PASSWORD).unwrap();
    reads_the_book_into_one_contact(
        dir.path(),
        &format!(
            "[[contacts]]\nname = \"server\"\nkind = \"carddav\"\nurl = \"{}\"\n\
             username = \"{RADICALE_USER}\"\npassword_file = \"pw\"\naddressbook = \"friends\"\n",
            radicale.url()
        ),
    );
}

#[test]
fn a_vdir_book_is_read_the_same_way() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("book")).unwrap();
    std::fs::copy(card(), dir.path().join("book/ann.vcf")).unwrap();
    reads_the_book_into_one_contact(
        dir.path(),
        "[[contacts]]\nname = \"laptop\"\nkind = \"vdir\"\npath = \"book\"\n",
    );
}
