// promrule-check validates rule files as the systems that load them do, so obsgen's outputs for each target are
// checked by the real types and parser rather than by a copy of their rules:
//
//	-format prometheusrule  Kubernetes PrometheusRule objects: each YAML document is decoded strictly into the
//	                        Prometheus Operator's monitoring/v1 Go types, then its spec goes through Prometheus'
//	                        rulefmt exactly as the operator's admission webhook does (operator.ValidateRule).
//	-format thanos          Thanos ruler files: groups may carry partial_response_strategy (warn or abort), the
//	                        rest is a Prometheus rule group (Thanos' configRuleAdapter, then rulefmt).
//	-format cortex          cortextool/mimirtool `rules sync` files: `namespace:` plus `groups:`, decoded with
//	                        known fields only (cortex-tools' RuleNamespace), every group through rulefmt.
//
// Each problem is printed as FILE:LINE: message, the line being where the object, group or rule starts in the
// file given. Exit 0 when every file is valid, 1 when any problem was found, 2 for usage.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
)

// Problem is one finding, located in the file that was given.
type Problem struct {
	File    string
	Line    int
	Message string
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.File, p.Message)
}

// Counts is what a valid file held, for the summary line.
type Counts struct {
	Objects, Groups, Rules int
}

func (c *Counts) add(o Counts) {
	c.Objects += o.Objects
	c.Groups += o.Groups
	c.Rules += o.Rules
}

var checkers = map[string]func(file string, content []byte) (Counts, []Problem){
	"prometheusrule": checkPrometheusRules,
	"thanos":         checkThanos,
	"cortex":         checkCortex,
}

func main() {
	format := flag.String("format", "prometheusrule", "what the files are: prometheusrule, thanos or cortex")
	version := flag.Bool("version", false, "print the versions of the types and parser it checks with")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: promrule-check [-format prometheusrule|thanos|cortex] FILE...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *version {
		fmt.Println(versions())
		return
	}
	check, ok := checkers[*format]
	if !ok || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	var total Counts
	var problems []Problem
	for _, file := range flag.Args() {
		content, err := os.ReadFile(file)
		if err != nil {
			problems = append(problems, Problem{File: file, Message: err.Error()})
			continue
		}
		counts, found := check(file, content)
		total.add(counts)
		problems = append(problems, found...)
	}
	sort.SliceStable(problems, func(i, j int) bool {
		if problems[i].File != problems[j].File {
			return problems[i].File < problems[j].File
		}
		return problems[i].Line < problems[j].Line
	})
	for _, p := range problems {
		fmt.Fprintln(os.Stderr, p.String())
	}
	if len(problems) > 0 {
		fmt.Printf("FAILED: %d problem(s) in %d file(s)\n", len(problems), flag.NArg())
		os.Exit(1)
	}
	fmt.Printf("SUCCESS: %d file(s), %d object(s), %d group(s), %d rule(s) (%s)\n",
		flag.NArg(), total.Objects, total.Groups, total.Rules, *format)
}

// versions names the modules whose code does the checking, as go.mod pins them.
func versions() string {
	out := "promrule-check"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return out
	}
	for _, dep := range info.Deps {
		switch dep.Path {
		case "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring":
			out += " prometheus-operator-types=" + dep.Version
		case "github.com/prometheus/prometheus":
			out += " prometheus-rulefmt=" + dep.Version
		}
	}
	return out
}
