package calllog

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/court12368/petitiond/blob"
	"github.com/court12368/petitiond/channels/calllog/cdr"
)

// chunkBlob is the blob of one read's whole lines (originals: chunk).
type chunkBlob struct {
	data []byte
	once sync.Once
	ref  blob.Ref
	ok   bool
}

// get stores the chunk once; false when ctx ended first.
func (c *chunkBlob) get(ctx context.Context, r *run) (blob.Ref, bool) {
	c.once.Do(func() { c.ref, c.ok = r.putBlob(ctx, c.data) })
	return c.ref, c.ok
}

// readSize is how much is read from a file at once.
const readSize = 128 << 10

// jobLines bounds the lines of one job (and, with originals: chunk, of one
// blob). Workers take jobs in parallel and the checkpoint only passes a
// contiguous prefix, so small jobs keep it close behind the acknowledged
// lines (fewer lines read again after a crash).
const jobLines = 64

// file is one open CDR file being read.
type file struct {
	name   string // where it is read from (tail: the followed name)
	ref    string // its name in SourceRef (export: the name it was dropped as)
	f      *os.File
	id     fileID
	st     *fileState
	tr     *tracker
	parser *cdr.Parser

	readOff  int64  // next byte to read
	partial  []byte // an incomplete last line, ending at readOff
	skipping bool   // discarding the rest of an oversize line

	// tail
	rotated    bool      // the name moved on: read to the end, then let go
	lastGrowth time.Time // when a read last returned data
	closed     bool      // every byte was read and the file closed

	// export
	eof          atomic.Bool // every line read (set by the loop)
	reported     atomic.Bool // handed to the loop as finished
	deadLettered atomic.Int64
}

// openFile opens path for reading from offset (a line boundary), binding
// the header of a csv mapping that has one.
func (r *run) openFile(path string, f *os.File, fi os.FileInfo, st *fileState, offset int64) (*file, error) {
	fl := &file{
		name: path, ref: path, f: f, id: idOf(fi), st: st,
		tr: newTracker(offset), readOff: offset, parser: r.c.parser,
		lastGrowth: time.Now(),
	}
	if st == nil {
		fl.st = &fileState{Path: path, fileID: fl.id, Offset: offset}
	}
	fl.st.Path = path
	if fl.parser.NeedsHeader() && offset > 0 {
		// Resuming after the header: read it again to know the columns.
		line, err := firstLine(f, int64(r.cfg.MaxLineSize))
		if err != nil {
			return nil, err
		}
		if p, err := fl.parser.WithHeader(line); err == nil {
			fl.parser = p
		} else {
			r.log.Warn("calllog: the file's header line does not fit the mapping; its lines are dead-lettered",
				"file", path, "err", err)
		}
	}
	return fl, nil
}

// firstLine reads the first line of f without its "\n".
func firstLine(f io.ReaderAt, max int64) ([]byte, error) {
	buf := make([]byte, max+1)
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	buf = buf[:n]
	if i := bytes.IndexByte(buf, '\n'); i >= 0 {
		return buf[:i], nil
	}
	return buf, nil
}

// read reads what is there after readOff and queues its whole lines as a
// job. final takes a last line without "\n" as complete (an exported file,
// a rotated file that stopped growing). It returns the bytes read.
func (r *run) read(ctx context.Context, fl *file, final bool) (int, error) {
	buf := make([]byte, len(fl.partial)+readSize)
	copy(buf, fl.partial)
	n, err := fl.f.ReadAt(buf[len(fl.partial):], fl.readOff)
	if err != nil && err != io.EOF {
		return 0, err
	}
	if n == 0 && !(final && len(fl.partial) > 0) {
		return 0, nil
	}
	base := fl.readOff - int64(len(fl.partial))
	fl.readOff += int64(n)
	data := buf[:len(fl.partial)+n]
	fl.partial = nil
	if n > 0 {
		fl.lastGrowth = time.Now()
	}
	return n, r.split(ctx, fl, data, base, final && n < readSize)
}

