"""The tests' SMTP server: aiosmtpd (Debian's python3-aiosmtpd) storing each accepted
message in a Maildir, steered by files in a control directory:

- `refuse`: every transaction is answered 451 (a server refusing for a while);
- `reject-ADDRESS`: that recipient is answered 550 (refused for good);
- `hold`: the answer to DATA waits while the file exists, after writing `holding-N` for the
  Nth message; a client that goes away meanwhile gets nothing stored, as a real server
  that has not yet accepted a message does not deliver it.

Usage: smtp_sink.py HOST PORT MAILDIR CONTROL
"""

import asyncio
import mailbox
import os
import sys
import time

from aiosmtpd.controller import Controller


class Handler:
    def __init__(self, maildir, control):
        self.box = mailbox.Maildir(maildir, create=True)
        self.control = control
        self.data_count = 0

    def has(self, name):
        return os.path.exists(os.path.join(self.control, name))

    async def handle_MAIL(self, server, session, envelope, address, options):
        if self.has("refuse"):
            return "451 4.3.0 Try again later"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):
        if self.has("reject-" + address.lower()):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_count += 1
        gone = lambda: server.transport is None or server.transport.is_closing()
        if self.has("hold"):
            open(os.path.join(self.control, "holding-%d" % self.data_count), "w").close()
            while self.has("hold"):
                await asyncio.sleep(0.05)
                if gone():
                    return "451 4.4.2 Connection lost"
        if gone():
            return "451 4.4.2 Connection lost"
        raw = envelope.original_content or envelope.content
        self.box.add(raw.replace(b"\r\n", b"\n"))
        return "250 OK"


def main():
    host, port, maildir, control = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    controller = Controller(Handler(maildir, control), hostname=host, port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
