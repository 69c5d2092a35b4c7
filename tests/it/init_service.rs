//! `sudo nudged init` for the system service, and a Microsoft 365 account's config:
//! as root, into a folder of the service user's group, init makes the config and the
//! secret file next to it 0640 root:GROUP, names the service's database, refuses a secret
//! elsewhere that the service could not read, and runs `check` as that user. (The suite
//! uses the `dovecot` user for the service's; `nudged` on a real install.) With
//! `--provider outlook` the digest goes out over SMTP with the same OAuth sign-in.

use crate::support::{Dovecot, PASSWORD, SmtpSink};

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

fn run<S: AsRef<std::ffi::OsStr>>(args: impl IntoIterator<Item = S>) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .args(args)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    (
        output.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

fn id(flag: &str, user: &str) -> u32 {
    let out = Command::new("id").args([flag, user]).output().unwrap();
    assert!(out.status.success(), "no user {user}");
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn root_init_for_the_service_shares_config_and_secret_with_its_group_and_checks_as_it() {
    // SAFETY: geteuid cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    assert!(
        root,
        "this test runs `nudged init` as root, as `sudo nudged init` would (CI runs as root)"
    );
    let (uid, gid) = (id("-u", "dovecot"), id("-g", "dovecot"));
    let dovecot = Dovecot::start_with(|o| o.extra_config = "auth_failure_delay = 0\n".into());
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sink = SmtpSink::start_into_dir(top.path());
    let etc = top.path().join("etc");
    std::fs::create_dir(&etc).unwrap();
    std::os::unix::fs::chown(&etc, Some(0), Some(gid)).unwrap();
    std::fs::set_permissions(&etc, std::fs::Permissions::from_mode(0o750)).unwrap();
    let ca = etc.join("ca.pem");
    std::fs::copy(dovecot.ca_file(), &ca).unwrap();
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let secret = |path: &Path| {
        std::fs::write(path, format!("{PASSWORD}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let beside = etc.join("imap-password");
    let elsewhere = top.path().join("root-only-password");
    secret(&beside);
    secret(&elsewhere);
    let state = top.path().join("state");
    let config = etc.join("config.toml");
    let port = dovecot.imaps_port().to_string();
    let smtp_port = sink.port().to_string();
    let args = |password: &Path| -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> = vec!["--config".into(), config.clone().into()];
        for arg in [
            "init",
            "--yes",
            "--email",
            "olga@example.org",
            "--provider",
            "dovecot",
            "--imap-host",
            "127.0.0.1",
            "--imap-port",
            &port,
            "--tls",
            "implicit",
            "--username",
            "olga",
            "--smtp-host",
            "127.0.0.1",
            "--smtp-port",
            &smtp_port,
            "--smtp-tls",
            "none",
            "--smtp-anonymous",
            "--service-user",
            "dovecot",
        ] {
            args.push(arg.into());
        }
        for (flag, value) in [
            ("--ca-file", &ca),
            ("--password-file", &password.to_path_buf()),
            ("--state-dir", &state),
        ] {
            args.push(flag.into());
            args.push(value.clone().into());
        }
        args
    };
    // A secret outside the config's folder that the service's user cannot read.
    let refused = args(&elsewhere);
    let (code, out) = run(&refused);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains("runs as user dovecot, which cannot read")
            && out.contains("Nothing was written"),
        "{out}"
    );
    assert!(!config.exists());
    let mode = std::fs::metadata(&elsewhere).unwrap().mode();
    assert_eq!(
        mode & 0o777,
        0o600,
        "a file outside the config's folder was changed"
    );

    // A CA file anyone may read, but in a folder the service's user cannot enter.
    let private = top.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hidden_ca = private.join("ca.pem");
    std::fs::copy(&ca, &hidden_ca).unwrap();
    std::fs::set_permissions(&hidden_ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut hidden = args(&beside);
    let at = hidden.iter().position(|a| a == "--ca-file").unwrap();
    hidden[at + 1] = hidden_ca.clone().into();
    let (code, out) = run(&hidden);
    assert_eq!(code, Some(2), "{out}");
    assert!(
        out.contains(&format!("cannot read {}", hidden_ca.display()))
            && out.contains("Nothing was written"),
        "{out}"
    );
    assert!(!config.exists());
    assert_eq!(
        std::fs::metadata(&beside).unwrap().mode() & 0o777,
        0o600,
        "a refused init changed the secret beside the config"
    );

    let good = args(&beside);
    let (code, out) = run(&good);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("Everything checks out."), "{out}");
    assert!(out.contains("sudo -u dovecot nudged --config"), "{out}");
    for path in [&config, &beside] {
        let meta = std::fs::metadata(path).unwrap();
        assert_eq!(
            (meta.mode() & 0o777, meta.uid(), meta.gid()),
            (0o640, 0, gid),
            "{} is not 0640 root:dovecot",
            path.display()
        );
    }
    let meta = std::fs::metadata(&state).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.uid()), (0o700, uid));
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains(&format!(
            "[store]\npath = \"{}\"",
            state.join("nudged.db").display()
        )),
        "{text}"
    );
    // What the service will do: read the config and the password as that user.
    let check = Command::new(env!("CARGO_BIN_EXE_nudged"))
        .arg("--config")
        .arg(&config)
        .arg("check")
        .uid(uid)
        .gid(gid)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stdout)
    );
}

#[test]
fn an_outlook_account_reads_and_sends_with_one_oauth_sign_in() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nudged.toml");
    let (code, out) = run([
        "--config".as_ref(),
        config.as_os_str(),
        "init".as_ref(),
        "--yes".as_ref(),
        "--email".as_ref(),
        "olga@outlook.com".as_ref(),
        "--oauth-client-id".as_ref(),
        "client-1".as_ref(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("auth login mail"), "{out}");
    let text = std::fs::read_to_string(&config).unwrap();
    for want in [
        "transport = \"smtp\"",
        "host = \"smtp.office365.com\"",
        "port = 587",
        "tls = \"starttls\"",
        "username = \"olga@outlook.com\"",
        "oauth2_source = \"mail\"",
        "https://outlook.office.com/SMTP.Send",
        "https://outlook.office.com/IMAP.AccessAsUser.All",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
    // One sign-in to make: `auth status` lists the source alone, not a second one for SMTP.
    let (code, out) = run([
        "--config".as_ref(),
        config.as_os_str(),
        "auth".as_ref(),
        "status".as_ref(),
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("run `nudged auth login mail`"), "{out}");
    assert_eq!(out.matches("no token yet").count(), 1, "{out}");
}