// split cuts data (starting at file offset base) into lines and queues
// them. Lines are registered with the file's tracker in order.
func (r *run) split(ctx context.Context, fl *file, data []byte, base int64, final bool) error {
	max := int(r.cfg.MaxLineSize)
	// With originals: chunk the whole lines of this read are one blob,
	// stored once by the first worker that needs it.
	var cb *chunkBlob
	if r.cfg.Originals == OriginalsChunk {
		end := bytes.LastIndexByte(data, '\n') + 1
		if final {
			end = len(data)
		}
		cb = &chunkBlob{data: data[:end]}
	}
	j := &job{fl: fl, chunk: data, off: base, blob: cb}
	var starts []int64
	flush := func(end int64) error {
		if len(j.lines) == 0 {
			return nil
		}
		j.parser = fl.parser
		j.first = fl.tr.add(starts, end)
		select {
		case r.jobs <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		j = &job{fl: fl, chunk: data, off: base, blob: cb}
		starts = nil
		return nil
	}
	// add queues the line [start, end) of data; next is the file offset
	// where the following line starts (the checkpoint once it is done).
	add := func(start, end int, next int64, err string) error {
		j.lines = append(j.lines, span{start: start, end: end, err: err})
		starts = append(starts, base+int64(start))
		if len(j.lines) == jobLines {
			return flush(next)
		}
		return nil
	}
	pos := 0
	for pos < len(data) {
		rest := data[pos:]
		i := bytes.IndexByte(rest, '\n')
		if fl.skipping {
			if i < 0 {
				pos = len(data)
				break
			}
			pos += i + 1
			fl.skipping = false
			if err := flush(base + int64(pos)); err != nil {
				return err
			}
			fl.tr.skip(base + int64(pos))
			continue
		}
		if i < 0 {
			switch {
			case len(rest) > max:
				// An oversize line without its end yet: dead-letter its
				// start now, discard the rest up to the newline.
				// The checkpoint stays at its start until its end is read.
				if err := add(pos, pos+max, base+int64(pos), fmt.Sprintf("line longer than max_line_size (%d bytes)", max)); err != nil {
					return err
				}
				if err := flush(base + int64(pos)); err != nil {
					return err
				}
				fl.skipping = true
				pos = len(data)
			case final:
				if err := add(pos, len(data), base+int64(len(data)), ""); err != nil {
					return err
				}
				pos = len(data)
			default:
				fl.partial = append([]byte(nil), rest...)
				if err := flush(base + int64(pos)); err != nil {
					return err
				}
				return nil
			}
			break
		}
		lineEnd := pos + i
		if fl.parser.NeedsHeader() && base+int64(pos) == 0 && len(j.lines) == 0 {
			if p, err := fl.parser.WithHeader(data[pos:lineEnd]); err == nil {
				fl.parser = p
				pos = lineEnd + 1
				fl.tr.skip(base + int64(pos))
				continue
			} else {
				r.log.Warn("calllog: the file's header line does not fit the mapping; its lines are dead-lettered",
					"file", fl.name, "err", err)
				// It may be a record of a file without a header: keep it
				// too, as a dead letter, rather than skipping it.
				if err := add(pos, lineEnd, base+int64(lineEnd)+1, "header line does not fit the mapping: "+err.Error()); err != nil {
					return err
				}
				pos = lineEnd + 1
				continue
			}
		}
		var err error
		if i > max {
			err = add(pos, pos+max, base+int64(lineEnd)+1, fmt.Sprintf("line longer than max_line_size (%d bytes)", max))
		} else {
			err = add(pos, lineEnd, base+int64(lineEnd)+1, "")
		}
		if err != nil {
			return err
		}
		pos = lineEnd + 1
	}
	return flush(base + int64(pos))
}
