"""An SMTP server for the SMTP OAuth test: aiosmtpd that offers only AUTH XOAUTH2, takes
one bearer token (argv[3]) and refuses any other with 535, requires AUTH before MAIL, and
delivers into a Maildir (argv[2]). Each log-in is logged as `XOAUTH2 user=… token=…`.

usage: xoauth2_smtpd.py PORT MAILDIR TOKEN
"""
import asyncio
import base64
import sys

from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult

port, maildir, accepted = int(sys.argv[1]), sys.argv[2], sys.argv[3]


class Handler(Mailbox):
    async def auth_XOAUTH2(self, server, args):
        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if not isinstance(blob, bytes):
                return AuthResult(success=False, handled=False)
        try:
            fields = dict(
                part.split("=", 1)
                for part in base64.b64decode(blob).decode().split("\x01")
                if "=" in part
            )
        except Exception:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode XOAUTH2")
        user = fields.get("user", "")
        token = fields.get("auth", "").removeprefix("Bearer ")
        print(f"XOAUTH2 user={user} token={token}", flush=True)
        if token != accepted:
            return AuthResult(success=False, handled=False, message="535 5.7.8 token refused")
        return AuthResult(success=True, auth_data=user)


async def main():
    loop = asyncio.get_running_loop()
    handler = Handler(maildir)
    server = await loop.create_server(
        lambda: SMTP(
            handler,
            auth_required=True,
            auth_require_tls=False,
            auth_exclude_mechanism=["LOGIN", "PLAIN"],
        ),
        "127.0.0.1",
        port,
    )
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
