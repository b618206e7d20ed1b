// Command kstatus-check prints the kstatus result (sigs.k8s.io/cli-utils/pkg/kstatus/status,
// the library Flux and kpt use) of Kubernetes objects given as JSON, one JSON line per object:
// {"source", "namespace", "name", "status", "message"}.
//
// Usage: kstatus-check [FILE...]   (no file: JSON objects on stdin; a List is expanded)
package main

import (
	"fmt"
	"os"

	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	"exposure.dev/e2e/tools/internal/objects"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "kstatus-check: %v\n", err)
		os.Exit(1)
	}
}

func run(files []string) error {
	objs, err := objects.Read(files)
	if err != nil {
		return err
	}
	results := make([]objects.Result, 0, len(objs))
	for _, o := range objs {
		res, err := status.Compute(o.Object)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", o.Source, o.Object.GetName(), err)
		}
		results = append(results, objects.Result{
			Source:    o.Source,
			Namespace: o.Object.GetNamespace(),
			Name:      o.Object.GetName(),
			Status:    res.Status.String(),
			Message:   res.Message,
		})
	}
	return objects.Print(results)
}
