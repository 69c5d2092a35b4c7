//! Raw bytes → parse → classify must never panic, whatever the bytes. Run with
//! `cargo +nightly fuzz run classify fuzz/corpus/classify fuzz/seeds/classify`: the
//! hand-picked seeds are tracked (and replayed by `tests/fuzz_seeds.rs` on every test
//! run); what libFuzzer generates goes to the first, untracked directory.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nudged::classify::{RuleSet, classify};
use nudged::config::TrustConfig;

fn setup() -> &'static (RuleSet, TrustConfig) {
    static SETUP: OnceLock<(RuleSet, TrustConfig)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let trust = TrustConfig {
            authserv_ids: vec!["mx.example.com".into()],
            // A pinned key makes signed inputs go through local DKIM verification too.
            dkim_keys: [(
                "s1._domainkey.linkedin.com".to_string(),
                "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=".to_string(),
            )]
            .into(),
            ..TrustConfig::default()
        };
        (RuleSet::builtin(), trust)
    })
}

fuzz_target!(|data: &[u8]| {
    let (rules, trust) = setup();
    let result = classify(data, rules, trust);
    // Exercise what callers do with the result.
    let _ = serde_json::to_string(&result);
});
