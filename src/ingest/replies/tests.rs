use super::*;

#[test]
fn commands_above_the_quote_are_read() {
    let body = "done 3\r\nsnooze 2 1w\nSkip #4, 5\n\nmet Ann Lee at the spring fair\nlog call Bob\n\
                frobnicate 9\nsnooze 7\n\nOn Tue, 24 Nov 2026 at 07:31, nudged <n@example.com> wrote:\n\
                > done 99\n> [3] Reply to Ann\ndone 100\n";
    let commands: Vec<Command> = parse_reply(body).into_iter().map(|(_, c)| c).collect();
    assert_eq!(
        commands,
        vec![
            Command::Done(3),
            Command::Snooze(2, HumanDuration::days(7)),
            Command::Skip(4),
            Command::Skip(5),
            Command::Met {
                name: "Ann Lee".into(),
                at: Some("the spring fair".into())
            },
            Command::Log {
                kind: Kind::Call,
                name: "Bob".into()
            },
            Command::Unknown("frobnicate 9".into()),
            Command::Snooze(7, HumanDuration::days(1)),
        ]
    );
}

#[test]
fn quoted_lines_signatures_and_nonsense() {
    assert!(parse_reply("> done 1\n>> skip 2\n").is_empty());
    assert!(parse_reply("-- \ndone 1\n").is_empty());
    assert_eq!(
        parse_reply("done three\nsnooze 2 forever\nlog dance Bob\nmet\n")
            .into_iter()
            .map(|(_, c)| c)
            .collect::<Vec<_>>(),
        vec![
            Command::Unknown("done three".into()),
            Command::Unknown("snooze 2 forever".into()),
            Command::Unknown("log dance Bob".into()),
            Command::Unknown("met".into()),
        ]
    );
    let many = "done 1\n".repeat(500);
    assert_eq!(parse_reply(&many).len(), MAX_COMMANDS);
}

fn mail(results: &[&str]) -> MailView {
    let mut raw = String::from("From: me@example.com\r\n");
    for value in results {
        raw.push_str(&format!("Authentication-Results: {value}\r\n"));
    }
    raw.push_str("Subject: Re: digest\r\n\r\ndone 1\r\n");
    MailView::parse(raw.as_bytes()).expect("a well-formed reply")
}

#[test]
fn only_a_trusted_pass_for_the_owner_domain_counts() {
    let trusted = vec!["mx.example.com".to_string()];
    let ok = mail(&["mx.example.com; dkim=pass (good) header.d=example.com; spf=none"]);
    assert!(owner_authenticated(&ok, "example.com", &trusted));
    let spf = mail(&["mx.example.com; spf=pass smtp.mailfrom=me@example.com"]);
    assert!(owner_authenticated(&spf, "example.com", &trusted));
    let other_domain = mail(&["mx.example.com; dkim=pass header.d=evil.example"]);
    assert!(!owner_authenticated(&other_domain, "example.com", &trusted));
    let untrusted = mail(&["mx.evil.example; dkim=pass header.d=example.com"]);
    assert!(!owner_authenticated(&untrusted, "example.com", &trusted));
    let forged_below = mail(&[
        "mx.example.com; dkim=fail header.d=example.com",
        "mx.example.com; dkim=pass header.d=example.com",
    ]);
    assert!(!owner_authenticated(&forged_below, "example.com", &trusted));
}

#[test]
fn skip_old_is_one_command_and_only_alone() {
    let commands: Vec<Command> = parse_reply("Skip old\nskip old now\nskip 3\n")
        .into_iter()
        .map(|(_, c)| c)
        .collect();
    assert_eq!(
        commands,
        vec![
            Command::SkipOld,
            Command::Unknown("skip old now".into()),
            Command::Skip(3),
        ]
    );
}
