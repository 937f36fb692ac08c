package web

import (
	"errors"
	"fmt"
	"io"

	"github.com/court12368/petitiond/blob"
)

// stage streams an upload into the blob store's staging area, counted
// against the client's share; the status says how to refuse it.
func (c *Channel) stage(r io.Reader, limit int64, client, what string) (*blob.Staged, int, error) {
	st, err := c.stager.Stage(r, limit, client)
	switch {
	case err == nil:
		return st, 0, nil
	case errors.Is(err, blob.ErrTooLarge):
		if what == "attachment" {
			return nil, 413, fmt.Errorf("attachment larger than %d bytes", limit)
		}
		return nil, 413, fmt.Errorf("request larger than %d bytes", limit)
	case errors.Is(err, blob.ErrClientStagingFull):
		return nil, 429, fmt.Errorf("too many uploads in progress from this client; retry later")
	case errors.Is(err, blob.ErrStagingFull):
		return nil, 503, fmt.Errorf("petitions cannot be accepted right now; retry later")
	case errors.Is(err, blob.ErrStore):
		c.log.Error("web: staging an upload failed", "err", err)
		return nil, 503, fmt.Errorf("petition could not be stored; retry later")
	}
	if what == "attachment" {
		return nil, 400, fmt.Errorf("malformed attachment: %v", err)
	}
	return nil, 400, fmt.Errorf("reading body: %v", err)
}
