// Package objects reads Kubernetes objects as JSON from files or stdin, the way the e2e tools
// take them: each file (or stdin) holds one or more JSON objects; a `kind: List` is expanded.
package objects

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Object is one decoded object and where it came from ("-" for stdin).
type Object struct {
	Source string
	Object *unstructured.Unstructured
}

// Read decodes every object in the named files, or on stdin when there are none. Numbers are
// decoded as the API machinery does (int64 where integral), so library code sees what it would
// see on a live object.
func Read(files []string) ([]Object, error) {
	if len(files) == 0 {
		return decode("-", os.Stdin)
	}
	var all []Object
	for _, f := range files {
		r, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		objs, err := decode(f, r)
		_ = r.Close()
		if err != nil {
			return nil, err
		}
		all = append(all, objs...)
	}
	return all, nil
}

func decode(source string, r io.Reader) ([]Object, error) {
	dec := json.NewDecoder(r)
	var out []Object
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); errors.Is(err, io.EOF) {
			return out, nil
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if strings.HasSuffix(u.GetKind(), "List") && u.IsList() {
			list, err := u.ToList()
			if err != nil {
				return nil, fmt.Errorf("%s: %w", source, err)
			}
			for i := range list.Items {
				out = append(out, Object{Source: source, Object: &list.Items[i]})
			}
			continue
		}
		out = append(out, Object{Source: source, Object: u})
	}
}

// Result is what a tool prints for one object, one JSON line each.
type Result struct {
	Source    string `json:"source"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	Status    string `json:"status"`
	Message   string `json:"message"`
}

// Print writes the results as JSON lines on stdout.
func Print(results []Result) error {
	enc := json.NewEncoder(os.Stdout)
	for _, r := range results {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	return nil
}
