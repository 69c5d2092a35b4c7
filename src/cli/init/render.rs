//! The config file `nudged init` writes: TOML text from the answers, with every value
//! quoted by the TOML library, written whole with mode 0600.

use std::path::Path;

use anyhow::{Context as _, Result};

use super::{Answers, PasswordFrom, SOURCE_NAME, TransportArg};
use crate::config::TlsMode;

/// The config text; every value is TOML-quoted, so no answer can add a key.
pub fn render(a: &Answers) -> String {
    let q = |text: &str| toml::Value::String(text.to_string()).to_string();
    let p = |path: &Path| q(&path.display().to_string());
    let tls = |mode: TlsMode| match mode {
        TlsMode::Implicit => "implicit",
        TlsMode::Starttls => "starttls",
        TlsMode::None => "none",
    };
    let secret = |from: &Option<PasswordFrom>| match from {
        Some(PasswordFrom::File(path)) => format!("password_file = {}\n", p(path)),
        Some(PasswordFrom::Command(command)) => format!("password_command = {}\n", q(command)),
        Some(PasswordFrom::SharedOAuth) => format!("oauth2_source = {}\n", q(SOURCE_NAME)),
        None => String::new(),
    };
    let store = match &a.store_path {
        // The system service's database, named so `sudo -u nudged nudged …` finds it too.
        Some(path) => format!("[store]\npath = {}\n\n", p(path)),
        None => String::new(),
    };
    let mut out = format!(
        "# Written by `nudged init`; every option is explained in config.sample.toml\n# (/usr/share/doc/nudged/config.sample.toml).\n\n{store}\
         [[source]]\nname = {}\nkind = \"imap\"\nhost = {}\nport = {}\ntls = \"{}\"\nusername = {}\n{}",
        q(SOURCE_NAME),
        q(&a.imap.host),
        a.imap.port,
        tls(a.imap.tls),
        q(&a.username),
        secret(&a.password)
    );
    if let Some(ca) = &a.ca_file {
        out.push_str(&format!("ca_file = {}\n", p(ca)));
    }
    out.push_str("folders = [\"INBOX\"]\n");
    if let Some(sent) = &a.sent_folder {
        out.push_str(&format!("sent_folder = {}\n", q(sent)));
    }
    if let Some((endpoints, id, secret_file)) = &a.oauth {
        out.push_str(&format!(
            "\n[source.oauth2]\nclient_id = {}\ntoken_url = {}\n",
            q(id),
            q(endpoints.token_url)
        ));
        if let Some(url) = endpoints.device_auth_url {
            out.push_str(&format!("device_auth_url = {}\n", q(url)));
        }
        if let Some(url) = endpoints.auth_url {
            out.push_str(&format!("auth_url = {}\n", q(url)));
        }
        let scopes: Vec<String> = endpoints.scopes.iter().map(|s| q(s)).collect();
        out.push_str(&format!("scopes = [{}]\n", scopes.join(", ")));
        if let Some(file) = secret_file {
            out.push_str(&format!("client_secret_file = {}\n", p(file)));
        }
    }
    let transport = match a.transport {
        TransportArg::Smtp => "smtp",
        TransportArg::Sendmail => "sendmail",
        TransportArg::File => "file",
    };
    out.push_str(&format!(
        "\n[digest]\nto = {}\nfrom = {}\nat = \"07:30\"\ntimezone = {}\ntransport = \"{transport}\"\n",
        q(&a.digest_to), q(&format!("nudged <{}>", a.email)), q(&a.timezone)
    ));
    if let Some(dir) = &a.file_dir {
        out.push_str(&format!("file_dir = {}\n", p(dir)));
    }
    if let Some((server, user, password)) = &a.smtp {
        out.push_str(&format!(
            "\n[smtp]\nhost = {}\nport = {}\ntls = \"{}\"\n",
            q(&server.host),
            server.port,
            tls(server.tls)
        ));
        if password.is_some() {
            out.push_str(&format!("username = {}\n{}", q(user), secret(password)));
        }
        if let Some(ca) = &a.ca_file {
            out.push_str(&format!("ca_file = {}\n", p(ca)));
        }
    }
    out
}

/// Write the file whole with mode 0600 (it names where secrets are, and may be edited
/// to hold more); a temp file renamed into place, so a crash leaves no half config.
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(".nudged-init-{}", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))
}
