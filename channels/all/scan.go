package all

import (
	_ "github.com/court12368/petitiond/channels/scan"        // scanned visitor forms from a hot folder (OCR)
	_ "github.com/court12368/petitiond/channels/scan/decode" // reads the forms into records
)
