//! The tracked fuzz seeds (fuzz/seeds/classify), replayed on every test run with LF and
//! CRLF line endings: parse → classify never panics and gives a coherent answer, and
//! the store path logs each message at most once, however often it is fed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use chrono::{TimeZone, Utc};
use nudged::classify::{Classification, Kind, RuleSet, classify};
use nudged::config::{Config, TrustConfig};
use nudged::ingest::Ingest;
use nudged::store::Store;

/// Every seed, in LF and in CRLF form (both where the seed had one or the other).
fn seeds() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/classify");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let raw = std::fs::read(&file).unwrap();
        let lf = replace(&raw, b"\r\n", b"\n");
        let crlf = replace(&lf, b"\n", b"\r\n");
        out.push((format!("{name} (as stored)"), raw));
        out.push((format!("{name} (LF)"), lf));
        out.push((format!("{name} (CRLF)"), crlf));
    }
    out
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(from) {
            out.extend_from_slice(to);
            i += from.len();
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The trust settings of the fuzz target: a pinned key sends signed seeds through
/// local DKIM verification too.
fn trust() -> TrustConfig {
    TrustConfig {
        authserv_ids: vec!["mx.example.com".into()],
        dkim_keys: [(
            "s1._domainkey.linkedin.com".to_string(),
            "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".to_string(),
        )]
        .into(),
        ..TrustConfig::default()
    }
}

/// What any answer must satisfy, whatever the input was.
fn check_coherent(name: &str, result: &Classification) {
    serde_json::to_string(result).unwrap_or_else(|e| panic!("{name}: not serialisable: {e}"));
    assert!(!result.explanation.is_empty(), "{name}: no reason given");
    assert!(
        result.snippet.chars().count() <= 241,
        "{name}: snippet of {} characters",
        result.snippet.chars().count()
    );
    if result.kind.is_social() {
        assert!(
            result.platform.is_some() && result.rule.is_some(),
            "{name}: {} without platform or rule: {result:?}",
            result.kind
        );
    }
    if result.platform.is_some() {
        assert!(
            result.rule.is_some() || result.kind == Kind::UnknownTemplate,
            "{name}: a platform but neither a rule nor an unknown template: {result:?}"
        );
    }
    if let Some(link) = &result.link {
        assert!(link.starts_with("http"), "{name}: link {link:?}");
    }
}

#[test]
fn every_seed_classifies_without_panic_and_coherently() {
    let seeds = seeds();
    assert!(seeds.len() >= 3 * 40, "only {} seed variants", seeds.len());
    let rules = RuleSet::builtin();
    let trust = trust();
    let mut notifications = 0;
    for (name, raw) in &seeds {
        let result = catch_unwind(AssertUnwindSafe(|| classify(raw, &rules, &trust)))
            .unwrap_or_else(|_| panic!("{name}: classify panicked"));
        check_coherent(name, &result);
        notifications += usize::from(result.kind.is_social());
    }
    // The per-platform seeds are notifications: a classifier that stopped recognising
    // anything would still "not panic".
    assert!(notifications >= 20, "only {notifications} notifications");
}

#[test]
fn every_seed_goes_through_the_store_at_most_once() {
    let config = Config::empty();
    let rules = RuleSet::builtin();
    let ingest = Ingest {
        rules: &rules,
        config: &config,
        now: Utc.with_ymd_and_hms(2026, 11, 24, 8, 0, 0).unwrap(),
    };
    let mut store = Store::in_memory().unwrap();
    let seeds = seeds();
    let feed = |store: &mut Store| {
        for (name, raw) in &seeds {
            catch_unwind(AssertUnwindSafe(|| {
                store.write(|tx| ingest.message(tx, raw)).map(drop)
            }))
            .unwrap_or_else(|_| panic!("{name}: ingest panicked"))
            .unwrap_or_else(|e| panic!("{name}: ingest failed: {e:#}"));
        }
        store.count_interactions().unwrap()
    };
    let first = feed(&mut store);
    assert!(first > 0, "no seed was logged");
    assert_eq!(feed(&mut store), first, "a second pass logged more");
    assert_eq!(store.integrity_check().unwrap(), "ok");
}
