package all

import _ "github.com/court12368/petitiond/channels/web" // HTTP submissions (item kind: fields)
