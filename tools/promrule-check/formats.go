package main

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Thanos' rule groups: a Prometheus rule group plus partial_response_strategy, whose value Thanos reads
// case-insensitively as WARN or ABORT (empty means ABORT); storepb.PartialResponseStrategy's names.
var thanosStrategies = []string{"WARN", "ABORT"}

func checkThanos(file string, content []byte) (Counts, []Problem) {
	var total Counts
	var problems []Problem
	docs, bad := documents(file, content)
	if bad != nil {
		return total, bad
	}
	for _, doc := range docs {
		if found := unknownKeys(file, doc, "rule file", "groups"); found != nil {
			problems = append(problems, found...)
			continue
		}
		groups := child(doc, "groups")
		for _, g := range contentOf(groups) {
			s := child(g, "partial_response_strategy")
			if s == nil || s.Value == "" {
				continue
			}
			valid := false
			for _, v := range thanosStrategies {
				valid = valid || strings.ToUpper(s.Value) == v
			}
			if !valid {
				problems = append(problems, Problem{File: file, Line: s.Line, Message: fmt.Sprintf(
					"failed to unmarshal %q as 'partial_response_strategy'. Possible values are %s",
					s.Value, strings.Join(thanosStrategies, ","))})
			}
		}
		counts, found := groupsProblems(file, groups, "partial_response_strategy")
		total.add(counts)
		total.Objects++
		problems = append(problems, found...)
	}
	return total, problems
}

// cortextool and mimirtool `rules sync` read one namespace per file: `namespace:` (else the file name) and
// `groups:`, decoded with known fields only; each group is a Prometheus rule group.
func checkCortex(file string, content []byte) (Counts, []Problem) {
	var total Counts
	var problems []Problem
	docs, bad := documents(file, content)
	if bad != nil {
		return total, bad
	}
	if len(docs) != 1 {
		return total, []Problem{{File: file, Message: fmt.Sprintf("expected one YAML document (one rule namespace), found %d", len(docs))}}
	}
	doc := docs[0]
	if found := unknownKeys(file, doc, "rule namespace", "namespace", "groups"); found != nil {
		return total, found
	}
	if ns := child(doc, "namespace"); ns != nil && (ns.Kind != yaml.ScalarNode || ns.Value == "") {
		problems = append(problems, Problem{File: file, Line: ns.Line, Message: "namespace: expected a non-empty name"})
	}
	counts, found := groupsProblems(file, child(doc, "groups"))
	counts.Objects = 1
	return counts, append(problems, found...)
}

// contentOf is a sequence's elements (nil for anything else).
func contentOf(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}
