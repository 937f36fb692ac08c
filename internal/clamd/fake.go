package clamd

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"sync"
)

// EICAR is the standard antivirus test file: every scanner reports it.
const EICAR = `X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*`

// Fake is an in-process clamd for tests: it implements zINSTREAM and
// zPING, finds the EICAR string (Eicar-Test-Signature) and enforces a
// stream limit like clamd's StreamMaxLength.
type Fake struct {
	ln        net.Listener
	MaxStream int
	mu        sync.Mutex
	scans     int
	wg        sync.WaitGroup
}

// NewFake listens on 127.0.0.1.
func NewFake() (*Fake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &Fake{ln: ln, MaxStream: 25 << 20}
	f.wg.Add(1)
	go f.serve()
	return f, nil
}

// Addr is the fake's host:port.
func (f *Fake) Addr() string { return f.ln.Addr().String() }

// Scans returns how many streams were scanned.
func (f *Fake) Scans() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.scans
}

// Close stops the fake.
func (f *Fake) Close() error {
	err := f.ln.Close()
	f.wg.Wait()
	return err
}

func (f *Fake) serve() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.handle(c)
		}()
	}
}

func (f *Fake) handle(c net.Conn) {
	br := bufio.NewReader(c)
	cmd, err := br.ReadString(0)
	if err != nil {
		return
	}
	switch strings.TrimRight(cmd, "\x00") {
	case "zPING":
		io.WriteString(c, "PONG\x00")
		return
	case "zINSTREAM":
	default:
		io.WriteString(c, "UNKNOWN COMMAND\x00")
		return
	}
	var data bytes.Buffer
	var n [4]byte
	for {
		if _, err := io.ReadFull(br, n[:]); err != nil {
			return
		}
		size := binary.BigEndian.Uint32(n[:])
		if size == 0 {
			break
		}
		if data.Len()+int(size) > f.MaxStream {
			io.WriteString(c, "INSTREAM size limit exceeded. ERROR\x00")
			return
		}
		if _, err := io.CopyN(&data, br, int64(size)); err != nil {
			return
		}
	}
	f.mu.Lock()
	f.scans++
	f.mu.Unlock()
	if bytes.Contains(data.Bytes(), []byte(EICAR)) {
		io.WriteString(c, "stream: Eicar-Test-Signature FOUND\x00")
		return
	}
	io.WriteString(c, "stream: OK\x00")
}
