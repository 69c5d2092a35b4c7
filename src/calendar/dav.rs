//! WebDAV over HTTP for CalDAV and CardDAV: one client per server with a deadline on every
//! request, redirects followed by hand (so PROPFIND stays PROPFIND), bodies capped, and the
//! 207 Multi-Status answers read into plain values. Protocol only; no decisions here.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use reqwest::{Method, StatusCode, Url, header};

use crate::config::DavEndpoint;
use crate::secret::Secret;

/// Enough for thousands of items in one answer; a server sending more is broken.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// How many redirects discovery follows (/.well-known/caldav → / → …).
const MAX_REDIRECTS: usize = 5;
/// How long a password_command may take.
const SECRET_DEADLINE: Duration = Duration::from_secs(20);

pub struct DavClient {
    http: reqwest::Client,
    username: Option<String>,
    password: Option<Secret>,
    pub base: Url,
    /// Requests sent, for reports and the benchmark's "one request per pass".
    pub requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// An answer's status, headers that matter and body.
pub struct DavReply {
    pub status: StatusCode,
    pub etag: Option<String>,
    pub body: String,
}

/// One `<response>` of a multistatus.
#[derive(Debug, Default, Clone)]
pub struct DavResponse {
    pub href: String,
    /// The response-level status (a removed member in sync-collection is 404).
    pub status: Option<u16>,
    /// Properties found (status 200), by local name.
    pub props: Vec<DavProp>,
}

#[derive(Debug, Default, Clone)]
pub struct DavProp {
    pub name: String,
    pub text: String,
    /// `<href>`s inside (current-user-principal, calendar-home-set).
    pub hrefs: Vec<String>,
    /// Local names of every element inside (resourcetype, supported-report-set).
    pub elements: Vec<String>,
    /// `name` attributes of `<comp>` elements inside (supported-calendar-component-set).
    pub components: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Multistatus {
    pub responses: Vec<DavResponse>,
    pub sync_token: Option<String>,
}

impl DavResponse {
    pub fn prop(&self, name: &str) -> Option<&DavProp> {
        self.props.iter().find(|p| p.name == name)
    }

    pub fn text(&self, name: &str) -> Option<&str> {
        self.prop(name).map(|p| p.text.as_str())
    }

    pub fn has_element(&self, prop: &str, element: &str) -> bool {
        self.prop(prop)
            .is_some_and(|p| p.elements.iter().any(|e| e == element))
    }
}

impl DavClient {
    /// A client for `endpoint`: its secret read (a command under a deadline), its extra
    /// trust anchor added. Nothing is sent yet.
    pub async fn new(endpoint: &DavEndpoint) -> Result<Self> {
        let url = endpoint
            .url
            .as_deref()
            .ok_or_else(|| anyhow!("{}: no url is set", endpoint.name))?;
        let base =
            Url::parse(url).with_context(|| format!("{}: bad url {url:?}", endpoint.name))?;
        let password = match (&endpoint.password_command, &endpoint.password_file) {
            (Some(command), _) => Some(
                tokio::time::timeout(SECRET_DEADLINE, Secret::from_command(command))
                    .await
                    .map_err(|_| anyhow!("password_command did not finish within 20 s"))??,
            ),
            (None, Some(path)) => Some(Secret::from_file(path)?),
            (None, None) => None,
        };
        let timeout = endpoint.timeout();
        // One trust store for IMAP, SMTP and HTTPS: the system's CAs plus `ca_file`.
        let builder = reqwest::Client::builder()
            .use_preconfigured_tls(crate::tls::client_config(endpoint.ca_file.as_deref())?)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("nudged/", env!("CARGO_PKG_VERSION")));
        Ok(Self {
            http: builder.build().context("cannot set up the HTTP client")?,
            username: endpoint.username.clone(),
            password,
            base,
            requests: Default::default(),
        })
    }

    /// Send one request, following redirects with the same method; the reply's body is
    /// read in full (capped). Errors name the method and URL, never the password.
    pub async fn send(
        &self,
        method: &str,
        url: &Url,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Result<DavReply> {
        let method = Method::from_bytes(method.as_bytes()).context("bad HTTP method")?;
        let mut url = url.clone();
        for _ in 0..=MAX_REDIRECTS {
            self.requests
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut request = self.http.request(method.clone(), url.clone());
            if let Some(user) = &self.username {
                request = request.basic_auth(user, self.password.as_ref().map(Secret::expose));
            }
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            if let Some(body) = body {
                request = request
                    .header(header::CONTENT_TYPE, content_type(body))
                    .body(body.to_string());
            }
            let mut response = request
                .send()
                .await
                .with_context(|| format!("{method} {url} failed"))?;
            let status = response.status();
            if status.is_redirection()
                && let Some(next) = response
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|l| l.to_str().ok())
            {
                let target = url
                    .join(next)
                    .with_context(|| format!("{url} redirects to a bad address"))?;
                // Another server gets the login only over TLS (a provider's well-known
                // URI often points at its DAV host).
                if target.origin() != url.origin() && target.scheme() != "https" {
                    bail!("{url} redirects to {target} without TLS; not sending the login there");
                }
                url = target;
                continue;
            }
            let etag = response
                .headers()
                .get(header::ETAG)
                .and_then(|e| e.to_str().ok())
                .map(str::to_string);
            let mut bytes = Vec::new();
            while let Some(chunk) = response
                .chunk()
                .await
                .with_context(|| format!("{method} {url}: the answer broke off"))?
            {
                if bytes.len() + chunk.len() > MAX_BODY {
                    bail!("{method} {url}: the answer is larger than 64 MiB");
                }
                bytes.extend_from_slice(&chunk);
            }
            if status == StatusCode::UNAUTHORIZED {
                bail!("{url} refused the login (401); check username and password");
            }
            return Ok(DavReply {
                status,
                etag,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            });
        }
        bail!("{url}: more than {MAX_REDIRECTS} redirects")
    }

