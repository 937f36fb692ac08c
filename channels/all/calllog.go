package all

import (
	_ "github.com/court12368/petitiond/channels/calllog"        // hotline call-detail records and CTI notes
	_ "github.com/court12368/petitiond/channels/calllog/decode" // reads the calls into records
)
