package main

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"gopkg.in/yaml.v3"
	"k8s.io/apimachinery/pkg/util/validation"
	k8syaml "sigs.k8s.io/yaml"
)

// maxConfigMapDataSize mirrors the operator's limit on one rendered PrometheusRule (half a Secret's 1 MiB):
// a larger object is refused by the webhook, since its rules could not fit the ConfigMap the operator writes.
const maxConfigMapDataSize = 1024 * 1024 / 2

// checkPrometheusRules validates each YAML document of a file as a PrometheusRule object.
func checkPrometheusRules(file string, content []byte) (Counts, []Problem) {
	var total Counts
	docs, bad := documents(file, content)
	if bad != nil {
		return total, bad
	}
	if len(docs) == 0 {
		return total, []Problem{{File: file, Message: "no PrometheusRule object in the file"}}
	}
	var problems []Problem
	for _, doc := range docs {
		counts, found := checkObject(file, doc)
		total.add(counts)
		problems = append(problems, found...)
	}
	return total, problems
}

// checkObject decodes one object strictly into the operator's types (an unknown or duplicated field fails, as
// the API server's strict field validation does), checks its metadata as Kubernetes would, then runs each group
// through rulefmt the way operator.ValidateRule prepares it.
func checkObject(file string, doc *yaml.Node) (Counts, []Problem) {
	var counts Counts
	at := func(n *yaml.Node, format string, args ...any) Problem {
		line := doc.Line
		if n != nil {
			line = n.Line
		}
		return Problem{File: file, Line: line, Message: fmt.Sprintf(format, args...)}
	}
	raw, err := yaml.Marshal(doc)
	if err != nil {
		return counts, []Problem{at(nil, "%v", err)}
	}
	var rule monitoringv1.PrometheusRule
	if err := k8syaml.UnmarshalStrict(raw, &rule); err != nil {
		p := at(nil, "not a valid PrometheusRule: %s", strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
		if m := jsonUnknown.FindStringSubmatch(err.Error()); m != nil {
			if line := keyLine(doc, m[1]); line > 0 {
				p.Line = line
			}
		}
		return counts, []Problem{p}
	}
	counts.Objects = 1
	var problems []Problem
	if rule.APIVersion != monitoringv1.SchemeGroupVersion.String() || rule.Kind != monitoringv1.PrometheusRuleKind {
		problems = append(problems, at(child(doc, "kind"), "apiVersion/kind is %q/%q, want %q/%q",
			rule.APIVersion, rule.Kind, monitoringv1.SchemeGroupVersion.String(), monitoringv1.PrometheusRuleKind))
	}
	meta := child(doc, "metadata")
	for _, msg := range validation.IsDNS1123Subdomain(rule.Name) {
		problems = append(problems, at(child(meta, "name"), "metadata.name %q: %s", rule.Name, msg))
	}
	if rule.Namespace != "" {
		for _, msg := range validation.IsDNS1123Label(rule.Namespace) {
			problems = append(problems, at(child(meta, "namespace"), "metadata.namespace %q: %s", rule.Namespace, msg))
		}
	}
	for k, v := range rule.Labels {
		for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
			problems = append(problems, at(child(meta, "labels"), "metadata.labels %s=%q: %s", k, v, msg))
		}
	}
	spec := prepared(rule.Spec)
	whole, err := k8syaml.Marshal(spec)
	if err != nil {
		return counts, append(problems, at(nil, "failed to marshal content: %v", err))
	}
	if len(whole) > maxConfigMapDataSize {
		problems = append(problems, at(nil, "the length of rendered Prometheus Rule is %d bytes which is above the maximum limit of %d bytes",
			len(whole), maxConfigMapDataSize))
	}
	sourceGroups := child(child(doc, "spec"), "groups")
	seen := map[string]int{}
	for i, g := range spec.Groups {
		source := item(sourceGroups, i)
		if first, dup := seen[g.Name]; dup {
			problems = append(problems, at(source, "groupname: %q is repeated in the same PrometheusRule (first at line %d)", g.Name, first))
		} else {
			seen[g.Name] = lineOf(source)
		}
		one, err := k8syaml.Marshal(monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{g}})
		if err != nil {
			problems = append(problems, at(source, "failed to marshal group %q: %v", g.Name, err))
			continue
		}
		rules, found := ruleGroupProblems(file, one, source)
		counts.Groups++
		counts.Rules += rules
		problems = append(problems, found...)
	}
	return counts, problems
}

// prepared is the spec as operator.ValidateRule hands it to rulefmt: partial_response_strategy dropped (a Thanos
// field rulefmt does not know), empty durations omitted.
func prepared(spec monitoringv1.PrometheusRuleSpec) monitoringv1.PrometheusRuleSpec {
	out := *spec.DeepCopy()
	for i := range out.Groups {
		out.Groups[i].PartialResponseStrategy = ""
		if out.Groups[i].Interval != nil && *out.Groups[i].Interval == "" {
			out.Groups[i].Interval = nil
		}
		for j := range out.Groups[i].Rules {
			if f := out.Groups[i].Rules[j].For; f != nil && *f == "" {
				out.Groups[i].Rules[j].For = nil
			}
		}
	}
	return out
}
