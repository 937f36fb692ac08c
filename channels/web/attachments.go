package web

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels/attach"
	"github.com/court12368/petitiond/internal/clamd"
)

// checkAttachment applies the allow-list to the sniffed type and has clamd
// scan the staged content. It returns the HTTP status to refuse with, and
// what to record of the scan ("clean", "unscanned", or "" without one).
func (c *Channel) checkAttachment(st *blob.Staged, part, client string) (int, string, error) {
	pol := c.cfg.Attachments
	if !attach.TypeAllowed(pol.AllowedTypes, st.Sniffed) {
		return 415, "", fmt.Errorf("attachment of type %s is not accepted (accepted: %s)", st.Sniffed, strings.Join(pol.AllowedTypes, ", "))
	}
	if c.av == nil {
		return 0, "", nil
	}
	rc, err := st.Open()
	if err != nil {
		return 503, "", fmt.Errorf("petition could not be stored; retry later")
	}
	defer rc.Close()
	err = c.av.Scan(context.Background(), rc)
	var inf *clamd.Infected
	switch {
	case err == nil:
		return 0, "clean", nil
	case errors.As(err, &inf):
		c.log.Warn("web: attachment rejected by the antivirus scanner", "signature", inf.Signature, "sha256", st.SHA256, "client", client)
		return 422, "", fmt.Errorf("attachment rejected: the antivirus scanner found malware")
	case pol.Antivirus.OnError == "accept":
		c.log.Warn("web: attachment not scanned (antivirus.on_error: accept)", "err", err)
		return 0, "unscanned", nil
	}
	c.log.Error("web: attachment could not be scanned; refusing the petition for now", "err", err)
	return 503, "", fmt.Errorf("attachments cannot be checked right now; retry later")
}
