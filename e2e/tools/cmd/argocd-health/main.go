// Command argocd-health evaluates an Argo CD resource health check (a Lua script) on
// Kubernetes objects given as JSON, under gopher-lua, the Lua engine Argo CD embeds, in the
// environment Argo CD gives such a script: only the package, base and table libraries (no
// string, math, io or os library), the object as the global `obj`, a one-second limit, and a
// table `{status, message}` as the chunk's return value. A status outside Argo CD's health codes
// becomes Unknown, as in Argo CD. Prints one JSON line per object:
// {"source", "namespace", "name", "status", "message"}.
//
// Usage: argocd-health --script health.lua [FILE...]   (no file: JSON objects on stdin)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	lua "github.com/yuin/gopher-lua"

	"exposure.dev/e2e/tools/internal/objects"
)

// Argo CD's health status codes; anything else is reported as Unknown.
var healthCodes = map[string]bool{
	"Healthy": true, "Progressing": true, "Degraded": true, "Suspended": true, "Missing": true, "Unknown": true,
}

func main() {
	script := flag.String("script", "", "the Lua health check (for example charts/exposure-operator/argocd/health.lua)")
	flag.Parse()
	if err := run(*script, flag.Args()); err != nil {
		fmt.Fprintf(os.Stderr, "argocd-health: %v\n", err)
		os.Exit(1)
	}
}

func run(scriptPath string, files []string) error {
	if scriptPath == "" {
		return errors.New("--script is required")
	}
	script, err := os.ReadFile(scriptPath)
	if err != nil {
		return err
	}
	objs, err := objects.Read(files)
	if err != nil {
		return err
	}
	results := make([]objects.Result, 0, len(objs))
	for _, o := range objs {
		status, message, err := evaluate(string(script), o.Object.Object)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", o.Source, o.Object.GetName(), err)
		}
		results = append(results, objects.Result{
			Source:    o.Source,
			Namespace: o.Object.GetNamespace(),
			Name:      o.Object.GetName(),
			Status:    status,
			Message:   message,
		})
	}
	return objects.Print(results)
}

// evaluate runs the script once on one object, in a fresh Lua state.
func evaluate(script string, obj map[string]interface{}) (string, string, error) {
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.LoadLibName, lua.OpenPackage},
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
	} {
		if err := l.CallByParam(lua.P{Fn: l.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return "", "", fmt.Errorf("opening the Lua library %q: %w", lib.name, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	l.SetContext(ctx)
	l.SetGlobal("obj", toLua(l, obj))
	if err := l.DoString(script); err != nil {
		return "", "", err
	}
	ret, ok := l.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned a %s, want a table", l.Get(-1).Type())
	}
	status, _ := ret.RawGetString("status").(lua.LString)
	message, _ := ret.RawGetString("message").(lua.LString)
	if !healthCodes[string(status)] {
		return "Unknown", fmt.Sprintf("invalid health status %q", string(status)), nil
	}
	return string(status), string(message), nil
}

// toLua converts a decoded object to Lua values: maps to hash tables, lists to arrays, numbers
// to Lua numbers; JSON null is nil, so an absent and a null field look the same to the script.
func toLua(l *lua.LState, v interface{}) lua.LValue {
	switch x := v.(type) {
	case bool:
		return lua.LBool(x)
	case string:
		return lua.LString(x)
	case int64:
		return lua.LNumber(x)
	case int:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case []interface{}:
		t := l.CreateTable(len(x), 0)
		for _, item := range x {
			t.Append(toLua(l, item))
		}
		return t
	case map[string]interface{}:
		t := l.CreateTable(0, len(x))
		for k, item := range x {
			t.RawSetString(k, toLua(l, item))
		}
		return t
	}
	return lua.LNil
}
