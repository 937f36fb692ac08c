#!/usr/bin/env python3
"""Reference reading of the mail corpora, with Python's email package.

For every corpus message this prints, as JSON keyed by the message's path
under this folder, what Python's standard library (email, policy=default)
makes of it:

  subject      str(msg['subject'])
  from_name    display name of the first mailbox of From
  from_email   its addr-spec
  text         msg.get_body(preferencelist=('plain', 'html')).get_content(),
               HTML rendered as text with html.parser (script, style, title
               and template dropped; block elements and <br> start a line)
  text_html    true when that body was HTML
  plain_parts  get_content() of every text/plain leaf that is not an
               attachment (is_attachment() false), in order, not looking
               inside message/rfc822 parts: what a reader that joins all
               inline plain text would show
  attachments  get_filename() of every part of msg.walk() that has one
               (walk descends into forwarded messages too)
  errors       field -> exception, where Python raised instead of giving
               a value (the field is then missing)

Whitespace is left as Python gives it; the Go test (corpus_ref_test.go)
normalises both sides the same way. Strings are made valid UTF-8: lone
surrogates (Python's surrogateescape for undecodable 8-bit header bytes)
become U+FFFD.

Regenerate, from normalize/mail (Python 3.11 or later, stdlib only):

    python3 testdata/corpus/reference.py > testdata/corpus/reference.json

The message list rule is the Go test's: every regular file under a corpus
folder except LICENSE, README, COPYING*, .gitattributes and *.png.
"""

import email
import email.policy
import json
import os
import re
import sys
from html.parser import HTMLParser

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP_NAMES = {"LICENSE", "README", ".gitattributes"}

BLOCK = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "ul", "ol",
    "dl", "hr", "pre", "div", "li", "tr", "dt", "dd", "section", "article",
    "header", "footer", "nav", "aside", "address", "form", "fieldset", "figure",
    "main", "caption", "body", "center", "br", "td", "th",
}
SKIP = {"script", "style", "title", "template"}


class Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIP:
            self.skip += 1
        elif tag in BLOCK:
            self.out.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def html_text(s):
    p = Text()
    p.feed(s)
    p.close()
    return "".join(p.out)


SURR = re.compile("[\ud800-\udfff]")


def clean(s):
    return SURR.sub("\ufffd", s) if isinstance(s, str) else s


def messages():
    for corpus in sorted(os.listdir(HERE)):
        top = os.path.join(HERE, corpus)
        if not os.path.isdir(top):
            continue
        for root, dirs, files in os.walk(top):
            dirs.sort()
            for f in sorted(files):
                if f in SKIP_NAMES or f.startswith("COPYING") or f.endswith(".png"):
                    continue
                path = os.path.join(root, f)
                yield os.path.relpath(path, HERE).replace(os.sep, "/"), path


def read(path):
    with open(path, "rb") as fh:
        msg = email.message_from_binary_file(fh, policy=email.policy.default)
    r = {"errors": {}}

    def field(name, fn):
        try:
            v = fn()
            if v is not None:
                r[name] = clean(v)
        except Exception as e:  # a reference failure is data, not a crash
            r["errors"][name] = "%s: %s" % (type(e).__name__, e)

    field("subject", lambda: str(msg["subject"]) if msg["subject"] is not None else "")

    def sender():
        h = msg["from"]
        if h is None or not h.addresses:
            return None
        a = h.addresses[0]
        r["from_name"] = clean(a.display_name)
        return a.addr_spec

    field("from_email", sender)

    def text():
        b = msg.get_body(preferencelist=("plain", "html"))
        if b is None:
            return ""
        c = b.get_content()
        if b.get_content_subtype() == "html":
            r["text_html"] = True
            c = html_text(c)
        return c

    field("text", text)

    def plain_parts():
        out = []

        def visit(part):
            if part.is_multipart() and part.get_content_maintype() == "multipart":
                for sub in part.iter_parts():
                    visit(sub)
                return
            if part.get_content_type() == "text/plain" and not part.is_attachment():
                out.append(clean(part.get_content()))

        visit(msg)
        return out

    field("plain_parts", plain_parts)

    def attachments():
        out = []
        for part in msg.walk():
            n = part.get_filename()
            if n:
                out.append(clean(str(n)))
        return out

    field("attachments", attachments)
    if not r["errors"]:
        del r["errors"]
    return r


def main():
    out = {}
    for rel, path in messages():
        out[rel] = read(path)
    json.dump(out, sys.stdout, ensure_ascii=False, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
