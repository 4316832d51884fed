package falco

import (
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
)

// jsonOutput is an alert as Falco's json_output writes it (no uuid).
const jsonOutput = `{"hostname":"web-01","output":"2026-03-04T10:15:22.481223061+0000: Notice A shell was spawned in a container with an attached terminal (user=root process=bash)","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["T1059","container","mitre_execution","shell"],"time":"2026-03-04T10:15:22.481223061Z","output_fields":{"container.id":"5b8d1e3c9a47","container.name":"web","container.image.repository":"docker.io/library/nginx","container.image.tag":"1.25.3","evt.type":"execve","proc.name":"bash","proc.exepath":"/usr/bin/bash","proc.cmdline":"bash","proc.pid":4242,"proc.ppid":4200,"proc.pname":"runc","user.name":"root","user.uid":0,"k8s.ns.name":"shop","k8s.pod.name":"web-0"}}`

// sidekick is the same alert as falcosidekick's webhook output POSTs it.
const sidekick = `{"uuid":"3c1f4b52-8a0e-4d7b-9f61-2e7a5c0d9b18","output":"2026-03-04T10:15:22.481223061+0000: Notice A shell was spawned in a container with an attached terminal (user=root process=bash)","priority":"Notice","rule":"Terminal shell in container","time":"2026-03-04T10:15:22.481223061Z","output_fields":{"evt.type":"execve","proc.name":"bash","user.name":"root","user.uid":0},"source":"syscall","tags":["T1059","mitre_execution"],"hostname":"web-01"}`

func decode(t *testing.T, raw string) ([]*ecs.Event, error) {
	t.Helper()
	evs, err := Decoder{}.Decode([]byte(raw), normalize.Meta{Origin: "test", KeepOriginal: true})
	for _, ev := range evs {
		normalizetest.CheckEvent(t, "test", ev)
	}
	return evs, err
}

func one(t *testing.T, raw string) *ecs.Event {
	t.Helper()
	evs, err := decode(t, raw)
	if err != nil || len(evs) != 1 {
		t.Fatalf("Decode: %d events, %v", len(evs), err)
	}
	return evs[0]
}

