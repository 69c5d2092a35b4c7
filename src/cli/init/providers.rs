//! What `nudged init` knows about mail providers: a table of presets (servers, the Sent
//! folder's name, how to get an app password, whether only OAuth works), the domains that
//! point to each, and the DNS SRV records of RFC 6186 for every other domain.

use std::time::Duration;

use anyhow::Result;

use super::{TlsArg, UsageError};
use crate::config::TlsMode;

/// How long the SRV lookups may take together; a slow resolver must not stall `init`.
const SRV_DEADLINE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProviderKind {
    Gmail,
    Fastmail,
    Icloud,
    Outlook,
    Yahoo,
    Dovecot,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
}

/// OAuth endpoints for `nudged auth login`.
#[derive(Debug, Clone, Copy)]
pub struct OAuthPreset {
    pub token_url: &'static str,
    pub device_auth_url: Option<&'static str>,
    pub auth_url: Option<&'static str>,
    pub scopes: &'static [&'static str],
    /// Where a client id comes from: nudged has none of its own at these providers.
    pub client_hint: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub struct Preset {
    pub kind: ProviderKind,
    pub domains: &'static [&'static str],
    pub imap: Option<(&'static str, u16, TlsMode)>,
    pub smtp: Option<(&'static str, u16, TlsMode)>,
    pub sent_folder: &'static str,
    pub password_hint: &'static str,
    pub oauth: Option<OAuthPreset>,
    /// The provider refuses passwords for IMAP: OAuth is the only way in.
    pub oauth_only: bool,
}

const MICROSOFT: OAuthPreset = OAuthPreset {
    token_url: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
    device_auth_url: Some("https://login.microsoftonline.com/common/oauth2/v2.0/devicecode"),
    auth_url: None,
    scopes: &[
        "https://outlook.office.com/IMAP.AccessAsUser.All",
        // One sign-in for reading and for sending the digest (XOAUTH2 on SMTP too).
        "https://outlook.office.com/SMTP.Send",
        "offline_access",
    ],
    client_hint: "register an app in Microsoft Entra (\"Mobile and desktop\", public client flows on, IMAP.AccessAsUser.All and SMTP.Send) and pass its id with --oauth-client-id",
};

const GOOGLE: OAuthPreset = OAuthPreset {
    token_url: "https://oauth2.googleapis.com/token",
    device_auth_url: None,
    auth_url: Some("https://accounts.google.com/o/oauth2/v2/auth"),
    scopes: &["https://mail.google.com/"],
    client_hint: "create a \"Desktop app\" OAuth client in Google Cloud and pass --oauth-client-id and --oauth-client-secret-file",
};

pub const PRESETS: &[Preset] = &[
    Preset {
        kind: ProviderKind::Gmail,
        domains: &["gmail.com", "googlemail.com"],
        imap: Some(("imap.gmail.com", 993, TlsMode::Implicit)),
        smtp: Some(("smtp.gmail.com", 465, TlsMode::Implicit)),
        sent_folder: "[Gmail]/Sent Mail",
        password_hint: "Gmail needs an app password: Google Account → Security → 2-Step Verification → App passwords (or OAuth: --oauth-client-id)",
        oauth: Some(GOOGLE),
        oauth_only: false,
    },
    Preset {
        kind: ProviderKind::Fastmail,
        domains: &["fastmail.com", "fastmail.fm", "messagingengine.com"],
        imap: Some(("imap.fastmail.com", 993, TlsMode::Implicit)),
        smtp: Some(("smtp.fastmail.com", 465, TlsMode::Implicit)),
        sent_folder: "Sent",
        password_hint: "Fastmail needs an app password: Settings → Privacy & Security → App passwords (IMAP and SMTP)",
        oauth: None,
        oauth_only: false,
    },
    Preset {
        kind: ProviderKind::Icloud,
        domains: &["icloud.com", "me.com", "mac.com"],
        imap: Some(("imap.mail.me.com", 993, TlsMode::Implicit)),
        smtp: Some(("smtp.mail.me.com", 587, TlsMode::Starttls)),
        sent_folder: "Sent Messages",
        password_hint: "iCloud needs an app-specific password: account.apple.com → Sign-In and Security → App-Specific Passwords; the user name is the part before @",
        oauth: None,
        oauth_only: false,
    },
    Preset {
        kind: ProviderKind::Outlook,
        domains: &["outlook.com", "hotmail.com", "live.com", "msn.com"],
        imap: Some(("outlook.office365.com", 993, TlsMode::Implicit)),
        smtp: Some(("smtp.office365.com", 587, TlsMode::Starttls)),
        sent_folder: "Sent Items",
        password_hint: "Microsoft switched password log-in off: sign in with OAuth (`nudged auth login`)",
        oauth: Some(MICROSOFT),
        oauth_only: true,
    },
    Preset {
        kind: ProviderKind::Yahoo,
        domains: &["yahoo.com", "ymail.com", "rocketmail.com"],
        imap: Some(("imap.mail.yahoo.com", 993, TlsMode::Implicit)),
        smtp: Some(("smtp.mail.yahoo.com", 465, TlsMode::Implicit)),
        sent_folder: "Sent",
        password_hint: "Yahoo needs an app password: Account Security → Generate app password",
        oauth: None,
        oauth_only: false,
    },
    Preset {
        kind: ProviderKind::Dovecot,
        domains: &[],
        imap: None,
        smtp: None,
        sent_folder: "Sent",
        password_hint: "use the account's password (Dovecot checks it against its passdb)",
        oauth: None,
        oauth_only: false,
    },
    Preset {
        kind: ProviderKind::Other,
        domains: &[],
        imap: None,
        smtp: None,
        sent_folder: "Sent",
        password_hint: "if your provider offers app passwords, use one",
        oauth: None,
        oauth_only: false,
    },
];

pub fn preset(kind: ProviderKind) -> &'static Preset {
    PRESETS
        .iter()
        .find(|p| p.kind == kind)
        .unwrap_or(&PRESETS[PRESETS.len() - 1])
}

