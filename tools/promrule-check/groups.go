package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/prometheus/prometheus/model/rulefmt"
	"gopkg.in/yaml.v3"
)

// child is the value of a mapping's key, or nil.
func child(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// item is a sequence's i-th element, or nil.
func item(n *yaml.Node, i int) *yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
		return nil
	}
	return n.Content[i]
}

// keyLine is the line of the first mapping key with this name under n (depth first), or 0.
func keyLine(n *yaml.Node, key string) int {
	if n == nil {
		return 0
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i].Line
			}
		}
	}
	for _, c := range n.Content {
		if line := keyLine(c, key); line > 0 {
			return line
		}
	}
	return 0
}

func lineOf(n *yaml.Node) int {
	if n == nil {
		return 0
	}
	return n.Line
}

var (
	unknownField = regexp.MustCompile(`field (\S+) not found`)
	jsonUnknown  = regexp.MustCompile(`unknown field "([^"]+)"`)
	lineCol      = regexp.MustCompile(`^\d+:\d+: `)
	yamlLine     = regexp.MustCompile(`line \d+: `)
)

// withoutKeys is a copy of a mapping node without the given keys (fields another system strips before rulefmt).
func withoutKeys(n *yaml.Node, keys ...string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	out := *n
	out.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		drop := false
		for _, k := range keys {
			drop = drop || n.Content[i].Value == k
		}
		if !drop {
			out.Content = append(out.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &out
}

// ruleGroupProblems runs one rule group's YAML through rulefmt.Parse, strictly, as Prometheus loads a rule file,
// and locates each error in the source: at the rule it names, else at the group.
func ruleGroupProblems(file string, content []byte, source *yaml.Node) (int, []Problem) {
	groups, errs := rulefmt.Parse(content, false)
	var problems []Problem
	for _, err := range errs {
		line, msg := lineOf(source), err.Error()
		var ruleErr *rulefmt.Error
		if errors.As(err, &ruleErr) {
			if r := item(child(source, "rules"), ruleErr.Rule-1); r != nil {
				line = r.Line
				if f := child(r, fieldOf(ruleErr.Err.Error())); f != nil {
					line = f.Line
				}
			}
			msg = fmt.Sprintf("group %q, rule %d (%s): %s", ruleErr.Group, ruleErr.Rule, ruleErr.RuleName, plain(ruleErr.Err.Error()))
		} else if m := unknownField.FindStringSubmatch(msg); m != nil {
			if l := keyLine(source, m[1]); l > 0 {
				line = l
			}
			msg = plain(msg)
		} else {
			msg = plain(msg)
		}
		problems = append(problems, Problem{File: file, Line: line, Message: msg})
	}
	rules := 0
	if groups != nil {
		for _, g := range groups.Groups {
			rules += len(g.Rules)
		}
	}
	return rules, problems
}

// fieldOf is the rule field an error message is about, as rulefmt words them ("" when it names none).
func fieldOf(msg string) string {
	switch {
	case strings.Contains(msg, "expression"), strings.Contains(msg, "'expr'"):
		return "expr"
	case strings.Contains(msg, "annotation"):
		return "annotations"
	case strings.Contains(msg, "label"):
		return "labels"
	case strings.Contains(msg, "keep_firing_for"):
		return "keep_firing_for"
	case strings.Contains(msg, "'for'"):
		return "for"
	}
	return ""
}

// plain drops line:column prefixes that point into the re-encoded group rather than the file.
func plain(msg string) string {
	msg = lineCol.ReplaceAllString(msg, "")
	msg = yamlLine.ReplaceAllString(msg, "")
	return strings.Join(strings.Fields(msg), " ")
}

// groupsProblems validates a `groups:` sequence of source nodes: duplicate names across the sequence, then each
// group, with the given keys stripped first (fields the loading system handles itself), through rulefmt.
func groupsProblems(file string, seq *yaml.Node, strip ...string) (Counts, []Problem) {
	var counts Counts
	var problems []Problem
	if seq == nil || seq.Kind != yaml.SequenceNode {
		return counts, []Problem{{File: file, Line: lineOf(seq), Message: "groups: expected a list of rule groups"}}
	}
	seen := map[string]int{}
	for _, g := range seq.Content {
		name := child(g, "name")
		if name != nil {
			if first, dup := seen[name.Value]; dup {
				problems = append(problems, Problem{File: file, Line: g.Line,
					Message: fmt.Sprintf("groupname: %q is repeated (first at line %d)", name.Value, first)})
			} else {
				seen[name.Value] = g.Line
			}
		}
		wrapped := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Value: "groups"},
			{Kind: yaml.SequenceNode, Content: []*yaml.Node{withoutKeys(g, strip...)}},
		}}
		content, err := yaml.Marshal(wrapped)
		if err != nil {
			problems = append(problems, Problem{File: file, Line: g.Line, Message: err.Error()})
			continue
		}
		rules, found := ruleGroupProblems(file, content, g)
		counts.Groups++
		counts.Rules += rules
		problems = append(problems, found...)
	}
	return counts, problems
}

// documents splits a file into its YAML documents, each a node whose lines are the file's own.
func documents(file string, content []byte) ([]*yaml.Node, []Problem) {
	dec := yaml.NewDecoder(strings.NewReader(string(content)))
	var docs []*yaml.Node
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, []Problem{{File: file, Message: "not YAML: " + err.Error()}}
		}
		if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
			continue // an empty document (a leading or trailing ---)
		}
		docs = append(docs, doc.Content[0])
	}
	return docs, nil
}

// unknownKeys reports the keys of a mapping that the loading system's type does not have (it decodes strictly).
func unknownKeys(file string, n *yaml.Node, where string, allowed ...string) []Problem {
	if n == nil || n.Kind != yaml.MappingNode {
		return []Problem{{File: file, Line: lineOf(n), Message: where + ": expected a mapping"}}
	}
	var problems []Problem
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, known := n.Content[i].Value, false
		for _, a := range allowed {
			known = known || key == a
		}
		if !known {
			problems = append(problems, Problem{File: file, Line: n.Content[i].Line,
				Message: fmt.Sprintf("%s: unknown field %q (known: %s)", where, key, strings.Join(allowed, ", "))})
		}
	}
	return problems
}
