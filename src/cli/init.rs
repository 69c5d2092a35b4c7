//! `nudged init`: write a working config in one step — find the provider's servers (a
//! built-in table, then DNS SRV), log in to prove the password, pick the Sent folder the
//! server marks, write the file 0600 (never over another) and run `check`.

mod ask;
mod prove;
mod providers;
mod render;
mod system;

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use clap::Args;

use super::UsageError;
use crate::config::{Config, TlsMode, default_config_path};
use ask::Asker;
use providers::{
    Preset, ProviderKind, Server, parse_tls, provider_name, system_timezone, tls_mode,
};

/// The source's name in the written config.
pub(super) const SOURCE_NAME: &str = "mail";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TlsArg {
    Implicit,
    Starttls,
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TransportArg {
    Smtp,
    Sendmail,
    File,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Your email address (the account nudged reads)
    #[arg(long)]
    email: Option<String>,
    /// Mail provider [default: from the address's domain, then its DNS SRV records]
    #[arg(long, value_enum)]
    provider: Option<ProviderKind>,
    /// IMAP server host name
    #[arg(long, value_name = "HOST")]
    imap_host: Option<String>,
    /// IMAP port [default: 993 for implicit TLS, 143 otherwise]
    #[arg(long, value_name = "PORT")]
    imap_port: Option<u16>,
    /// IMAP TLS: implicit (993), starttls (143) or none (loopback only)
    #[arg(long, value_enum)]
    tls: Option<TlsArg>,
    /// Log-in name [default: the email address]
    #[arg(long)]
    username: Option<String>,
    /// A command that prints the password (e.g. "pass show mail")
    #[arg(long, value_name = "COMMAND", conflicts_with = "password_file")]
    password_command: Option<String>,
    /// A file that holds the password (e.g. a systemd credential)
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// An extra CA certificate (PEM) to trust for IMAP and SMTP
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Sign in with OAuth using this client id (then run `nudged auth login mail`)
    #[arg(long, value_name = "ID")]
    oauth_client_id: Option<String>,
    /// The OAuth client's secret, in a file (Google's desktop clients have one)
    #[arg(long, value_name = "FILE")]
    oauth_client_secret_file: Option<PathBuf>,
    /// How the digest is sent
    #[arg(long, value_enum)]
    transport: Option<TransportArg>,
    /// SMTP server host name [default: the provider's]
    #[arg(long, value_name = "HOST")]
    smtp_host: Option<String>,
    /// SMTP port [default: 465 for implicit TLS, 587 for starttls]
    #[arg(long, value_name = "PORT")]
    smtp_port: Option<u16>,
    /// SMTP TLS: implicit (465), starttls (587) or none (loopback only)
    #[arg(long, value_enum)]
    smtp_tls: Option<TlsArg>,
    /// SMTP log-in name [default: the IMAP one]
    #[arg(long)]
    smtp_username: Option<String>,
    /// A command that prints the SMTP password [default: the IMAP password's]
    #[arg(long, value_name = "COMMAND", conflicts_with = "smtp_password_file")]
    smtp_password_command: Option<String>,
    /// A file that holds the SMTP password [default: the IMAP password's]
    #[arg(long, value_name = "FILE")]
    smtp_password_file: Option<PathBuf>,
    /// The SMTP server takes mail without a log-in (a local relay)
    #[arg(long, conflicts_with_all = ["smtp_password_file", "smtp_password_command", "smtp_username"])]
    smtp_anonymous: bool,
    /// With --transport file: where digests are written
    #[arg(long, value_name = "DIR")]
    file_dir: Option<PathBuf>,
    /// Where the digest goes [default: the email address]
    #[arg(long, value_name = "ADDRESS")]
    digest_to: Option<String>,
    /// The digest's time zone, an IANA name [default: the system's]
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// Ask nothing: take the flags and the defaults
    #[arg(long)]
    yes: bool,
    /// Replace an existing config file
    #[arg(long)]
    force: bool,
    /// The system unit's user: a config root writes into /etc/nudged (or a folder of
    /// this user's group) is made readable to it, and checked as it
    #[arg(long, value_name = "USER", default_value = "nudged", hide = true)]
    service_user: String,
    /// The system unit's StateDirectory (the database and OAuth tokens)
    #[arg(
        long,
        value_name = "DIR",
        default_value = "/var/lib/nudged",
        hide = true
    )]
    state_dir: PathBuf,
    /// Ask this DNS server (ADDR:PORT) for the SRV records instead of the system's resolver
    #[arg(long, value_name = "ADDR:PORT", hide = true)]
    dns_server: Option<std::net::SocketAddr>,
}

