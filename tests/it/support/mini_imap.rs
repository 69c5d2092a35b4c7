//! Just enough IMAP, over a plain TcpStream, to seed mail with APPEND: one command at a
//! time, tag "A", no literals from the server.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::PASSWORD;

/// Logs in as `user`, creates `folder` unless it exists, APPENDs `raw` and returns its UID
/// (UIDPLUS APPENDUID). Panics with the server's reply on NO/BAD.
pub(super) fn append(port: u16, user: &str, folder: &str, raw: &[u8]) -> u32 {
    let mut imap = MiniImap::login(port, user);
    if !folder.eq_ignore_ascii_case("INBOX") {
        let reply = imap.command(&format!("CREATE {}", quote(folder)));
        if !reply.ok && !reply.text.contains("[ALREADYEXISTS]") {
            panic!("IMAP CREATE {folder:?} for {user} failed:\n{}", reply.text);
        }
    }
    imap.send(format!("A APPEND {} {{{}}}\r\n", quote(folder), raw.len()).as_bytes());
    let cont = imap.line();
    if !cont.starts_with('+') {
        panic!("IMAP APPEND to {folder:?} for {user} refused before the literal: {cont}");
    }
    imap.send(raw);
    imap.send(b"\r\n");
    let reply = imap.reply("A");
    if !reply.ok {
        panic!(
            "IMAP APPEND to {folder:?} for {user} failed:\n{}",
            reply.text
        );
    }
    imap.command("LOGOUT");
    // Tagged line looks like: A OK [APPENDUID 1700000000 7] Append completed.
    let uid = reply
        .text
        .split("[APPENDUID ")
        .nth(1)
        .and_then(|s| s.split([' ', ']']).nth(1));
    uid.and_then(|u| u.parse().ok())
        .unwrap_or_else(|| panic!("no APPENDUID in the APPEND reply: {}", reply.text))
}

/// IMAP quoted string (RFC 3501): backslash and double quote escaped.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

struct ImapReply {
    ok: bool,
    /// All lines up to and including the tagged one, for error messages.
    text: String,
}

/// Just enough IMAP to seed mail: one command at a time, tag "A", no literals from the server.
struct MiniImap {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl MiniImap {
    fn login(port: u16, user: &str) -> MiniImap {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connect to dovecot on {port}: {e}"));
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set IMAP read timeout");
        let writer = stream.try_clone().expect("clone IMAP stream");
        let mut imap = MiniImap {
            reader: BufReader::new(stream),
            writer,
        };
        let greeting = imap.line();
        assert!(
            greeting.starts_with("* OK"),
            "unexpected IMAP greeting: {greeting}"
        );
        let reply = imap.command(&format!("LOGIN {} {}", quote(user), quote(PASSWORD)));
        assert!(reply.ok, "IMAP LOGIN as {user} failed:\n{}", reply.text);
        imap
    }

    fn send(&mut self, bytes: &[u8]) {
        self.writer.write_all(bytes).expect("write to dovecot");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => panic!("dovecot closed the connection"),
            Ok(_) => line.trim_end().to_string(),
            Err(e) => panic!("read from dovecot: {e}"),
        }
    }

    fn reply(&mut self, tag: &str) -> ImapReply {
        let mut text = String::new();
        loop {
            let line = self.line();
            text.push_str(&line);
            text.push('\n');
            if let Some(rest) = line.strip_prefix(tag).and_then(|r| r.strip_prefix(' ')) {
                return ImapReply {
                    ok: rest.starts_with("OK"),
                    text,
                };
            }
        }
    }

    fn command(&mut self, cmd: &str) -> ImapReply {
        self.send(format!("A {cmd}\r\n").as_bytes());
        self.reply("A")
    }
}