/// The domain part of an address, lowercased.
pub fn domain_of(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    (!domain.is_empty()).then(|| domain.trim_end_matches('.').to_ascii_lowercase())
}

/// A provider by its built-in domains.
pub fn by_domain(domain: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.domains.contains(&domain))
}

/// Servers a domain publishes (RFC 6186): `_imaps._tcp` (implicit TLS) before `_imap._tcp`
/// (STARTTLS), `_submission._tcp` for sending. A target of "." means "not offered".
#[derive(Debug, Default)]
pub struct Published {
    pub imap: Option<Server>,
    pub smtp: Option<Server>,
}

/// `server` (init's hidden `--dns-server ADDR:PORT`, for tests and split-horizon DNS)
/// replaces the system's resolvers from /etc/resolv.conf.
pub async fn srv_lookup(domain: &str, server: Option<std::net::SocketAddr>) -> Published {
    match tokio::time::timeout(SRV_DEADLINE, srv_lookup_inner(domain, server)).await {
        Ok(found) => found,
        Err(_) => {
            tracing::warn!(domain, "DNS SRV lookups did not answer in time");
            Published::default()
        }
    }
}

fn resolver(
    server: Option<std::net::SocketAddr>,
) -> Result<hickory_resolver::TokioResolver, hickory_resolver::net::NetError> {
    use hickory_resolver::config::{NameServerConfig, ResolverConfig};
    let Some(addr) = server else {
        return hickory_resolver::TokioResolver::builder_tokio()?.build();
    };
    let mut name_server = NameServerConfig::udp_and_tcp(addr.ip());
    for connection in &mut name_server.connections {
        connection.port = addr.port();
    }
    hickory_resolver::TokioResolver::builder_with_config(
        ResolverConfig::from_name_servers(vec![name_server]),
        Default::default(),
    )
    .build()
}

async fn srv_lookup_inner(domain: &str, server: Option<std::net::SocketAddr>) -> Published {
    let resolver = match resolver(server) {
        Ok(resolver) => resolver,
        Err(err) => {
            tracing::warn!(error = %err, "no DNS resolver; skipping SRV lookups");
            return Published::default();
        }
    };
    let lookup = |service: &'static str, tls: TlsMode| {
        let resolver = resolver.clone();
        let name = format!("{service}.{domain}.");
        async move {
            let answer = resolver.srv_lookup(name).await.ok()?;
            let mut records: Vec<_> = answer
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    hickory_resolver::proto::rr::RData::SRV(srv) => Some(srv.clone()),
                    _ => None,
                })
                .collect();
            records.sort_by_key(|srv| (srv.priority, std::cmp::Reverse(srv.weight)));
            let best = records.first()?;
            let host = best.target.to_utf8().trim_end_matches('.').to_string();
            (!host.is_empty()).then_some(Server {
                host,
                port: best.port,
                tls,
            })
        }
    };
    let (imaps, imap, submission) = tokio::join!(
        lookup("_imaps._tcp", TlsMode::Implicit),
        lookup("_imap._tcp", TlsMode::Starttls),
        lookup("_submission._tcp", TlsMode::Starttls),
    );
    Published {
        imap: imaps.or(imap),
        smtp: submission,
    }
}

/// `$TZ`, else what /etc/localtime links to, else /etc/timezone, else UTC.
pub fn system_timezone() -> String {
    let valid = |name: &str| name.parse::<chrono_tz::Tz>().is_ok();
    let from_env = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim_start_matches(':').to_string());
    let from_link = std::fs::read_link("/etc/localtime")
        .ok()
        .and_then(|target| {
            let text = target.to_string_lossy().into_owned();
            text.split_once("zoneinfo/")
                .map(|(_, name)| name.to_string())
        });
    let from_file = std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|t| t.trim().to_string());
    [from_env, from_link, from_file]
        .into_iter()
        .flatten()
        .find(|name| valid(name))
        .unwrap_or_else(|| "UTC".to_string())
}

pub fn tls_mode(arg: TlsArg) -> TlsMode {
    match arg {
        TlsArg::Implicit => TlsMode::Implicit,
        TlsArg::Starttls => TlsMode::Starttls,
        TlsArg::None => TlsMode::None,
    }
}

pub fn parse_tls(text: &str) -> Result<TlsMode> {
    <TlsArg as clap::ValueEnum>::from_str(text, true)
        .map(tls_mode)
        .map_err(|_| UsageError(format!("TLS {text:?}: answer implicit, starttls or none")).into())
}

pub fn provider_name(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Gmail => "gmail",
        ProviderKind::Fastmail => "fastmail",
        ProviderKind::Icloud => "icloud",
        ProviderKind::Outlook => "outlook",
        ProviderKind::Yahoo => "yahoo",
        ProviderKind::Dovecot => "dovecot",
        ProviderKind::Other => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_map_to_presets() {
        assert_eq!(domain_of("Ann@GMail.com").as_deref(), Some("gmail.com"));
        assert_eq!(domain_of("nobody"), None);
        assert_eq!(
            by_domain("hotmail.com").map(|p| p.kind),
            Some(ProviderKind::Outlook)
        );
        assert!(by_domain("example.org").is_none());
        for preset in PRESETS {
            assert_eq!(super::preset(preset.kind).kind, preset.kind);
            if preset.oauth_only {
                assert!(preset.oauth.is_some(), "{:?}", preset.kind);
            }
        }
    }
}
