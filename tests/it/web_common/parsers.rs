//! Independent calendar parsers, run as the real programs: Python `icalendar`, Mozilla's
//! `ical.js` (under node) and khal. Each returns what it understood so tests compare it
//! with what was meant. A missing parser fails the test with the way to install it.

use std::path::Path;
use std::process::Command;

use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq)]
pub struct Item {
    pub kind: String,
    pub uid: String,
    pub summary: String,
    pub sequence: i64,
    pub status: Option<String>,
    pub alarms: usize,
}

fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap_or_else(|e| {
        panic!("{what} could not be started ({e}); run scripts/install-test-deps.sh as root")
    });
    assert!(
        out.status.success(),
        "{what} rejected the calendar:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

const PYTHON: &str = r#"
import json, sys
import icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], 'rb').read())
items = []
for comp in cal.walk():
    if getattr(comp, 'errors', None):
        sys.exit('parse errors in %s: %r' % (comp.name, comp.errors))
    if comp.name in ('VEVENT', 'VTODO'):
        items.append({
            'kind': comp.name,
            'uid': str(comp.get('uid')),
            'summary': str(comp.get('summary')),
            'sequence': int(comp.get('sequence', 0)),
            'status': str(comp.get('status')) if comp.get('status') else None,
            'alarms': len([c for c in comp.subcomponents if c.name == 'VALARM']),
        })
print(json.dumps({'name': str(cal.get('x-wr-calname')), 'items': items}))
"#;

#[derive(Debug, Deserialize)]
pub struct Parsed {
    pub name: String,
    pub items: Vec<Item>,
}

/// Python's `icalendar`, the system one (the `python3` on PATH may lack it).
pub fn python_icalendar(file: &Path) -> Parsed {
    let out = run(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(PYTHON)
            .arg(file),
        "/usr/bin/python3 with icalendar (apt-get install python3-icalendar)",
    );
    serde_json::from_str(&out).unwrap()
}

const ICAL_JS: &str = r#"
import fs from 'node:fs';
const ICAL = (await import(process.argv[1])).default;
const root = new ICAL.Component(ICAL.parse(fs.readFileSync(process.argv[2], 'utf8')));
const items = [];
for (const kind of ['vevent', 'vtodo']) {
  for (const comp of root.getAllSubcomponents(kind)) {
    items.push({
      kind: kind.toUpperCase(),
      uid: comp.getFirstPropertyValue('uid'),
      summary: comp.getFirstPropertyValue('summary'),
      sequence: comp.getFirstPropertyValue('sequence') ?? 0,
      status: comp.getFirstPropertyValue('status'),
      alarms: comp.getAllSubcomponents('valarm').length,
    });
    // Touch the dates so a malformed one throws here.
    for (const p of ['dtstart', 'dtend', 'due']) {
      const v = comp.getFirstPropertyValue(p);
      if (v) v.toJSDate();
    }
  }
}
console.log(JSON.stringify({ name: root.getFirstPropertyValue('x-wr-calname'), items }));
"#;

/// Mozilla's ical.js from tests/js/node_modules (scripts/install-test-deps.sh).
pub fn ical_js(file: &Path) -> Parsed {
    let module =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/js/node_modules/ical.js/dist/ical.js");
    assert!(
        module.exists(),
        "ical.js is not installed at {}; run scripts/install-test-deps.sh",
        module.display()
    );
    let out = run(
        Command::new("node")
            .arg("--input-type=module")
            .arg("-e")
            .arg(ICAL_JS)
            .arg(format!("file://{}", module.display()))
            .arg(file),
        "node with ical.js",
    );
    let mut parsed: Parsed = serde_json::from_str(&out).unwrap();
    // ical.js gives status as null when absent; normalise like Python's.
    for item in &mut parsed.items {
        item.status = item.status.take().filter(|s| !s.is_empty());
    }
    parsed
}

/// `khal import --batch` into a fresh vdir under a temp HOME; returns the imported
/// files' contents, one per event.
pub fn khal_import(file: &Path) -> Vec<String> {
    let home = tempfile::tempdir().unwrap();
    let cal = home.path().join("calendars/nudged");
    std::fs::create_dir_all(&cal).unwrap();
    let config = home.path().join("khal.conf");
    std::fs::write(
        &config,
        format!(
            "[calendars]\n[[nudged]]\npath = {}\ntype = calendar\n\n\
             [locale]\ntimeformat = %H:%M\ndateformat = %Y-%m-%d\nlongdateformat = %Y-%m-%d\n\
             datetimeformat = %Y-%m-%d %H:%M\nlongdatetimeformat = %Y-%m-%d %H:%M\n\
             local_timezone = Europe/Berlin\ndefault_timezone = Europe/Berlin\n\n\
             [default]\ndefault_calendar = nudged\n\n\
             [sqlite]\npath = {}\n",
            cal.display(),
            home.path().join("khal.db").display()
        ),
    )
    .unwrap();
    run(
        Command::new("khal")
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CONFIG_HOME", home.path().join("config"))
            .arg("-c")
            .arg(&config)
            .arg("import")
            .arg("--batch")
            .arg("-a")
            .arg("nudged")
            .arg(file),
        "khal (apt-get install khal)",
    );
    let mut files: Vec<String> = std::fs::read_dir(&cal)
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    files
}
