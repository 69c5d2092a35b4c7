#!/usr/bin/python3
"""Independent check of a delivered digest: parse it with Python's `email` package and the
`icalendar` package, and print what was found as JSON for the Rust test to assert on.

usage: check_digest.py MESSAGE.eml HTML_OUT ICS_OUT
Writes the HTML part to HTML_OUT and the calendar part to ICS_OUT.
"""
import email
import email.policy
import json
import sys

import icalendar


def main():
    path, html_out, ics_out = sys.argv[1:4]
    with open(path, "rb") as f:
        raw = f.read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    report = {
        "defects": [str(d) for d in msg.defects],
        "content_type": msg.get_content_type(),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "date": str(msg["Date"]),
        "date_parsed": msg["Date"].datetime.isoformat() if msg["Date"] else None,
        "from": str(msg["From"]),
        "to": str(msg["To"]),
        "reply_to": str(msg["Reply-To"]),
        # Header names of the top level: a CR/LF injected through a name would add some.
        "header_names": sorted({k.lower() for k in msg.keys()}),
        "structure": [],
        "text": None,
        "html_len": 0,
        "ics_components": [],
    }
    for part in msg.walk():
        report["structure"].append(part.get_content_type())
        report["defects"] += [str(d) for d in part.defects]
        ctype = part.get_content_type()
        if part.is_multipart():
            continue
        if ctype == "text/plain" and report["text"] is None:
            report["text"] = part.get_content()
        elif ctype == "text/html":
            html = part.get_content()
            report["html_len"] = len(html)
            with open(html_out, "w", encoding="utf-8") as f:
                f.write(html)
        elif ctype == "text/calendar":
            data = part.get_payload(decode=True)
            with open(ics_out, "wb") as f:
                f.write(data)
            cal = icalendar.Calendar.from_ical(data)
            report["ics_filename"] = part.get_filename()
            report["ics_components"] = [
                {"name": c.name, "uid": str(c.get("UID")), "summary": str(c.get("SUMMARY"))}
                for c in cal.walk()
                if c.name in ("VEVENT", "VTODO")
            ]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
