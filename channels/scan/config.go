package scan

import (
	_ "embed"
	"fmt"
	"regexp"
	"runtime"

	"github.com/court12368/petitiond/channels"
	"github.com/court12368/petitiond/channels/scan/form"
	"github.com/court12368/petitiond/config/units"
	"github.com/court12368/petitiond/petition"
)

// Config is the scan channel's settings.
type Config struct {
	// Path is the hot folder the scanner's capture software writes to.
	Path string `yaml:"path"`
	// DoneDir receives a scan (and its sidecar) after its record was
	// acknowledged; default <path>/done.
	DoneDir string `yaml:"done_dir"`
	// ErrorDir receives an unreadable scan after its dead-letter record;
	// default <path>/error.
	ErrorDir string `yaml:"error_dir"`
	// ProcessingDir holds the per-instance claim folders; default
	// <path>/processing.
	ProcessingDir string `yaml:"processing_dir"`
	// MinAge: a file is taken once it has not changed for this long
	// (files renamed into the folder complete are taken after it too).
	MinAge units.Duration `yaml:"min_age"`
	// PollInterval is how often the folder is listed.
	PollInterval units.Duration `yaml:"poll_interval"`
	// Court is the court code of the desk (赣0102), a hint for reading
	// case numbers.
	Court string `yaml:"court"`
	// Workers is the number of files read at once (OCR is CPU-bound).
	Workers int `yaml:"workers"`
	// MaxFileSize refuses larger files (to error_dir).
	MaxFileSize units.ByteSize `yaml:"max_file_size"`
	// MaxPages refuses documents with more pages.
	MaxPages int `yaml:"max_pages"`
	// OCR configures tesseract and the page tools.
	OCR OCR `yaml:"ocr"`
	// Fields adds or replaces the labels of form fields.
	Fields map[string][]string `yaml:"fields"`
	// ReviewBelow labels a record needs_review when a page's mean word
	// confidence is below it (0–100).
	ReviewBelow float64 `yaml:"review_below"`
	// FieldConfidence is the least confidence at which a name or address
	// read by OCR is taken without review.
	FieldConfidence float64 `yaml:"field_confidence"`
	// Barcodes configures the QR/barcode reader.
	Barcodes Barcodes `yaml:"barcodes"`
	// RetryDelay is how long a file waits after a transient failure.
	RetryDelay units.Duration `yaml:"retry_delay"`
}

// OCR configures the OCR tools.
type OCR struct {
	Command   string `yaml:"command"`
	Languages string `yaml:"languages"`
	PSM       int    `yaml:"psm"`
	DPI       int    `yaml:"dpi"`
	// Timeout bounds one tool run (one page).
	Timeout   units.Duration `yaml:"timeout"`
	PDFToPPM  string         `yaml:"pdftoppm"`
	PDFInfo   string         `yaml:"pdfinfo"`
	TIFFSplit string         `yaml:"tiffsplit"`
}

// Barcodes configures zbarimg.
type Barcodes struct {
	Enabled bool   `yaml:"enabled"`
	Command string `yaml:"command"`
	// Pattern is what a visit registration number looks like; other codes
	// are only recorded in meta.
	Pattern string `yaml:"pattern"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		MinAge:          units.Duration(2e9),
		PollInterval:    units.Duration(1e9),
		Workers:         runtime.NumCPU(),
		MaxFileSize:     100 << 20,
		MaxPages:        50,
		ReviewBelow:     60,
		FieldConfidence: 70,
		RetryDelay:      units.Duration(30e9),
		OCR: OCR{Command: "tesseract", Languages: "chi_sim", PSM: 4, DPI: 300, Timeout: units.Duration(120e9),
			PDFToPPM: "pdftoppm", PDFInfo: "pdfinfo", TIFFSplit: "tiffsplit"},
		Barcodes: Barcodes{Enabled: true, Command: "zbarimg", Pattern: `^[A-Za-z0-9][A-Za-z0-9_./-]{3,63}$`},
	}
}

// Validate implements channels.Validator.
func (c *Config) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &channels.InvalidError{Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	switch {
	case c.Path == "":
		return bad("path", "required: the hot folder")
	case c.Workers < 1:
		return bad("workers", "must be at least 1")
	case c.MaxPages < 1:
		return bad("max_pages", "must be at least 1")
	case c.MaxFileSize < 1:
		return bad("max_file_size", "must be positive")
	case c.OCR.Command == "" || c.OCR.Languages == "":
		return bad("ocr", "command and languages are required")
	case c.OCR.PSM < 0 || c.OCR.PSM > 13:
		return bad("ocr", "psm must be 0–13")
	case c.OCR.DPI < 70 || c.OCR.DPI > 1200:
		return bad("ocr", "dpi must be 70–1200")
	case c.ReviewBelow < 0 || c.ReviewBelow > 100 || c.FieldConfidence < 0 || c.FieldConfidence > 100:
		return bad("review_below", "confidences are 0–100")
	case c.PollInterval <= 0:
		return bad("poll_interval", "must be positive")
	}
	if _, err := regexp.Compile(c.Barcodes.Pattern); err != nil {
		return bad("barcodes", "pattern: %v", err)
	}
	if _, err := c.spec(); err != nil {
		return bad("fields", "%v", err)
	}
	return nil
}

func (c *Config) spec() (*form.Extractor, error) {
	over := form.Spec{}
	known := map[petition.Field]bool{}
	for f := range form.DefaultSpec() {
		known[f] = true
	}
	for f, ls := range c.Fields {
		if !known[petition.Field(f)] {
			return nil, fmt.Errorf("unknown field %q", f)
		}
		if len(ls) == 0 {
			return nil, fmt.Errorf("field %q: no labels", f)
		}
		over[petition.Field(f)] = ls
	}
	return form.Compile(form.DefaultSpec().Merge(over))
}

//go:embed example.yaml
var example []byte

func init() {
	channels.Register(channels.Type{
		Name:      "scan",
		Summary:   "scanned visitor forms from a hot folder: OCR (tesseract), QR cover sheets, sidecar files; moved to done/ after Kafka acknowledged",
		NewConfig: func() any { return NewConfig() },
		New: func(cfg any, env channels.Env) (channels.Channel, error) {
			return New(cfg.(*Config), env)
		},
		Example: example,
	})
}
