package schemaregistry

import (
	"fmt"

	"github.com/court12368/petitiond/config"
	"github.com/court12368/petitiond/schema"
)

// Subject is one registration: a schema under a subject.
type Subject struct {
	Name   string // "<topic>-value"
	Topic  string
	Schema schema.File
}

// Plan lists the subjects of a routes config by the topic name strategy
// (Confluent's default: the value schema of topic T is subject "T-value"):
// petition.v1.json for the default topic and every rule's topic,
// deadletter.v1.json for the dead-letter topic. A topic that would carry
// both records is an error: one subject holds one schema's versions.
func Plan(rc config.Routes) ([]Subject, error) {
	recs := schema.Records()
	pet, dl := recs[0], recs[1]
	var out []Subject
	seen := map[string]bool{}
	add := func(topic string, f schema.File) {
		if topic == "" || seen[topic] {
			return
		}
		seen[topic] = true
		out = append(out, Subject{Name: topic + "-value", Topic: topic, Schema: f})
	}
	add(rc.DefaultTopic, pet)
	for _, r := range rc.Rules {
		add(r.Topic, pet)
	}
	if seen[rc.DeadLetterTopic] {
		return nil, fmt.Errorf("topic %q carries petition records and dead letters: its value subject cannot hold both schemas", rc.DeadLetterTopic)
	}
	add(rc.DeadLetterTopic, dl)
	return out, nil
}
