// Package normalize turns channel items into petition records (package
// petition) and holds everything that makes them clean: text cleanup,
// Chinese case numbers, resident ids, phones, classification and repeat
// links (in sub-packages).
//
// How an item is read depends on its kind (channels.Kind). The kind
// channels.KindFields (flat input fields: web submissions, mapped partner
// JSON) is built in; every other kind is read by a Decoder that the
// channel type registers for it with Register, from its own folder (see
// channels/imap/decode, channels/calllog/decode).
package normalize
