// Package clamd is a client of the ClamAV daemon's INSTREAM command: it
// streams content to clamd over TCP or a Unix socket and reads the verdict.
//
// Protocol (clamd(8)): send "zINSTREAM\0", then the content in chunks, each
// a 4-byte big-endian length and that many bytes, then a zero length; clamd
// answers "stream: OK", "stream: <signature> FOUND" or "<message> ERROR",
// terminated by \0 (the z prefix).
package clamd

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Client talks to one clamd.
type Client struct {
	// Network and Address: "tcp", "127.0.0.1:3310" or "unix",
	// "/run/clamav/clamd.ctl".
	Network, Address string
	// Timeout bounds one scan (connect, send, verdict).
	Timeout time.Duration
	// ChunkSize is the size of the chunks sent (default 64 KiB).
	ChunkSize int
}

// Parse reads an address "unix:/path", "tcp:host:port" or "host:port".
func Parse(addr string, timeout time.Duration) (*Client, error) {
	c := &Client{Network: "tcp", Address: addr, Timeout: timeout}
	switch {
	case strings.HasPrefix(addr, "unix:"):
		c.Network, c.Address = "unix", strings.TrimPrefix(addr, "unix:")
	case strings.HasPrefix(addr, "tcp:"):
		c.Address = strings.TrimPrefix(addr, "tcp:")
	}
	if c.Network == "tcp" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			return nil, fmt.Errorf("clamd address %q: want unix:/path, tcp:host:port or host:port", addr)
		}
	} else if c.Address == "" {
		return nil, errors.New("clamd address: unix: without a path")
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	return c, nil
}

// Infected is the verdict on content clamd found a signature in.
type Infected struct{ Signature string }

func (e *Infected) Error() string { return "infected: " + e.Signature }

// Scan streams r to clamd. It returns nil when clamd says OK, an *Infected
// when it found a signature, and another error when the scan could not be
// done (clamd unreachable, over its StreamMaxLength, a protocol error).
func (c *Client) Scan(ctx context.Context, r io.Reader) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return fmt.Errorf("clamd: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// clamd may answer (size limit, error) before the stream ends; read
	// the verdict concurrently so a full socket buffer cannot deadlock.
	verdict := make(chan string, 1)
	readErr := make(chan error, 1)
	go func() {
		s, err := bufio.NewReader(conn).ReadString(0)
		if err != nil && s == "" {
			readErr <- err
			return
		}
		verdict <- strings.TrimRight(s, "\x00\n")
	}()
	sendErr := c.send(conn, r)
	var v string
	select {
	case v = <-verdict:
	case err := <-readErr:
		if sendErr != nil {
			return fmt.Errorf("clamd: sending: %w", sendErr)
		}
		return fmt.Errorf("clamd: reading the verdict: %w", err)
	}
	switch {
	case v == "stream: OK":
		if sendErr != nil {
			return fmt.Errorf("clamd: sending: %w", sendErr)
		}
		return nil
	case strings.HasSuffix(v, " FOUND"):
		sig := strings.TrimSuffix(strings.TrimPrefix(v, "stream: "), " FOUND")
		return &Infected{Signature: sig}
	}
	return fmt.Errorf("clamd: %s", v)
}

func (c *Client) send(conn net.Conn, r io.Reader) error {
	if _, err := io.WriteString(conn, "zINSTREAM\x00"); err != nil {
		return err
	}
	size := c.ChunkSize
	if size <= 0 {
		size = 64 << 10
	}
	buf := make([]byte, 4+size)
	for {
		n, err := io.ReadFull(r, buf[4:])
		if n > 0 {
			binary.BigEndian.PutUint32(buf[:4], uint32(n))
			if _, werr := conn.Write(buf[:4+n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return err
		}
	}
	_, err := conn.Write([]byte{0, 0, 0, 0})
	return err
}

// Ping checks that clamd answers PING with PONG.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, c.Network, c.Address)
	if err != nil {
		return fmt.Errorf("clamd: %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, "zPING\x00"); err != nil {
		return fmt.Errorf("clamd: %w", err)
	}
	s, err := bufio.NewReader(conn).ReadString(0)
	if err != nil {
		return fmt.Errorf("clamd: %w", err)
	}
	if strings.TrimRight(s, "\x00\n") != "PONG" {
		return fmt.Errorf("clamd: PING answered %q", s)
	}
	return nil
}
