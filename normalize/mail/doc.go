// Package mail parses e-mail (RFC 5322 / MIME) letters for the imap
// channel: Parse turns one raw message into a Letter — decoded headers,
// the body as clean UTF-8 text, attachments stored in the blob store while
// they are read, and a verdict on whether the mail is machine-generated.
//
// # Streaming and limits
//
// Parse reads the message once. Attachments, inline images and forwarded
// messages are streamed into blob.Store.Put with Options.MaxAttachmentSize
// as the limit, so memory does not grow with their size (about 64 KiB of
// read-ahead per multipart level). Text is held only up to
// Options.MaxTextSize (HTML up to four times that, before its markup is
// dropped). Headers are bounded at 1 MiB per block, nesting at 12 levels,
// parts at 1000 per message; what goes beyond is skipped and reported.
//
// # Leniency
//
// The package does its own header, parameter, multipart and transfer
// decoding instead of go-message's Entity, because real petitions arrive
// from old and broken mailers and every one of those readers stops at the
// first fault: a header line without a colon, a duplicate or unquoted
// parameter, a header preceded by blank lines or indented (webmail "show
// original" exports) or by a UTF-8 byte order mark, an RFC 2231 name in
// GBK (mime.ParseMediaType drops non-UTF-8 charsets), raw 8-bit bytes in a quoted-printable body, a stray character
// in base64. Here each of these becomes an entry in Letter.Problems and the
// rest of the letter is kept. Parse returns an error only when the input
// cannot be read, the store fails, or there is nothing at all (ErrEmpty).
// It does not use the process-wide message.CharsetReader either; this
// package's table is exported as CharsetReader for code that does.
//
// # Charsets
//
// Every GB2312/GBK label (gb2312, gbk, GB_2312-80, x-gbk, cp936, euc-cn,
// ...) decodes as GB18030, a superset, so characters outside GB2312 (镕 喆
// 堃) and four-byte GB18030 sequences survive. Big5 and Big5-HKSCS labels
// use x/text's Big5 (the WHATWG table with the HKSCS extensions). UTF-7
// (RFC 2152), which x/text lacks, has its own decoder (UTF7). Other
// labels go through the WHATWG and IANA indexes. Where the label cannot be
// trusted, the bytes decide:
//
//   - no label, us-ascii or unknown-8bit with 8-bit data, an unknown label,
//     or "utf-8" that is not valid UTF-8: valid UTF-8 is kept; UTF-8 with a
//     few broken bytes keeps its UTF-8 with U+FFFD for them; otherwise
//     GB18030, or Big5 when that reads clearly more like Chinese (share of
//     frequent characters), or windows-1252 when the bytes look like
//     Western accented letters (many of them standing alone between ASCII
//     letters, or, in a short text, each one or two of them next to an
//     ASCII letter as in "Det h\xe4r \xe4r") and do not read as frequent
//     Chinese characters;
//   - a GB2312/GBK or Big5 label on data that is valid UTF-8 and reads
//     better so (no replacement characters, more frequent Chinese
//     characters) is kept as UTF-8: bulk mailers label UTF-8 "gb2312";
//   - a Western single-byte label (ISO 8859-x, windows-125x) on data that
//     is valid UTF-8, or that clearly reads as Chinese, is decoded as that;
//   - raw 8-bit header values (GBK or Latin-1 sent without encoded words):
//     valid UTF-8 is kept; else the first charset declared for them in
//     which the bytes are valid and that they do not plainly contradict
//     (Chinese-looking bytes under a Western label or the reverse) is
//     used: the charsets of encoded words in the same value, then the
//     message's Content-Type charset, then that of its first text part
//     (the header is decoded after the body for this); else, as header
//     values are short, Western names are recognised by their shape (one
//     or two accented windows-1252 letters next to ASCII letters, as in
//     "Müller" or "João") unless GB18030 reads them as frequent Chinese
//     characters, and the rest is guessed like unlabelled text.
//
// Each guess is recorded in Problems; the labels seen are in Charsets.
// RFC 2047 encoded words (B and Q) that follow each other in the same
// charset are joined as bytes before decoding, so a character split across
// two words survives. RFC 2231 parameters (filename*=, continuations
// filename*0*=, any charset) take precedence over plain ones; plain
// filenames may hold encoded words or raw 8-bit bytes.
//
// # Body
//
// text/plain is preferred: in multipart/alternative the first alternative
// with non-empty plain text wins, else the first with HTML, which is then
// rendered as text (TextFromHTML); HTML after a plain alternative is not
// even rendered. format=flowed is undone. Text and HTML
// parts with a filename or "attachment" disposition are attachments, except
// that when there is no other plain text, the only text/plain part with a
// name= or an inline filename= is the letter's text (mailers name it),
// unless it holds NUL bytes (an image or a document under a text label). In
// multipart/related, parts other than text and multipart are inline
// resources. Text is NFC, without control characters (tab and newline
// kept), LF line ends, trimmed.
//
// # Forwarded messages
//
// A message/rfc822 part is stored whole as an attachment (.eml, named after
// its subject when it has no name), then read back from the store and
// parsed: the result is in Letter.Nested, its attachments are added to the
// outer letter's (their Part numbers say where they come from, IMAP
// style: "2.1" is the first part of the message in part 2), and its text is
// appended to the outer text under a "---------- Forwarded message
// ----------" block with its From, Date, Subject and To.
//
// # Machine-generated mail
//
// Letter.Auto says whether the mail is not a petition. The first rule that
// matches decides, and AutoReason names it:
//
//  1. Content-Type multipart/report: report-type delivery-status (or none)
//     is a bounce, disposition-notification a receipt, other report types
//     auto_reply;
//  2. From MAILER-DAEMON / postmaster, or an X-Failed-Recipients header:
//     bounce;
//  3. X-Loop present: loop;
//  4. Auto-Submitted present and not "no"; X-Autoreply, X-Autorespond,
//     X-Autoresponder, X-Auto-Reply (unless "no"/"false"); X-Autogenerated
//     reply/forward/group/mirror (Exchange): auto_reply;
//  5. Precedence bulk, junk or list: bulk (a mailing-list post is not a
//     petition to the court); Precedence auto_reply: auto_reply;
//  6. a subject starting with a well-known auto-reply phrase (自动回复,
//     自動回覆, Auto Reply, Automatic reply, Out of Office, ...):
//     auto_reply; with a well-known bounce phrase (Undelivered Mail
//     Returned to Sender, 系统退信, ...): bounce.
//
// Deliberately not signs: X-Auto-Response-Suppress (Outlook sets it on
// ordinary mail), List-Id or List-Unsubscribe alone (group aliases and
// forwarding services add them to letters written by people), and an
// empty Return-Path. Those headers are kept in Letter.Headers so that
// downstream rules can still use them.
//
// # Dates and ids
//
// Date is parsed leniently; a date without a zone, or with "CST"/"BJT"
// (which Go would read as UTC), is taken as China time (+08:00). SourceID
// gives the stable source id: the Message-ID, or "sha256:" and the raw
// message's hash when there is none.
package mail
