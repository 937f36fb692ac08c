package web

import (
	"bytes"
	"context"
	"crypto/subtle"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The guard is what stands between the network and a submission: caps on
// connections (total and per client), refusal of requests whose framing is
// ambiguous (Content-Length with Transfer-Encoding, RFC 9112 §6.3), a body
// read deadline that a slow client cannot stretch (slowloris), the CORS
// allow-list, and bearer-token authentication whose failures are
// rate-limited per client and logged without the token.

type connKey struct{}

// guardedListener counts connections and wraps them in framing scanners.
type guardedListener struct {
	net.Listener
	c *Channel

	mu        sync.Mutex
	total     int
	perClient map[string]int
}

func (c *Channel) guardListener(ln net.Listener) net.Listener {
	return &guardedListener{Listener: ln, c: c, perClient: map[string]int{}}
}

// refusal is written to a connection over a cap before it is closed.
var refusal = func() []byte {
	body := `{"error":"too many connections; retry later"}` + "\n"
	return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
}()

func (l *guardedListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
		// A trusted proxy carries many clients: only the total applies.
		perClient := !slices.Contains(l.c.cfg.TrustedProxies, host)
		l.mu.Lock()
		over := l.total >= l.c.cfg.MaxConnections ||
			(perClient && l.c.cfg.MaxConnectionsPerClient > 0 && l.perClient[host] >= l.c.cfg.MaxConnectionsPerClient)
		if !over {
			l.total++
			if perClient {
				l.perClient[host]++
			}
		}
		l.mu.Unlock()
		if over {
			l.c.sink.Reject("too_many_connections")
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			conn.Write(refusal)
			conn.Close()
			continue
		}
		return &guardedConn{Conn: conn, release: func() {
			l.mu.Lock()
			l.total--
			if perClient {
				if l.perClient[host]--; l.perClient[host] <= 0 {
					delete(l.perClient, host)
				}
			}
			l.mu.Unlock()
		}}, nil
	}
}

// guardedConn follows the HTTP/1.1 framing of what it reads, to see every
// request head, and remembers a head that has both Content-Length and
// Transfer-Encoding. net/http would take Transfer-Encoding and drop
// Content-Length before the handler sees either; a front end that took
// Content-Length instead would see other requests in the same bytes.
type guardedConn struct {
	net.Conn
	release func()
	once    sync.Once
	ambig   atomic.Bool
	f       framing
}

func (g *guardedConn) Read(p []byte) (int, error) {
	n, err := g.Conn.Read(p)
	if n > 0 && g.f.feed(p[:n]) {
		g.ambig.Store(true)
	}
	return n, err
}

func (g *guardedConn) Close() error {
	g.once.Do(g.release)
	return g.Conn.Close()
}

// framing is a small HTTP/1.1 request-stream follower: heads, bodies by
// Content-Length, chunked bodies and trailers. It gives up (lost) on what
// it does not understand; net/http refuses that anyway.
type framing struct {
	state   int
	line    []byte
	left    int64 // body or chunk bytes still to skip
	cl, te  bool
	clValue int64
	first   bool // the next head line is the request line
	lost    bool
}

const (
	fsHead = iota
	fsBody
	fsChunkSize
	fsChunkData
	fsChunkEnd
	fsTrailer
)

// feed reports whether a head with both Content-Length and
// Transfer-Encoding was seen in b.
func (f *framing) feed(b []byte) (ambiguous bool) {
	for len(b) > 0 && !f.lost {
		switch f.state {
		case fsBody, fsChunkData:
			n := min(int64(len(b)), f.left)
			b, f.left = b[n:], f.left-n
			if f.left == 0 {
				if f.state == fsBody {
					f.state = fsHead
				} else {
					f.state = fsChunkEnd
				}
			}
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if f.line = append(f.line, b...); len(f.line) > 1<<20 {
				f.lost = true
			}
			return ambiguous
		}
		line := append(f.line, b[:i]...)
		b = b[i+1:]
		f.line = f.line[:0]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if f.endOfLine(line) {
			ambiguous = true
		}
	}
	return ambiguous
}

func (f *framing) endOfLine(line []byte) (ambiguous bool) {
	switch f.state {
	case fsHead:
		if len(line) == 0 {
			if !f.first { // blank lines before a request line are allowed
				return false
			}
			f.first = false
			ambiguous = f.cl && f.te
			switch {
			case f.te:
				f.state = fsChunkSize
			case f.cl && f.clValue > 0:
				f.state, f.left = fsBody, f.clValue
			}
			f.cl, f.te, f.clValue = false, false, 0
			return ambiguous
		}
		if !f.first {
			f.first = true // the request line
			return false
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return false
		}
		name = bytes.TrimSpace(name)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			f.cl = true
			n, err := strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
			if err != nil || n < 0 {
				f.lost = true
			}
			f.clValue = n
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			f.te = true
		}
	case fsChunkSize:
		hexSize, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(hexSize)), 16, 64)
		switch {
		case err != nil || n < 0:
			f.lost = true
		case n == 0:
			f.state = fsTrailer
		default:
			f.state, f.left = fsChunkData, n
		}
	case fsChunkEnd:
		f.state = fsChunkSize
	case fsTrailer:
		if len(line) == 0 {
			f.state = fsHead
		}
	}
	return false
}

// guard wraps the submission handler.
func (c *Channel) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.refuseAmbiguous(w, r) {
			return
		}
		if !c.cors(w, r) {
			return
		}
		if !c.authorized(w, r) {
			return
		}
		if r.Body != nil && r.Body != http.NoBody {
			r.Body = c.bodyDeadline(w, r)
		}
		next.ServeHTTP(w, r)
	})
}