// with returns the alert with top-level fields replaced (a nil value
// removes the field).
func with(t *testing.T, raw string, set map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("falco")
	if !ok {
		t.Fatal("falco is not registered")
	}
	if d.Dataset() != "falco" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

func TestForms(t *testing.T) {
	t.Run("json_output", func(t *testing.T) {
		ev := one(t, jsonOutput)
		if want := normalize.DerivedID([]byte(jsonOutput), 0); ev.Event.ID != want {
			t.Errorf("event.id = %q, want the derived id %q", ev.Event.ID, want)
		}
		if ev.Event.Original != jsonOutput {
			t.Errorf("event.original = %q", ev.Event.Original)
		}
		checkShell(t, ev)
	})
	t.Run("falcosidekick", func(t *testing.T) {
		ev := one(t, sidekick)
		if ev.Event.ID != "3c1f4b52-8a0e-4d7b-9f61-2e7a5c0d9b18" || ev.Falco.UUID != ev.Event.ID {
			t.Errorf("event.id = %q, falco.uuid = %q: want the uuid", ev.Event.ID, ev.Falco.UUID)
		}
	})
	t.Run("array", func(t *testing.T) {
		evs, err := decode(t, "[\n"+jsonOutput+",\n"+sidekick+"\n]")
		if err != nil || len(evs) != 2 {
			t.Fatalf("Decode: %d events, %v", len(evs), err)
		}
		if evs[0].Event.Original != jsonOutput || evs[1].Event.ID != "3c1f4b52-8a0e-4d7b-9f61-2e7a5c0d9b18" {
			t.Errorf("items: original %q, id %q", evs[0].Event.Original, evs[1].Event.ID)
		}
		// An item's id does not depend on the batch it came in.
		if evs[0].Event.ID != normalize.DerivedID([]byte(jsonOutput), 0) {
			t.Errorf("item id %q is not derived from the item", evs[0].Event.ID)
		}
	})
	t.Run("no original unless asked", func(t *testing.T) {
		evs, err := Decoder{}.Decode([]byte(jsonOutput), normalize.Meta{})
		if err != nil || evs[0].Event.Original != "" {
			t.Errorf("event.original = %q, %v", evs[0].Event.Original, err)
		}
	})
}

func checkShell(t *testing.T, ev *ecs.Event) {
	t.Helper()
	want := &ecs.Event{
		Timestamp: ev.Timestamp,
		Message:   "2026-03-04T10:15:22.481223061+0000: Notice A shell was spawned in a container with an attached terminal (user=root process=bash)",
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID: ev.Event.ID, Kind: "alert", Category: []string{"process"}, Type: []string{"start"},
			Action: "execve", Provider: "syscall", Dataset: "falco.alerts", Module: "falco", Severity: 2,
			Original: ev.Event.Original,
		},
		User:    &ecs.User{Name: "root", ID: "0"},
		Related: &ecs.Related{User: []string{"root"}, Hosts: []string{"web-01"}},
		Host:    &ecs.Host{Name: "web-01", Hostname: "web-01"},
		Rule:    &ecs.Rule{Name: "Terminal shell in container", Ruleset: "falco"},
		Threat: &ecs.Threat{Framework: "MITRE ATT&CK",
			Tactic:    &ecs.ThreatCategory{ID: []string{"TA0002"}, Name: []string{"Execution"}},
			Technique: &ecs.ThreatCategory{ID: []string{"T1059"}}},
		Process: &ecs.Process{PID: 4242, Name: "bash", Executable: "/usr/bin/bash", CommandLine: "bash",
			Parent: &ecs.ProcessParent{PID: 4200, Name: "runc"}, User: &ecs.User{Name: "root", ID: "0"}},
		Container: &ecs.Container{ID: "5b8d1e3c9a47", Name: "web",
			Image: &ecs.ContainerImage{Name: "docker.io/library/nginx", Tag: []string{"1.25.3"}}},
		Observer:     &ecs.Observer{Vendor: "Sysdig", Product: "Falco", Hostname: "web-01"},
		Orchestrator: &ecs.Orchestrator{Type: "kubernetes", Namespace: "shop", Resource: &ecs.OrchestratorResource{Name: "web-0", Type: "pod"}},
		Falco: &ecs.Falco{Hostname: "web-01", OutputFields: ev.Falco.OutputFields, Priority: "Notice", Source: "syscall",
			Tags: []string{"T1059", "container", "mitre_execution", "shell"}},
	}
	if got := ev.Timestamp.Format("2006-01-02T15:04:05.000000000Z07:00"); got != "2026-03-04T10:15:22.481223061Z" {
		t.Errorf("@timestamp = %s", got)
	}
	if !reflect.DeepEqual(ev, want) {
		g, _ := json.Marshal(ev)
		w, _ := json.Marshal(want)
		t.Errorf("event:\n got %s\nwant %s", g, w)
	}
	if n, ok := ev.Falco.OutputFields["proc.pid"].(json.Number); !ok || n != "4242" {
		t.Errorf("falco.output_fields[proc.pid] = %#v, want json.Number 4242", ev.Falco.OutputFields["proc.pid"])
	}
}

func TestErrors(t *testing.T) {
	for name, c := range map[string]struct {
		raw, want string
	}{
		"missing time":       {with(t, jsonOutput, map[string]any{"time": nil}), "no time"},
		"empty time":         {with(t, jsonOutput, map[string]any{"time": ""}), "no time"},
		"time not RFC 3339":  {with(t, jsonOutput, map[string]any{"time": "04/03/2026 10:15:22"}), "not an RFC 3339 time"},
		"time out of range":  {with(t, jsonOutput, map[string]any{"time": "0000-01-01T00:00:00Z"}), "out of range"},
		"missing rule":       {with(t, jsonOutput, map[string]any{"rule": nil}), "no rule"},
		"missing priority":   {with(t, jsonOutput, map[string]any{"priority": nil}), "no priority"},
		"unknown priority":   {with(t, jsonOutput, map[string]any{"priority": "Severe"}), `priority "Severe" is not a Falco priority`},
		"numeric priority":   {with(t, jsonOutput, map[string]any{"priority": 5}), "field priority: JSON number"},
		"output_fields text": {with(t, jsonOutput, map[string]any{"output_fields": "proc.name=bash"}), "output_fields: not a JSON object"},
		"tags not strings":   {with(t, jsonOutput, map[string]any{"tags": []int{1}}), "field tags"},
		"not JSON":           {"Notice A shell was spawned", "invalid JSON"},
		"a JSON string":      {`"alert"`, "where an object belongs"},
		"empty":              {"", "invalid JSON"},
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := decode(t, c.raw)
			if err == nil || len(evs) != 0 || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode = %d events, %v; want an error with %q", len(evs), err, c.want)
			}
			if errors.Is(err, normalize.ErrSkipped) {
				t.Errorf("error %v is a skip", err)
			}
		})
	}
}

