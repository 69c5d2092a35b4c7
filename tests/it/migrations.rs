//! Every schema version upgrades to the latest without losing a row, and a database
//! is never recreated.

use nudged::store::Store;
use nudged::store::migrations::{MIGRATIONS, latest_version};
use rusqlite::Connection;

#[test]
fn empty_database_gets_the_latest_schema() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("new.db")).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    assert_eq!(store.integrity_check().unwrap(), "ok");
}

#[test]
fn every_older_version_upgrades_keeping_its_data() {
    for start in 1..=MIGRATIONS.len() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        {
            // Build a database as version `start` left it, with a user's data in it.
            let conn = Connection::open(&path).unwrap();
            for sql in &MIGRATIONS[..start] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", start as i64)
                .unwrap();
            conn.execute(
                "INSERT INTO contact (display_name, created_at) VALUES ('Ann Lee', 1763700000)",
                [],
            )
            .unwrap();
            conn.execute("INSERT INTO setting (key, value) VALUES ('feed', 'x')", [])
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store.schema_version().unwrap(),
            latest_version(),
            "from version {start}"
        );
        let names: Vec<String> = store
            .contacts()
            .unwrap()
            .into_iter()
            .map(|c| c.display_name)
            .collect();
        assert_eq!(names, vec!["Ann Lee".to_string()], "from version {start}");
        assert_eq!(store.setting("feed").unwrap().as_deref(), Some("x"));
        assert_eq!(store.integrity_check().unwrap(), "ok");
    }
}

#[test]
fn reopening_the_latest_version_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n.db");
    let mut store = Store::open(&path).unwrap();
    store.set_setting("k", "v").unwrap();
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.setting("k").unwrap().as_deref(), Some("v"));
}

#[test]
fn version_7_gives_every_task_its_interaction_platform() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v6.db");
    {
        let conn = Connection::open(&path).unwrap();
        for sql in &MIGRATIONS[..6] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 6).unwrap();
        conn.execute_batch(
            "INSERT INTO contact (id, display_name, created_at) VALUES (1, 'Ann Lee', 1);
             INSERT INTO interaction (id, contact_id, platform, kind, occurred_at, logged_at)
                 VALUES (1, 1, 'github', 'mention', 1, 1);
             INSERT INTO followup (contact_id, interaction_id, plan_key, rule, title, due_at,
                                   created_at, updated_at)
                 VALUES (1, 1, 'a', 'mention.respond', 'Respond to Ann', 2, 1, 1),
                        (1, NULL, 'b', 'met.call', 'Call Ann', 2, 1, 1);",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), latest_version());
    let platforms: Vec<(String, Option<String>)> = store
        .read()
        .prepare("SELECT plan_key, platform FROM followup ORDER BY plan_key")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        platforms,
        vec![("a".into(), Some("github".into())), ("b".into(), None)]
    );
}
