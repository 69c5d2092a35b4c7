//! Properties of the classifier on hostile input: whatever the bytes, it returns;
//! and the header-only pass never turns away a message the full rules would claim.

use std::path::Path;
use std::sync::OnceLock;

use nudged::classify::{Kind, MailView, RuleSet, classify, classify_explained};
use nudged::config::TrustConfig;
use proptest::prelude::*;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(RuleSet::builtin)
}

fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut all = Vec::new();
        for dir in std::fs::read_dir(root).unwrap().flatten() {
            for file in std::fs::read_dir(dir.path())
                .into_iter()
                .flatten()
                .flatten()
            {
                if file.path().extension().is_some_and(|e| e == "eml") {
                    all.push(std::fs::read(file.path()).unwrap());
                }
            }
        }
        all.sort();
        all
    })
}

/// A fixture with a few bytes overwritten, inserted or cut: close enough to a real
/// notification to reach deep into the rules.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        0..seeds().len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..12),
    )
        .prop_map(|(seed, edits)| {
            let mut bytes = seeds()[seed].clone();
            for (at, byte, op) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => bytes[i] = byte,
                    1 => bytes.insert(i, byte),
                    _ => bytes.truncate(i),
                }
            }
            bytes
        })
}

fn trust() -> TrustConfig {
    TrustConfig {
        authserv_ids: vec!["mx.example.com".into()],
        ..TrustConfig::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = classify(&bytes, rules(), &trust());
        let _ = classify_explained(&bytes, rules(), &trust());
    }

    #[test]
    fn mutated_notifications_never_panic_and_the_prefilter_is_sound(bytes in mutated()) {
        let fast = classify(&bytes, rules(), &trust());
        let explained = classify_explained(&bytes, rules(), &trust());
        // The explained path reads every body; the fast one may stop at the headers.
        // They must agree, or the header pass dropped a notification.
        prop_assert_eq!(fast.kind, explained.kind);
        prop_assert_eq!(&fast.platform, &explained.platform);
        if let Some(headers) = MailView::parse_headers(&bytes) && !rules().header_candidate(&headers) {
            prop_assert_eq!(fast.kind, Kind::None);
        }
    }
}
