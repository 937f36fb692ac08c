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
	Path string `yaml:"path" desc:"the hot folder the capture software writes scans (and JSON sidecars) to"`
	// DoneDir receives a scan (and its sidecar) after its record was
	// acknowledged; default <path>/done.
	DoneDir string `yaml:"done_dir" desc:"where a scan and its sidecar go once the record was acknowledged; default <path>/done"`
	// ErrorDir receives an unreadable scan after its dead-letter record;
	// default <path>/error.
	ErrorDir string `yaml:"error_dir" desc:"where an unreadable scan goes after its dead-letter record; default <path>/error"`
	// ProcessingDir holds the per-instance claim folders; default
	// <path>/processing.
	ProcessingDir string `yaml:"processing_dir" desc:"the claim folders, one per running instance (locked); default <path>/processing"`
	// MinAge: a file is taken once it has not changed for this long
	// (files renamed into the folder complete are taken after it too).
	MinAge units.Duration `yaml:"min_age" desc:"a file is taken once it has not changed for this long"`
	// PollInterval is how often the folder is listed.
	PollInterval units.Duration `yaml:"poll_interval" desc:"how often the hot folder is listed"`
	// Court is the court code of the desk (赣0102), a hint for reading
	// case numbers.
	Court string `yaml:"court" desc:"court code of the desk (赣0102): a hint for reading case numbers whose province character OCR misread"`
	// Workers is the number of files read at once (OCR is CPU-bound).
	Workers int `yaml:"workers" desc:"files read at once, one tesseract process each; default: the number of cores"`
	// MaxFileSize refuses larger files (to error_dir).
	MaxFileSize units.ByteSize `yaml:"max_file_size" desc:"larger files go to error_dir with a dead-letter record"`
	// MaxPages refuses documents with more pages.
	MaxPages int `yaml:"max_pages" desc:"documents with more pages go to error_dir"`
	// OCR configures tesseract and the page tools.
	OCR OCR `yaml:"ocr" desc:"tesseract and the page tools"`
	// Fields adds or replaces the labels of form fields.
	Fields map[string][]string `yaml:"fields" desc:"labels of form fields, {field: [labels]}, replacing the shipped labels of that field; fields: name, gender, id_number, phone, address, case_number, content, receptionist, visit_date"`
	// ReviewBelow labels a record needs_review when a page's mean word
	// confidence is below it (0–100).
	ReviewBelow float64 `yaml:"review_below" desc:"needs_review when a page mean word confidence (0-100) is below this"`
	// FieldConfidence is the least confidence at which a name or address
	// read by OCR is taken without review.
	FieldConfidence float64 `yaml:"field_confidence" desc:"least word confidence (0-100) at which a name or address read once is taken without review"`
	// Barcodes configures the QR/barcode reader.
	Barcodes Barcodes `yaml:"barcodes" desc:"the QR/barcode reader (zbarimg) for visit registration numbers on cover sheets"`
	// RetryDelay is how long a file waits after a transient failure.
	RetryDelay units.Duration `yaml:"retry_delay" desc:"how long a file waits after a transient failure (tool missing, disk, Kafka down)"`
}

// OCR configures the OCR tools.
type OCR struct {
	Command   string `yaml:"command" desc:"the tesseract command"`
	Languages string `yaml:"languages" desc:"tesseract languages; chi_sim reads case numbers far better than chi_sim+eng (see the README)"`
	PSM       int    `yaml:"psm" desc:"tesseract page segmentation mode; 4 (one column of lines of varied size) reads forms and tables row by row"`
	DPI       int    `yaml:"dpi" desc:"resolution PDF pages are rendered at and tesseract is told"`
	// Timeout bounds one tool run (one page).
	Timeout   units.Duration `yaml:"timeout" desc:"bound of one tool run (one page)"`
	PDFToPPM  string         `yaml:"pdftoppm" desc:"the pdftoppm command (poppler-utils)"`
	PDFInfo   string         `yaml:"pdfinfo" desc:"the pdfinfo command (poppler-utils)"`
	TIFFSplit string         `yaml:"tiffsplit" desc:"the tiffsplit command (libtiff-tools)"`
}

// Barcodes configures zbarimg.
type Barcodes struct {
	Enabled bool   `yaml:"enabled" desc:"decode QR codes and barcodes on the pages"`
	Command string `yaml:"command" desc:"the zbarimg command (zbar-tools)"`
	// Pattern is what a visit registration number looks like; other codes
	// are only recorded in meta.
	Pattern string `yaml:"pattern" desc:"what a visit registration number looks like (a regular expression); other codes are only recorded"`
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

// Validate implements channels.Validator: every problem at once.
func (c *Config) Validate() error {
	var p channels.Problems
	if c.Path == "" {
		p.Add("path", "required: the hot folder")
	}
	if c.Workers < 1 {
		p.Add("workers", "must be at least 1")
	}
	if c.MaxPages < 1 {
		p.Add("max_pages", "must be at least 1")
	}
	if c.MaxFileSize < 1 {
		p.Add("max_file_size", "must be positive")
	}
	if c.OCR.Command == "" || c.OCR.Languages == "" {
		p.Add("ocr", "command and languages are required")
	}
	if c.OCR.PSM < 0 || c.OCR.PSM > 13 {
		p.Add("ocr.psm", "must be 0–13")
	}
	if c.OCR.DPI < 70 || c.OCR.DPI > 1200 {
		p.Add("ocr.dpi", "must be 70–1200")
	}
	if c.ReviewBelow < 0 || c.ReviewBelow > 100 {
		p.Add("review_below", "a confidence is 0–100")
	}
	if c.FieldConfidence < 0 || c.FieldConfidence > 100 {
		p.Add("field_confidence", "a confidence is 0–100")
	}
	if c.PollInterval <= 0 {
		p.Add("poll_interval", "must be positive")
	}
	if _, err := regexp.Compile(c.Barcodes.Pattern); err != nil {
		p.Add("barcodes.pattern", "%v", err)
	}
	if _, err := c.spec(); err != nil {
		p.Add("fields", "%v", err)
	}
	return p.Err()
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
		// The entry's mapping reads sidecars of other shapes.
		Mapping: true,
	})
}
