//! Every fixture under tests/fixtures/ against its `.expect.toml` golden, once with the
//! file's LF line endings and once with CRLF (format in tests/fixtures/README.md).
//! All mismatches are collected and reported together, so one run shows the whole
//! picture.

use std::path::{Path, PathBuf};

use nudged::classify::{Classification, RuleSet, Trust, classify};
use nudged::config::TrustConfig;

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = Vec::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "eml") {
                files.push(file);
            }
        }
    }
    files.sort();
    files
}

fn to_crlf(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 20);
    for (i, &b) in raw.iter().enumerate() {
        if b == b'\n' && (i == 0 || raw[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

fn trust_config() -> TrustConfig {
    TrustConfig {
        authserv_ids: vec!["mx.example.com".into()],
        ..TrustConfig::default()
    }
}

/// Keys a golden may hold (tests/fixtures/README.md), and whether each must be given.
const GOLDEN_KEYS: &[(&str, bool)] = &[
    ("platform", true),
    ("kind", true),
    ("note", true),
    ("actor_name", false),
    ("actor_handle", false),
    ("actor_profile_url", false),
    ("link", false),
    ("template", false),
    ("trust", false),
    ("malformed", false),
];

/// A golden that says something the comparison would not check is a broken golden:
/// an unknown key (a typo such as `actor_nmae`), a missing required key, or a value
/// of the wrong type or outside its set.
fn golden_problems(expect: &toml::Table) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in expect {
        match GOLDEN_KEYS.iter().find(|(known, _)| known == key) {
            None => problems.push(format!(
                "unexpected key {key:?} in the golden; known keys: {}",
                GOLDEN_KEYS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(("malformed", _)) if !value.is_bool() => {
                problems.push(format!("malformed = {value}: want true or false"));
            }
            Some(("trust", _)) if !matches!(value.as_str(), Some("forged" | "unverified")) => {
                problems.push(format!(
                    "trust = {value}: want \"forged\" or \"unverified\""
                ));
            }
            Some((known, _)) if *known != "malformed" && !value.is_str() => {
                problems.push(format!("{key} = {value}: want a string"));
            }
            Some(_) => {}
        }
    }
    for (key, required) in GOLDEN_KEYS {
        if *required && !expect.contains_key(*key) {
            problems.push(format!("the golden lacks {key:?}"));
        }
    }
    problems
}

/// Differences between a result and its golden, one line each.
fn compare(expect: &toml::Table, got: &Classification) -> Vec<String> {
    let mut diffs = golden_problems(expect);
    let want = |key: &str| expect.get(key).and_then(|v| v.as_str());
    let mut check = |key: &str, got: Option<&str>| {
        if let Some(want) = want(key)
            && Some(want) != got
        {
            diffs.push(format!("{key}: want {want:?}, got {got:?}"));
        }
    };
    check(
        "platform",
        Some(got.platform.as_deref().unwrap_or("unknown")),
    );
    check("kind", Some(got.kind.as_str()));
    let actor = got.actor.clone().unwrap_or_default();
    check("actor_name", actor.name.as_deref());
    check("actor_handle", actor.handle.as_deref());
    check("actor_profile_url", actor.profile_url.as_deref());
    check("link", got.link.as_deref());
    check("template", got.template.as_deref());
    match want("trust") {
        Some("forged") if got.platform.is_some() => diffs.push(format!(
            "trust: forged mail attributed to {:?}",
            got.platform
        )),
        Some("unverified") if got.trust != Trust::Unverified => diffs.push(format!(
            "trust: want unverified, got {}",
            got.trust.as_str()
        )),
        _ => {}
    }
    // Noise, unknown templates and non-notifications name no contact.
    if !got.kind.is_social() && got.actor.is_some() {
        diffs.push(format!("actor on a {} message: {:?}", got.kind, got.actor));
    }
    diffs
}

#[test]
fn every_fixture_matches_its_golden_with_lf_and_crlf() {
    let rules = RuleSet::builtin();
    let trust = trust_config();
    let files = fixtures();
    assert!(files.len() >= 40, "only {} fixtures", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let golden = file.with_extension("expect.toml");
        let expect: toml::Table = toml::from_str(
            &std::fs::read_to_string(&golden)
                .unwrap_or_else(|e| panic!("{}: {e}", golden.display())),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
        let raw = std::fs::read(file).unwrap();
        for (ending, bytes) in [("LF", raw.clone()), ("CRLF", to_crlf(&raw))] {
            let got = classify(&bytes, &rules, &trust);
            for diff in compare(&expect, &got) {
                failures.push(format!(
                    "{} ({ending}): {diff}\n    explanation: {}",
                    file.strip_prefix(env!("CARGO_MANIFEST_DIR"))
                        .unwrap_or(file)
                        .display(),
                    got.explanation.join(" | ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatch(es) over {} fixtures:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

#[test]
fn genuine_fixtures_are_verified_through_the_trusted_server() {
    let rules = RuleSet::builtin();
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/linkedin/invitation_mbr_to_mbr.eml"),
    )
    .unwrap();
    assert_eq!(
        classify(&raw, &rules, &trust_config()).trust,
        Trust::Verified
    );
    // Without a trusted server nothing vouches for it.
    assert_eq!(
        classify(&raw, &rules, &TrustConfig::default()).trust,
        Trust::Unverified
    );
}

#[test]
fn a_golden_with_an_unknown_key_or_a_wrong_type_fails() {
    let golden = |text: &str| -> toml::Table { toml::from_str(text).unwrap() };
    let good = "platform = \"linkedin\"\nkind = \"message\"\nnote = \"n\"\n";
    assert!(golden_problems(&golden(good)).is_empty());
    let typo = golden(&format!("{good}actor_nmae = \"Ann Lee\"\n"));
    assert!(golden_problems(&typo)[0].contains("unexpected key \"actor_nmae\""));
    let wrong_type = golden(&format!("{good}link = 3\nmalformed = \"yes\"\n"));
    assert_eq!(golden_problems(&wrong_type).len(), 2);
    let lacking = golden("kind = \"message\"\nnote = \"n\"\ntrust = \"maybe\"\n");
    assert_eq!(
        golden_problems(&lacking).len(),
        2,
        "{:?}",
        golden_problems(&lacking)
    );
}
