//! Shared by the digest end-to-end tests: config and store set-up, one daemon pass at a
//! given instant, a scripted SMTP peer for faults aiosmtpd cannot produce, and the
//! independent checkers (Python `email`, headless Chromium, PNG decoding).

#![allow(dead_code)] // each test binary uses part of this

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use chrono::{DateTime, Utc};
use nudged::classify::{Kind, RuleSet};
use nudged::config::Config;
use nudged::digest::outbox::{DigestOutcome, run_digest_on};
use nudged::ingest::{Ingest, ManualEntry, log_manual, plan_housekeeping};
use nudged::source::maildir::sync_maildir;
use nudged::store::{NewIdentity, Store};

pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// A config from TOML text (paths in it are absolute).
pub fn config(text: &str) -> Config {
    Config::parse(text, None, Path::new("/")).unwrap_or_else(|e| panic!("test config: {e}\n{text}"))
}

/// `[smtp]` for a plain loopback server.
pub fn smtp_section(port: u16) -> String {
    format!("[smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n")
}

/// One daemon pass at `now`: read every source, housekeeping, the digest.
pub fn pass(store: &mut Store, config: &Config, now: DateTime<Utc>) -> DigestOutcome {
    if !config.sources.is_empty() {
        let rules = RuleSet::with_user_rules(&config.rules).expect("rules");
        let ingest = Ingest {
            rules: &rules,
            config,
            now,
        };
        for source in &config.sources {
            let report = sync_maildir(store, &ingest, source).expect("maildir pass");
            assert!(report.errors.is_empty(), "{:?}", report.errors);
        }
    }
    plan_housekeeping(store, config, now).expect("housekeeping");
    // The transport is async; a runtime of its own per pass, as `nudged digest` has.
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(run_digest_on(store, config, now, false))
        .expect("digest pass")
}

/// Copy the bundled demo notifications (November 2026) into a Maildir's cur/.
pub fn seed_demo(maildir: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-maildir/cur");
    for entry in std::fs::read_dir(&demo).expect("demo maildir") {
        let entry = entry.expect("demo entry");
        std::fs::copy(entry.path(), maildir.join("cur").join(entry.file_name()))
            .expect("copy a demo message");
    }
}

/// A contact whose name tries header injection and HTML, with the meeting sequence.
pub const HOSTILE_NAME: &str =
    "Eve\r\nBcc: victim@evil.example\r\n<script>alert(1)</script> & \"Mallory\"";

pub fn add_hostile_contact(store: &mut Store, config: &Config, now: DateTime<Utc>) {
    let who = NewIdentity {
        platform: "in_person".into(),
        display_name: Some(HOSTILE_NAME.into()),
        ..NewIdentity::default()
    };
    log_manual(
        store,
        config,
        &ManualEntry {
            who,
            contact_id: None,
            kind: Kind::Met,
            subject: format!("Met {HOSTILE_NAME}"),
            note: Some("note\r\nX-Injected: yes".into()),
        },
        now,
    )
    .expect("log the hostile contact");
}

/// Message files in a Maildir's new/ and cur/, sorted by name.
pub fn messages_in(maildir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(entries) = std::fs::read_dir(maildir.join(sub)) {
            found.extend(entries.map(|e| e.expect("maildir entry").path()));
        }
    }
    found.sort();
    found
}

/// Delivered digests (messages whose Message-ID is a digest's), as raw text.
pub fn digests_in(maildir: &Path) -> Vec<String> {
    messages_in(maildir)
        .into_iter()
        .map(|p| String::from_utf8_lossy(&std::fs::read(p).expect("read message")).into_owned())
        .filter(|m| m.contains("Message-ID: <digest-"))
        .collect()
}

pub fn header(message: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    message
        .lines()
        .take_while(|l| !l.is_empty())
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_string())
}

/// Parse a delivered message with Python's `email` package (tests/py/check_digest.py).
pub fn python_check(message: &Path, html_out: &Path, ics_out: &Path) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_digest.py");
    let out = Command::new("/usr/bin/python3")
        .arg(script)
        .args([message, html_out, ics_out])
        .output()
        .expect("/usr/bin/python3 missing; run scripts/install-test-deps.sh");
    assert!(
        out.status.success(),
        "check_digest.py failed (python3-icalendar installed? run scripts/install-test-deps.sh):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("check_digest.py prints JSON")
}

/// Render `html` in headless Chromium in a `width` × `height` window; returns the PNG path.
pub fn screenshot(html: &Path, dir: &Path, width: u32, height: u32) -> PathBuf {
    let chromium = Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "/usr/bin/chromium missing; run scripts/install-test-deps.sh"
    );
    let png = dir.join(format!("digest-{width}.png"));
    let profile = tempfile::tempdir().expect("chromium profile dir");
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success() && png.exists(),
        "chromium did not write a screenshot:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    png
}

/// Width, height and luminance (0–255) of every pixel, row by row.
pub fn png_luma(png: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(png).expect("open png")));
    let mut reader = decoder.read_info().expect("png header");
    let mut buf = vec![0; reader.output_buffer_size().expect("png size")];
    let info = reader.next_frame(&mut buf).expect("png frame");
    assert_eq!(info.bit_depth, png::BitDepth::Eight, "{}", png.display());
    let channels = info.color_type.samples();
    let luma = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|px| match px {
            [r, g, b, ..] => ((*r as u32 * 299 + *g as u32 * 587 + *b as u32 * 114) / 1000) as u8,
            [gray, ..] => *gray,
            [] => 255,
        })
        .collect();
    (info.width, info.height, luma)
}