    /// PROPFIND or REPORT: a 207 read as a multistatus; other answers are errors.
    pub async fn multistatus(
        &self,
        method: &str,
        url: &Url,
        depth: &str,
        body: &str,
    ) -> Result<Multistatus> {
        let reply = self
            .send(method, url, &[("Depth", depth)], Some(body))
            .await?;
        if reply.status != StatusCode::MULTI_STATUS {
            bail!(
                "{method} {url} answered {} instead of 207 Multi-Status",
                reply.status
            );
        }
        parse_multistatus(&reply.body).with_context(|| format!("{method} {url}: unreadable XML"))
    }
}

fn content_type(body: &str) -> &'static str {
    if body.starts_with("BEGIN:VCALENDAR") {
        "text/calendar; charset=utf-8"
    } else {
        "application/xml; charset=utf-8"
    }
}

/// An `<href>` (as sent: path or absolute URL) made absolute against `base`. Only on
/// the same server: the login goes with every request, so a reply naming another host
/// must not take it there.
pub fn resolve(base: &Url, href: &str) -> Result<Url> {
    let url = base
        .join(href)
        .with_context(|| format!("the server named a bad address {href:?}"))?;
    if url.origin() != base.origin() {
        bail!("{base} named an address on another server ({href:?}); not following it");
    }
    Ok(url)
}

/// Read a 207 Multi-Status body.
pub fn parse_multistatus(xml: &str) -> Result<Multistatus> {
    let doc = roxmltree::Document::parse(xml)?;
    let mut out = Multistatus::default();
    for node in doc.root_element().children().filter(|n| n.is_element()) {
        match node.tag_name().name() {
            "sync-token" => out.sync_token = Some(text_of(node)),
            "response" => out.responses.push(parse_response(node)),
            _ => {}
        }
    }
    Ok(out)
}

fn parse_response(node: roxmltree::Node<'_, '_>) -> DavResponse {
    let mut response = DavResponse::default();
    for child in node.children().filter(|n| n.is_element()) {
        match child.tag_name().name() {
            "href" => response.href = text_of(child),
            "status" => response.status = status_code(&text_of(child)),
            "propstat" => {
                let ok = child
                    .children()
                    .find(|n| n.tag_name().name() == "status")
                    .and_then(|s| status_code(&text_of(s)))
                    .is_some_and(|code| (200..300).contains(&code));
                let props = child.children().find(|n| n.tag_name().name() == "prop");
                if let (true, Some(props)) = (ok, props) {
                    response
                        .props
                        .extend(props.children().filter(|n| n.is_element()).map(parse_prop));
                }
            }
            _ => {}
        }
    }
    response
}

fn parse_prop(node: roxmltree::Node<'_, '_>) -> DavProp {
    let mut prop = DavProp {
        name: node.tag_name().name().to_string(),
        text: text_of(node),
        ..DavProp::default()
    };
    for inner in node.descendants().skip(1).filter(|n| n.is_element()) {
        let name = inner.tag_name().name();
        match name {
            "href" => prop.hrefs.push(text_of(inner)),
            "comp" => prop
                .components
                .extend(inner.attribute("name").map(str::to_ascii_uppercase)),
            _ => {}
        }
        prop.elements.push(name.to_string());
    }
    prop
}

/// An element's text, all of it (calendar data may come in several text nodes).
fn text_of(node: roxmltree::Node<'_, '_>) -> String {
    node.descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .trim()
        .to_string()
}

/// "HTTP/1.1 404 Not Found" → 404.
fn status_code(line: &str) -> Option<u16> {
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Text made safe inside an XML element.
pub fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multistatus_reads_hrefs_statuses_and_props() {
        let xml = r#"<?xml version="1.0"?>
<d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
 <d:response><d:href>/u/n/a.ics</d:href>
  <d:propstat><d:prop><d:getetag>"e1"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
  <d:propstat><d:prop><d:displayname/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
 </d:response>
 <d:response><d:href>/u/n/b.ics</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>
 <d:response><d:href>/u/n/</d:href><d:propstat><d:prop>
   <d:resourcetype><d:collection/><c:calendar/></d:resourcetype>
   <c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set>
   <d:current-user-principal><d:href>/u/</d:href></d:current-user-principal>
 </d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>
 <d:sync-token>http://x/sync/7</d:sync-token>
</d:multistatus>"#;
        let ms = parse_multistatus(xml).unwrap();
        assert_eq!(ms.sync_token.as_deref(), Some("http://x/sync/7"));
        assert_eq!(ms.responses.len(), 3);
        assert_eq!(ms.responses[0].text("getetag"), Some("\"e1\""));
        assert!(ms.responses[0].prop("displayname").is_none());
        assert_eq!(ms.responses[1].status, Some(404));
        let col = &ms.responses[2];
        assert!(col.has_element("resourcetype", "calendar"));
        assert_eq!(
            col.prop("supported-calendar-component-set")
                .unwrap()
                .components,
            ["VTODO"]
        );
        assert_eq!(col.prop("current-user-principal").unwrap().hrefs, ["/u/"]);
    }

    #[test]
    fn hrefs_stay_on_the_server() {
        let base = Url::parse("https://dav.example.com/u/tasks/").unwrap();
        assert_eq!(
            resolve(&base, "/u/tasks/a.ics").unwrap().as_str(),
            "https://dav.example.com/u/tasks/a.ics"
        );
        assert!(resolve(&base, "https://evil.example/a.ics").is_err());
        assert!(resolve(&base, "//evil.example/a.ics").is_err());
    }
}
