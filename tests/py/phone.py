"""The person's phone in nudged's task-list tests: the Python `caldav` library editing the
"nudged" task list on a CalDAV server, and plain WebDAV for a CardDAV address book.

Usage: phone.py URL USER PASSWORD COMMAND [ARGS]
  list                      print every to-do as JSON (uid, status, due, priority, summary)
  complete UID | delete UID | move-due UID DAYS | set-priority UID N
  put-card BOOK FILE.vcf    create address book BOOK if needed, store the card
"""

import datetime
import json
import sys
import urllib.request
import base64

from caldav import DAVClient


def task_list(url, user, password):
    client = DAVClient(url, username=user, password=password)
    for calendar in client.principal().calendars():
        if calendar.get_display_name() == "nudged":
            return calendar
    raise SystemExit("no task list named nudged")


def find(calendar, uid):
    for todo in calendar.todos(include_completed=True):
        if str(todo.icalendar_component.get("uid")) == uid:
            return todo
    raise SystemExit(f"no to-do {uid}")


def as_json(todo):
    comp = todo.icalendar_component
    due = comp.get("due")
    return {
        "uid": str(comp.get("uid")),
        "status": str(comp.get("status", "")),
        "due": due.dt.isoformat() if due is not None else None,
        "priority": int(comp.get("priority", 0)),
        "summary": str(comp.get("summary", "")),
    }


def dav(url, user, password, method, body=None, headers=None):
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status
    except urllib.error.HTTPError as err:
        return err.code


def main():
    url, user, password, command, *args = sys.argv[1:]
    if command == "put-card":
        book, path = args
        home = f"{url.rstrip('/')}/{user}/{book}/"
        mkcol = (
            '<?xml version="1.0"?><d:mkcol xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">'
            "<d:set><d:prop><d:resourcetype><d:collection/><c:addressbook/></d:resourcetype>"
            f"<d:displayname>{book}</d:displayname></d:prop></d:set></d:mkcol>"
        )
        status = dav(home, user, password, "MKCOL", mkcol.encode(), {"Content-Type": "application/xml"})
        if status not in (201, 405, 409):
            raise SystemExit(f"MKCOL answered {status}")
        with open(path, "rb") as card:
            status = dav(home + "card.vcf", user, password, "PUT", card.read(), {"Content-Type": "text/vcard"})
        if status not in (201, 204):
            raise SystemExit(f"PUT card answered {status}")
        return
    calendar = task_list(url, user, password)
    if command == "list":
        print(json.dumps([as_json(t) for t in calendar.todos(include_completed=True)]))
        return
    todo = find(calendar, args[0])
    if command == "complete":
        todo.complete()
    elif command == "delete":
        todo.delete()
    elif command == "move-due":
        comp = todo.icalendar_component
        due = comp.pop("due").dt
        comp.add("due", due + datetime.timedelta(days=int(args[1])))
        todo.save()
    elif command == "set-priority":
        comp = todo.icalendar_component
        comp.pop("priority", None)
        comp.add("priority", int(args[1]))
        todo.save()
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