// refuseAmbiguous answers 400 (and closes the connection) when the
// request had both Content-Length and Transfer-Encoding.
func (c *Channel) refuseAmbiguous(w http.ResponseWriter, r *http.Request) bool {
	g, ok := r.Context().Value(connKey{}).(*guardedConn)
	if !ok || !g.ambig.Load() {
		return false
	}
	w.Header().Set("Connection", "close")
	c.log.Warn("web: request with both Content-Length and Transfer-Encoding refused; connection closed", "client", clientIP(r, c.cfg.TrustedProxies))
	c.fail(w, http.StatusBadRequest, "bad_request", "", "Content-Length and Transfer-Encoding together are not allowed (RFC 9112 section 6.3)")
	return true
}

// cors applies the allow-list; it reports whether the request goes on.
func (c *Channel) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	cfg := c.cfg.CORS
	if len(cfg.AllowedOrigins) == 0 || origin == "" {
		return true
	}
	allowed := slices.Contains(cfg.AllowedOrigins, origin) || slices.Contains(cfg.AllowedOrigins, "*")
	w.Header().Add("Vary", "Origin")
	if !allowed {
		c.fail(w, http.StatusForbidden, "forbidden_origin", "Origin", "this origin may not submit petitions")
		return false
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", origin)
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", "POST")
		h.Set("Access-Control-Allow-Headers", "Content-Type, Idempotency-Key, Authorization")
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(cfg.MaxAge.D()/time.Second)))
		w.WriteHeader(http.StatusNoContent)
		return false
	}
	h.Set("Access-Control-Expose-Headers", "Retry-After, Idempotent-Replayed")
	return true
}

// authorized checks the bearer token. Failed attempts are counted per
// client: over auth_failure_limit a client's wrong tokens are answered 429
// without being compared, so guessing is slow; a right token always passes.
func (c *Channel) authorized(w http.ResponseWriter, r *http.Request) bool {
	if c.cfg.AuthToken == "" {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if ok && subtle.ConstantTimeCompare([]byte(tok), []byte(c.cfg.AuthToken)) == 1 {
		return true
	}
	client := clientIP(r, c.cfg.TrustedProxies)
	if c.authFail != nil && !c.authFail.allow(client, time.Now()) {
		if c.authBlockLogged(client) {
			c.log.Warn("web: authentication failures over the limit; client refused", "client", client)
		}
		c.fail(w, http.StatusTooManyRequests, "auth_rate_limited", "", "too many failed authentications from this client; retry later")
		return false
	}
	c.log.Warn("web: authentication failed", "client", client, "token_given", ok) // never the token
	w.Header().Set("WWW-Authenticate", `Bearer realm="petitiond"`)
	c.fail(w, http.StatusUnauthorized, "unauthorized", "", "missing or wrong bearer token")
	return false
}

// authBlockLogged says whether to log a refused client now (once a minute
// per client, so an attack does not flood the log).
func (c *Channel) authBlockLogged(client string) bool {
	c.authLogMu.Lock()
	defer c.authLogMu.Unlock()
	now := time.Now()
	if c.authLogged == nil || len(c.authLogged) > 10000 {
		c.authLogged = map[string]time.Time{}
	}
	if t, ok := c.authLogged[client]; ok && now.Sub(t) < time.Minute {
		return false
	}
	c.authLogged[client] = now
	return true
}

// deadlineBody bounds reading a body: read_timeout, plus the time its bytes
// buy at min_read_rate. A client trickling bytes (slowloris) is cut off
// after about read_timeout; a large upload at a fair rate goes through.
type deadlineBody struct {
	body  interface{ Read([]byte) (int, error) }
	close func() error
	rc    *http.ResponseController
	start time.Time
	base  time.Duration
	rate  float64 // bytes per second; 0: no allowance
	n     int64
	done  bool
}

func (c *Channel) bodyDeadline(w http.ResponseWriter, r *http.Request) *deadlineBody {
	d := &deadlineBody{body: r.Body, close: r.Body.Close, rc: http.NewResponseController(w), start: time.Now(),
		base: c.cfg.ReadTimeout.D(), rate: float64(c.cfg.MinReadRate)}
	d.rc.SetReadDeadline(d.start.Add(d.base))
	return d
}

func (d *deadlineBody) Read(p []byte) (int, error) {
	n, err := d.body.Read(p)
	d.n += int64(n)
	if err == io.EOF && !d.done {
		// Read through: waiting for Kafka must not trip a deadline. (After
		// another error the deadline stays: the server's drain of the rest
		// of the body must not wait for a trickling client.)
		d.done = true
		d.rc.SetReadDeadline(time.Time{})
	}
	if err != nil {
		return n, err
	}
	if n > 0 && d.rate > 0 {
		d.rc.SetReadDeadline(d.start.Add(d.base + time.Duration(float64(d.n)/d.rate*float64(time.Second))))
	}
	return n, err
}

func (d *deadlineBody) Close() error { return d.close() }

func withConn(ctx context.Context, c net.Conn) context.Context {
	if g, ok := c.(*guardedConn); ok {
		return context.WithValue(ctx, connKey{}, g)
	}
	return ctx
}

// audit logs one line per accepted submission (201, 202, and replays of
// them) for operators to ship: the record's id and tracking number, the
// channel (on the logger), the client address; never petition content.
func (c *Channel) audit(r *http.Request, status int, body reply, replayed bool) {
	c.log.Info("audit: submission accepted", "audit", "web.accepted", "status", status,
		"id", body.ID, "tracking_no", body.TrackingNo, "client", clientIP(r, c.cfg.TrustedProxies),
		"remote", r.RemoteAddr, "replayed", replayed)
}

// loopback reports whether a listen address is reachable from this host
// only (an empty host, 0.0.0.0 and :: are every interface).
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}