func TestPriority(t *testing.T) {
	for in, want := range map[string]struct {
		name     string
		severity int
	}{
		"Emergency": {"Emergency", 7}, "Alert": {"Alert", 6}, "Critical": {"Critical", 5}, "Error": {"Error", 4},
		"Warning": {"Warning", 3}, "Notice": {"Notice", 2}, "Informational": {"Informational", 1}, "Debug": {"Debug", 0},
		"WARNING": {"Warning", 3}, "info": {"Informational", 1}, "critical": {"Critical", 5},
	} {
		ev := one(t, with(t, jsonOutput, map[string]any{"priority": in}))
		if ev.Event.Severity != want.severity || ev.Falco.Priority != want.name {
			t.Errorf("priority %q: severity %d, falco.priority %q; want %d, %q", in, ev.Event.Severity, ev.Falco.Priority, want.severity, want.name)
		}
	}
}

func TestPartial(t *testing.T) {
	bad := with(t, sidekick, map[string]any{"time": nil})
	badPrio := with(t, sidekick, map[string]any{"priority": "Severe", "uuid": "71f3a0c8-2e9d-4b56-a14f-c5e7d0b3892a"})
	t.Run("one bad item", func(t *testing.T) {
		evs, err := decode(t, "["+jsonOutput+","+bad+","+sidekick+"]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) {
			t.Fatalf("error %v is not a *PartialError", err)
		}
		if len(evs) != 2 || len(pe.Items) != 1 {
			t.Fatalf("%d events, %d failed items; want 2 and 1", len(evs), len(pe.Items))
		}
		it := pe.Items[0]
		if it.Index != 1 || it.Path != "[1]" || string(it.Raw) != bad || !strings.Contains(it.Err.Error(), "no time") {
			t.Errorf("failed item = %d %q %q %v", it.Index, it.Path, it.Raw, it.Err)
		}
	})
	t.Run("every item bad", func(t *testing.T) {
		evs, err := decode(t, "["+bad+","+badPrio+"]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 0 || len(pe.Items) != 2 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
	t.Run("item not an object", func(t *testing.T) {
		evs, err := decode(t, "["+sidekick+",42]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 1 || pe.Items[0].Path != "[1]" {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
	t.Run("broken JSON in one item", func(t *testing.T) {
		evs, err := decode(t, "["+sidekick+`,{"rule":"x",}`+","+jsonOutput+"]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 2 || len(pe.Items) != 1 || pe.Items[0].Index != 1 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
	t.Run("array cut off", func(t *testing.T) {
		evs, err := decode(t, "["+sidekick+","+jsonOutput[:40])
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 1 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
	t.Run("empty array", func(t *testing.T) {
		evs, err := decode(t, " [ ] ")
		if !errors.Is(err, normalize.ErrSkipped) || len(evs) != 0 {
			t.Fatalf("%d events, %v; want a skip", len(evs), err)
		}
	})
}

func TestMapping(t *testing.T) {
	fields := func(of map[string]any, source string, tags ...string) string {
		set := map[string]any{"output_fields": of, "tags": tags}
		if source != "" {
			set["source"] = source
		}
		return with(t, jsonOutput, set)
	}
	t.Run("host process is no container", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"container.id": "host", "container.name": "host", "proc.name": "sshd"}, ""))
		if ev.Container != nil {
			t.Errorf("container = %+v", ev.Container)
		}
	})
	t.Run("<NA> is absent", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"container.id": "abc", "container.image.repository": "<NA>", "k8s.ns.name": "<NA>", "proc.name": "x"}, ""))
		if ev.Container.Image != nil || ev.Orchestrator != nil {
			t.Errorf("container %+v, orchestrator %+v", ev.Container, ev.Orchestrator)
		}
	})
	t.Run("image reference", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"container.id": "abc", "container.image": "registry:5000/team/app:2.1@sha256:0123"}, ""))
		if img := ev.Container.Image; img.Name != "registry:5000/team/app" || !reflect.DeepEqual(img.Tag, []string{"2.1"}) {
			t.Errorf("image = %+v", img)
		}
	})
	t.Run("connection", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"evt.type": "connect", "fd.type": "ipv4", "fd.l4proto": "tcp", "fd.name": "10.0.0.5:40000->198.51.100.9:443",
			"fd.cip": "10.0.0.5", "fd.cport": 40000, "fd.sip": "198.51.100.9", "fd.sport": "443", "evt.res": "ECONNREFUSED"}, ""))
		if ev.Source.IP != "10.0.0.5" || ev.Source.Port != 40000 || ev.Destination.IP != "198.51.100.9" || ev.Destination.Port != 443 {
			t.Errorf("source %+v destination %+v", ev.Source, ev.Destination)
		}
		if ev.File != nil || ev.Network.Transport != "tcp" || ev.Network.Type != "ipv4" || ev.Event.Outcome != "failure" {
			t.Errorf("file %+v network %+v outcome %q", ev.File, ev.Network, ev.Event.Outcome)
		}
		if !reflect.DeepEqual(ev.Event.Category, []string{"network"}) || !reflect.DeepEqual(ev.Event.Type, []string{"connection"}) {
			t.Errorf("category %v type %v", ev.Event.Category, ev.Event.Type)
		}
	})
	t.Run("accepted connection", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"evt.type": "accept", "fd.lip": "10.0.0.5", "fd.lport": 22, "fd.rip": "198.51.100.9", "fd.rport": 51000}, ""))
		if ev.Source.IP != "198.51.100.9" || ev.Destination.Port != 22 {
			t.Errorf("source %+v destination %+v", ev.Source, ev.Destination)
		}
	})
	t.Run("bad addresses and ports", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"fd.cip": "175.16.199.0/24", "fd.cport": 70000, "fd.sip": "fe80::1%eth0", "fd.sport": -1}, ""))
		if ev.Source.IP != "" || ev.Source.Address != "175.16.199.0/24" || ev.Source.Port != 0 || ev.Destination.IP != "fe80::1" || ev.Destination.Port != 0 {
			t.Errorf("source %+v destination %+v", ev.Source, ev.Destination)
		}
	})
	t.Run("file", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"evt.type": "unlinkat", "fd.name": "/var/log/secure", "evt.res": "SUCCESS"}, ""))
		if ev.File.Path != "/var/log/secure" || ev.File.Name != "secure" || ev.File.Directory != "/var/log" {
			t.Errorf("file = %+v", ev.File)
		}
		if !reflect.DeepEqual(ev.Event.Category, []string{"file"}) || !reflect.DeepEqual(ev.Event.Type, []string{"deletion"}) || ev.Event.Outcome != "success" {
			t.Errorf("category %v type %v outcome %q", ev.Event.Category, ev.Event.Type, ev.Event.Outcome)
		}
	})
	t.Run("evt.category as Elastic", func(t *testing.T) {
		for cat, want := range map[string]string{"file": "file", "net": "network", "user": "session", "memory": "host", "time": "configuration", "io_read": "process", "other": "process"} {
			ev := one(t, fields(map[string]any{"evt.category": cat, "evt.type": "read"}, ""))
			if !reflect.DeepEqual(ev.Event.Category, []string{want}) {
				t.Errorf("evt.category %q: event.category %v, want %s", cat, ev.Event.Category, want)
			}
		}
	})
	t.Run("k8s audit", func(t *testing.T) {
		ev := one(t, fields(map[string]any{"ka.verb": "delete", "ka.user.name": "admin", "ka.target.namespace": "prod", "ka.target.name": "db-0", "ka.target.resource": "pods"}, "k8s_audit"))
		if ev.User.Name != "admin" || ev.Event.Action != "delete" || ev.Orchestrator.Namespace != "prod" || ev.Orchestrator.Resource.Name != "db-0" || ev.Orchestrator.Resource.Type != "pod" {
			t.Errorf("user %+v action %q orchestrator %+v", ev.User, ev.Event.Action, ev.Orchestrator)
		}
		if !reflect.DeepEqual(ev.Event.Category, []string{"configuration"}) || !reflect.DeepEqual(ev.Event.Type, []string{"deletion"}) {
			t.Errorf("category %v type %v", ev.Event.Category, ev.Event.Type)
		}
	})
	t.Run("threat", func(t *testing.T) {
		ev := one(t, fields(nil, "", "mitre_privilege_escalation", "T1611", "mitre_persistence", "T1543.002", "mitre_remote_service", "T1611", "container"))
		want := &ecs.Threat{Framework: "MITRE ATT&CK",
			Tactic:    &ecs.ThreatCategory{ID: []string{"TA0004", "TA0003"}, Name: []string{"Privilege Escalation", "Persistence"}},
			Technique: &ecs.ThreatCategory{ID: []string{"T1611", "T1543.002"}}}
		if !reflect.DeepEqual(ev.Threat, want) {
			t.Errorf("threat = %+v %+v", ev.Threat.Tactic, ev.Threat.Technique)
		}
		if ev := one(t, fields(nil, "", "container")); ev.Threat != nil {
			t.Errorf("threat without MITRE tags = %+v", ev.Threat)
		}
	})
	t.Run("no output_fields", func(t *testing.T) {
		ev := one(t, with(t, jsonOutput, map[string]any{"output_fields": nil}))
		if ev.Process != nil || ev.Falco.OutputFields != nil || !reflect.DeepEqual(ev.Event.Category, []string{"process"}) {
			t.Errorf("process %+v output_fields %v category %v", ev.Process, ev.Falco.OutputFields, ev.Event.Category)
		}
	})
}