/// Where the password comes from.
pub(super) enum PasswordFrom {
    File(PathBuf),
    Command(String),
    /// SMTP only: XOAUTH2 with the IMAP source's sign-in.
    SharedOAuth,
}

/// Everything the config is written from.
pub(super) struct Answers {
    pub(super) email: String,
    pub(super) imap: Server,
    pub(super) username: String,
    pub(super) password: Option<PasswordFrom>,
    pub(super) ca_file: Option<PathBuf>,
    pub(super) oauth: Option<(providers::OAuthPreset, String, Option<PathBuf>)>,
    pub(super) sent_folder: Option<String>,
    pub(super) transport: TransportArg,
    pub(super) smtp: Option<(Server, String, Option<PasswordFrom>)>,
    pub(super) file_dir: Option<PathBuf>,
    pub(super) digest_to: String,
    pub(super) timezone: String,
    /// Set for the system service, so the CLI and the daemon use one database.
    pub(super) store_path: Option<PathBuf>,
}

pub fn init(config: Option<&Path>, args: InitArgs) -> Result<()> {
    let path = config
        .map(Path::to_path_buf)
        .unwrap_or_else(default_config_path);
    if path.exists() && !args.force {
        return Err(UsageError(format!(
            "{} exists; nudged init never replaces a config: pass --force to overwrite it, or --config OTHER.toml",
            path.display()
        ))
        .into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(init_async(&path, args))
}

async fn init_async(path: &Path, args: InitArgs) -> Result<()> {
    let asker = Asker::new(args.yes);
    let service = system::service_account(path, &args.service_user, &args.state_dir);
    let (mut answers, preset) = gather(&asker, args).await?;
    if let Some(service) = &service {
        answers.store_path = Some(service.state_dir.join("nudged.db"));
    }
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let config = Config::parse(&render::render(&answers), Some(path), &base)
        .map_err(|err| anyhow!("the answers do not make a valid config: {err}"))?;
    if answers.oauth.is_none() {
        answers.sent_folder = prove::prove_imap(&config, &answers, preset).await?;
        prove::prove_smtp(&config).await?;
    }
    let text = render::render(&answers);
    let config = Config::parse(&text, Some(path), &base)
        .map_err(|err| anyhow!("the answers do not make a valid config: {err}"))?;
    if asker.interactive() && !asker.confirm(&format!("Write {}?", path.display()), true)? {
        bail!("nothing was written");
    }
    if let Some(service) = &service {
        service.share_files(path, &answers)?;
    }
    render::write_private(path, &text)?;
    match &service {
        Some(service) => {
            service.hand_over(path)?;
            println!(
                "Wrote {} (mode 0640, group {}: the service reads it as user {}).",
                path.display(),
                service.name,
                service.name
            );
        }
        None => println!("Wrote {} (mode 0600).", path.display()),
    }
    let flag = format!("--config {}", path.display());
    let (sudo, as_service) = match &service {
        Some(service) => ("sudo ", format!("sudo -u {} ", service.name)),
        None => ("", String::new()),
    };
    if answers.oauth.is_some() {
        println!(
            "\nNext:\n  {sudo}nudged {flag} auth login {SOURCE_NAME}   # sign in once; the refresh token is kept 0600\n  {as_service}nudged {flag} check\n  sudo systemctl enable --now nudged        # as a service (config in /etc/nudged/config.toml)"
        );
        return Ok(());
    }
    println!(
        "\nNext:\n  {as_service}nudged {flag} run --once   # read the mail once and see what it finds\n  {as_service}nudged {flag} digest --preview\n  sudo systemctl enable --now nudged        # as a service (config in /etc/nudged/config.toml)\n\nnudged check:"
    );
    if let Some(service) = &service {
        return service.check_as_service(path).await;
    }
    let items = crate::service::check::run_checks(&config).await;
    print!("{}", crate::service::check::render(&items));
    if items.iter().any(|item| !item.ok) {
        bail!("the config was written, but `nudged check` found problems (above)");
    }
    Ok(())
}

async fn gather(asker: &Asker, args: InitArgs) -> Result<(Answers, &'static Preset)> {
    let email = asker.value(args.email, "Your email address", None, "--email")?;
    let domain = providers::domain_of(&email)
        .ok_or_else(|| UsageError(format!("{email:?} is not an email address (name@domain)")))?;
    let guessed = providers::by_domain(&domain).map_or(ProviderKind::Other, |p| p.kind);
    let kind = match args.provider {
        Some(kind) => kind,
        None if asker.interactive() => {
            let answer = asker.value(
                None,
                "Provider (gmail, fastmail, icloud, outlook, yahoo, dovecot, other)",
                Some(provider_name(guessed).into()),
                "--provider",
            )?;
            <ProviderKind as clap::ValueEnum>::from_str(&answer, true)
                .map_err(|_| UsageError(format!("unknown provider {answer:?}")))?
        }
        None => guessed,
    };
    let preset = providers::preset(kind);
    // Other domains may publish their servers (RFC 6186); asked only when needed.
    let published = if preset.imap.is_none() && args.imap_host.is_none() {
        providers::srv_lookup(&domain, args.dns_server).await
    } else {
        providers::Published::default()
    };
    let known_imap = preset
        .imap
        .map(|(host, port, tls)| Server {
            host: host.into(),
            port,
            tls,
        })
        .or(published.imap);
    let tls = match args.tls {
        Some(tls) => tls_mode(tls),
        None => match &known_imap {
            Some(server) => server.tls,
            None => parse_tls(&asker.value(
                None,
                "IMAP TLS (implicit, starttls, none)",
                Some("implicit".into()),
                "--tls",
            )?)?,
        },
    };
    let host = asker.value(
        args.imap_host,
        "IMAP server",
        known_imap.as_ref().map(|s| s.host.clone()),
        "--imap-host",
    )?;
    let default_port = match (&known_imap, args.tls) {
        (Some(server), None) => server.port,
        _ if tls == TlsMode::Implicit => 993,
        _ => 143,
    };
    let port = asker.value(
        args.imap_port.map(|p| p.to_string()),
        "IMAP port",
        Some(default_port.to_string()),
        "--imap-port",
    )?;
    let port: u16 = port
        .parse()
        .map_err(|_| UsageError(format!("IMAP port {port:?} is not a number")))?;
    let default_user = if kind == ProviderKind::Icloud {
        email.split('@').next().unwrap_or_default().to_string()
    } else {
        email.clone()
    };
    let username = asker.value(args.username, "User name", Some(default_user), "--username")?;
    let wants_oauth = args.oauth_client_id.is_some()
        || (preset.oauth_only && args.password_file.is_none() && args.password_command.is_none());
    let oauth = if wants_oauth {
        let endpoints = preset.oauth.ok_or_else(|| {
            UsageError(format!(
                "nudged has no OAuth endpoints for {}; use a password",
                provider_name(kind)
            ))
        })?;
        eprintln!("{}", preset.password_hint);
        let id = asker
            .value(
                args.oauth_client_id,
                "OAuth client id",
                None,
                "--oauth-client-id",
            )
            .map_err(|err| UsageError(format!("{err}; {}", endpoints.client_hint)))?;
        Some((endpoints, id, args.oauth_client_secret_file))
    } else {
        None
    };
    let password = match (&oauth, args.password_file, args.password_command) {
        (Some(_), _, _) => None,
        (None, Some(file), _) => Some(PasswordFrom::File(file)),
        (None, None, Some(command)) => Some(PasswordFrom::Command(command)),
        (None, None, None) => {
            if asker.interactive() {
                eprintln!("{}", preset.password_hint);
            }
            let answer = asker
                .value(
                    None,
                    "Password: a file that holds it, or !command that prints it",
                    None,
                    "--password-file or --password-command",
                )
                .map_err(|err| UsageError(format!("{err} ({})", preset.password_hint)))?;
            Some(match answer.strip_prefix('!') {
                Some(command) => PasswordFrom::Command(command.trim().to_string()),
                None => PasswordFrom::File(PathBuf::from(answer)),
            })
        }
    };
    let known_smtp = preset
        .smtp
        .map(|(host, port, tls)| Server {
            host: host.into(),
            port,
            tls,
        })
        .or(published.smtp);
    let smtp_secret_given = args.smtp_password_file.is_some()
        || args.smtp_password_command.is_some()
        || args.smtp_anonymous;
    let transport = match args.transport {
        Some(transport) => transport,
        None if known_smtp.is_some() || args.smtp_host.is_some() => TransportArg::Smtp,
        None => TransportArg::Sendmail,
    };
    let smtp = if transport == TransportArg::Smtp {
        let tls = args
            .smtp_tls
            .map(tls_mode)
            .or(known_smtp.as_ref().map(|s| s.tls))
            .unwrap_or(TlsMode::Starttls);
        let host = asker.value(
            args.smtp_host,
            "SMTP server",
            known_smtp.as_ref().map(|s| s.host.clone()),
            "--smtp-host",
        )?;
        let port = args
            .smtp_port
            .or(known_smtp.as_ref().filter(|s| s.tls == tls).map(|s| s.port))
            .unwrap_or(match tls {
                TlsMode::Implicit => 465,
                TlsMode::Starttls => 587,
                TlsMode::None => 25,
            });
        let user = args.smtp_username.unwrap_or_else(|| username.clone());
        let secret = match (args.smtp_password_file, args.smtp_password_command) {
            _ if args.smtp_anonymous => None,
            (Some(file), _) => Some(PasswordFrom::File(file)),
            (None, Some(command)) => Some(PasswordFrom::Command(command)),
            // An OAuth account sends with the same sign-in (XOAUTH2).
            (None, None) if oauth.is_some() && !smtp_secret_given => {
                Some(PasswordFrom::SharedOAuth)
            }
            (None, None) => password.as_ref().map(|p| match p {
                PasswordFrom::File(f) => PasswordFrom::File(f.clone()),
                PasswordFrom::Command(c) => PasswordFrom::Command(c.clone()),
                PasswordFrom::SharedOAuth => PasswordFrom::SharedOAuth,
            }),
        };
        Some((Server { host, port, tls }, user, secret))
    } else {
        None
    };
    if transport == TransportArg::File && args.file_dir.is_none() {
        return Err(UsageError("--transport file needs --file-dir DIR".into()).into());
    }
    let digest_to = asker.value(
        args.digest_to,
        "Send the digest to",
        Some(email.clone()),
        "--digest-to",
    )?;
    let timezone = asker.value(
        args.timezone,
        "Time zone",
        Some(system_timezone()),
        "--timezone",
    )?;
    Ok((
        Answers {
            email,
            imap: Server { host, port, tls },
            username,
            password,
            ca_file: args.ca_file,
            oauth,
            sent_folder: Some(preset.sent_folder.to_string()),
            transport,
            smtp,
            file_dir: args.file_dir,
            digest_to,
            timezone,
            store_path: None,
        },
        preset,
    ))
}