/// Width, height and how many pixels are not (near) white.
pub fn png_ink(png: &Path) -> (u32, u32, usize) {
    let (width, height, luma) = png_luma(png);
    (width, height, luma.iter().filter(|&&l| l < 235).count())
}

/// Side of the square blocks screenshots are compared in: glyph edges that anti-alias a
/// little differently average out inside a block, a moved line or a new box does not.
const GOLDEN_BLOCK: u32 = 8;
/// A block differs when its mean luminance moved by more than this …
const GOLDEN_BLOCK_DELTA: f64 = 24.0;
/// … and the screenshot matches while at most this share of blocks differ.
const GOLDEN_MAX_DIFFERING: f64 = 0.01;

/// Compare a screenshot with `tests/golden/NAME` within the tolerance above. With
/// `NUDGED_UPDATE_GOLDEN=1` the screenshot becomes the new golden (review the image, then
/// commit it); a missing golden fails and says so.
pub fn assert_matches_golden(png: &Path, name: &str) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("NUDGED_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().expect("golden dir")).expect("tests/golden");
        std::fs::copy(png, &golden).expect("write the golden screenshot");
        return;
    }
    assert!(
        golden.exists(),
        "no golden screenshot {}: run the test with NUDGED_UPDATE_GOLDEN=1, look at the image, commit it",
        golden.display()
    );
    let (w, h, actual) = png_luma(png);
    let (gw, gh, expected) = png_luma(&golden);
    assert_eq!((w, h), (gw, gh), "screenshot size differs from {name}");
    let (blocks_x, blocks_y) = (w.div_ceil(GOLDEN_BLOCK), h.div_ceil(GOLDEN_BLOCK));
    let mut differing = 0usize;
    for by in 0..blocks_y {
        for bx in 0..blocks_x {
            let (mut sum_a, mut sum_e, mut n) = (0f64, 0f64, 0f64);
            for y in by * GOLDEN_BLOCK..((by + 1) * GOLDEN_BLOCK).min(h) {
                for x in bx * GOLDEN_BLOCK..((bx + 1) * GOLDEN_BLOCK).min(w) {
                    let at = (y * w + x) as usize;
                    sum_a += actual[at] as f64;
                    sum_e += expected[at] as f64;
                    n += 1.0;
                }
            }
            if ((sum_a - sum_e) / n).abs() > GOLDEN_BLOCK_DELTA {
                differing += 1;
            }
        }
    }
    let share = differing as f64 / (blocks_x * blocks_y) as f64;
    if share > GOLDEN_MAX_DIFFERING {
        let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target/golden-actual")
            .join(name);
        let _ = std::fs::create_dir_all(kept.parent().expect("parent"));
        let _ = std::fs::copy(png, &kept);
        panic!(
            "screenshot differs from tests/golden/{name} in {:.1}% of {GOLDEN_BLOCK}px blocks \
             (tolerance {:.1}%); the new one is {}. If the change is intended, refresh with \
             NUDGED_UPDATE_GOLDEN=1 cargo test --test it digest_delivery::",
            share * 100.0,
            GOLDEN_MAX_DIFFERING * 100.0,
            kept.display()
        );
    }
}

/// How the scripted SMTP peer treats the message after DATA.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerFault {
    /// Read the whole message, then close without a reply.
    DropBefore250,
    /// Say 250, then close at once.
    DropAfter250,
    /// Read the whole message and never answer (the client process gets killed).
    Stall,
}

/// A minimal SMTP server that misbehaves on purpose; it records every message it read.
pub struct ScriptedSmtp {
    pub port: u16,
    pub received: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl ScriptedSmtp {
    pub fn start(fault: PeerFault) -> ScriptedSmtp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind scripted SMTP peer");
        let port = listener.local_addr().expect("addr").port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (r, s) = (received.clone(), stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let r = r.clone();
                thread::spawn(move || {
                    let _ = serve(stream, fault, &r);
                });
            }
        });
        ScriptedSmtp {
            port,
            received,
            stop,
        }
    }

    pub fn messages(&self) -> Vec<String> {
        self.received.lock().expect("peer lock").clone()
    }
}

impl Drop for ScriptedSmtp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    stream: TcpStream,
    fault: PeerFault,
    received: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut out = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    out.write_all(b"220 scripted ESMTP\r\n")?;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" => out.write_all(b"250-scripted\r\n250 8BITMIME\r\n")?,
            "HELO" | "MAIL" | "RCPT" | "RSET" | "NOOP" => out.write_all(b"250 ok\r\n")?,
            "QUIT" => {
                out.write_all(b"221 bye\r\n")?;
                return Ok(());
            }
            "DATA" => {
                out.write_all(b"354 go ahead\r\n")?;
                let mut message = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    message.push_str(&line);
                }
                received.lock().expect("peer lock").push(message);
                match fault {
                    PeerFault::DropBefore250 => return Ok(()),
                    PeerFault::DropAfter250 => {
                        out.write_all(b"250 queued\r\n")?;
                        return Ok(());
                    }
                    PeerFault::Stall => {
                        thread::sleep(Duration::from_secs(60));
                        return Ok(());
                    }
                }
            }
            _ => out.write_all(b"502 not here\r\n")?,
        }
    }
}