// TestElasticSample compares the mapping with Elastic's own output for the
// same alert (the integration's sample event), field by field where the two
// agree by design. The deliberate differences are documented in doc.go.
func TestElasticSample(t *testing.T) {
	b, err := os.ReadFile(sampleEvent)
	if err != nil {
		t.Fatal(err)
	}
	var elastic struct {
		Event struct {
			Original string `json:"original"`
			Provider string `json:"provider"`
		} `json:"event"`
		Category  []string        `json:"event.category"`
		Type      []string        `json:"event.type"`
		Severity  int             `json:"event.severity"`
		Process   ecs.Process     `json:"process"`
		Container ecs.Container   `json:"container"`
		Rule      ecs.Rule        `json:"rule"`
		Observer  ecs.Observer    `json:"observer"`
		Related   ecs.Related     `json:"related"`
		Falco     json.RawMessage `json:"falco"`
	}
	if err := json.Unmarshal(b, &elastic); err != nil {
		t.Fatal(err)
	}
	var ef struct {
		Hostname string   `json:"hostname"`
		Priority string   `json:"priority"`
		Source   string   `json:"source"`
		Tags     []string `json:"tags"`
		UUID     string   `json:"uuid"`
	}
	if err := json.Unmarshal(elastic.Falco, &ef); err != nil {
		t.Fatal(err)
	}
	ev := one(t, elastic.Event.Original)
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"event.category", ev.Event.Category, elastic.Category},
		{"event.type", ev.Event.Type, elastic.Type},
		{"event.severity", ev.Event.Severity, elastic.Severity},
		{"event.provider", ev.Event.Provider, elastic.Event.Provider},
		{"process", *ev.Process, elastic.Process},
		{"container", *ev.Container, elastic.Container},
		{"rule.name", ev.Rule.Name, elastic.Rule.Name},
		{"observer.hostname", ev.Observer.Hostname, elastic.Observer.Hostname},
		{"related.hosts", ev.Related.Hosts, elastic.Related.Hosts},
		{"falco.hostname", ev.Falco.Hostname, ef.Hostname},
		{"falco.priority", ev.Falco.Priority, ef.Priority},
		{"falco.source", ev.Falco.Source, ef.Source},
		{"falco.tags", ev.Falco.Tags, ef.Tags},
		{"falco.uuid", ev.Falco.UUID, ef.UUID},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %+v; Elastic has %+v", c.field, c.got, c.want)
		}
	}
}

// TestConcurrent decodes every input from several goroutines at once (run
// with -race) and expects what one goroutine gets.
func TestConcurrent(t *testing.T) {
	inputs := allInputs(t)
	want := make([]string, len(inputs))
	for i, in := range inputs {
		want[i] = result(Decoder{}.Decode(in, normalize.Meta{KeepOriginal: true}))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i, in := range inputs {
				if got := result(Decoder{}.Decode(in, normalize.Meta{KeepOriginal: true})); got != want[i] {
					t.Errorf("input %d decodes differently in parallel", i)
				}
			}
		}()
	}
	wg.Wait()
}

func result(evs []*ecs.Event, err error) string {
	b, _ := json.Marshal(evs)
	if err != nil {
		return string(b) + err.Error()
	}
	return string(b)
}
