//! The checklist `nudged check` prints: one line per thing tried, what was found and,
//! when it failed, how to fix it. The modules that own a protocol add their own lines.

use serde::Serialize;

/// One line of the checklist.
#[derive(Debug, Clone, Serialize)]
pub struct CheckItem {
    pub what: String,
    pub ok: bool,
    pub detail: String,
    /// How to fix it, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl CheckItem {
    pub fn pass(what: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub fn fail(
        what: impl Into<String>,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Self {
            what: what.into(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

/// The checklist as a person reads it.
pub fn render(items: &[CheckItem]) -> String {
    let mut out = String::new();
    for item in items {
        let mark = if item.ok { "ok  " } else { "FAIL" };
        out.push_str(&format!("[{mark}] {}: {}\n", item.what, item.detail));
        if let Some(fix) = &item.fix {
            out.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let failed = items.iter().filter(|i| !i.ok).count();
    if failed == 0 {
        out.push_str("Everything checks out.\n");
    } else {
        out.push_str(&format!("{failed} problem(s) found.\n"));
    }
    out
}
