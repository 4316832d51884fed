package wazuh

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilsec/vigil/correlators/normalize"
	"github.com/vigilsec/vigil/correlators/normalize/normalizetest"
	"github.com/vigilsec/vigil/ecs"
)

// failed is an sshd authentication failure (rule 5716) as a manager
// writes it to alerts.json, built from Wazuh's documented example.
const failed = `{"timestamp":"2026-11-02T09:12:41.123+0000","rule":{"level":5,"description":"sshd: authentication failed.","id":"5716","mitre":{"id":["T1110.001","T1021.004"],"tactic":["Credential Access","Lateral Movement"],"technique":["Password Guessing","SSH"]},"firedtimes":3,"mail":false,"groups":["syslog","sshd","authentication_failed"],"gdpr":["IV_35.7.d","IV_32.2"],"hipaa":["164.312.b"],"nist_800_53":["AU.14","AC.7"],"pci_dss":["10.2.4","10.2.5"],"tsc":["CC6.1","CC6.8","CC7.2","CC7.3"]},"agent":{"id":"003","name":"web-01","ip":"10.0.2.15"},"manager":{"name":"wazuh-manager"},"id":"1793610761.482113","cluster":{"name":"wazuh","node":"master-node"},"full_log":"Nov  2 09:12:40 web-01 sshd[21746]: Failed password for root from 203.0.113.77 port 61658 ssh2","predecoder":{"program_name":"sshd","timestamp":"Nov  2 09:12:40","hostname":"web-01"},"decoder":{"parent":"sshd","name":"sshd"},"data":{"srcip":"203.0.113.77","srcport":"61658","dstuser":"root"},"location":"/var/log/auth.log"}`

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

// with returns the alert with fields replaced by dotted path (a nil
// value removes the field).
func with(t *testing.T, raw string, set map[string]any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatal(err)
	}
	for path, v := range set {
		keys := strings.Split(path, ".")
		cur := m
		for _, k := range keys[:len(keys)-1] {
			next, ok := cur[k].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[k] = next
			}
			cur = next
		}
		if last := keys[len(keys)-1]; v == nil {
			delete(cur, last)
		} else {
			cur[last] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRegistered(t *testing.T) {
	d, ok := normalize.Lookup("wazuh")
	if !ok {
		t.Fatal("wazuh is not registered")
	}
	if d.Dataset() != "wazuh" {
		t.Errorf("Dataset() = %q", d.Dataset())
	}
}

func TestAlert(t *testing.T) {
	ev := one(t, failed)
	f := false
	want := &ecs.Event{
		Timestamp: time.Date(2026, 11, 2, 9, 12, 41, 123e6, time.UTC),
		Message:   "Nov  2 09:12:40 web-01 sshd[21746]: Failed password for root from 203.0.113.77 port 61658 ssh2",
		ECS:       ecs.ECSMeta{Version: ecs.Version},
		Event: ecs.EventMeta{
			ID: normalize.DerivedID([]byte(failed), 0), Kind: "alert", Category: []string{"authentication"}, Type: []string{"start"},
			Action: "authentication_failed", Outcome: "failure", Provider: "sshd", Dataset: "wazuh.alerts", Module: "wazuh",
			Severity: 5, Original: failed,
		},
		Source:  &ecs.Endpoint{IP: "203.0.113.77", Address: "203.0.113.77", Port: 61658},
		User:    &ecs.User{Name: "root"},
		Related: &ecs.Related{IP: []string{"10.0.2.15", "203.0.113.77"}, User: []string{"root"}, Hosts: []string{"web-01"}},
		Host:    &ecs.Host{Name: "web-01", IP: []string{"10.0.2.15"}},
		Rule:    &ecs.Rule{ID: "5716", Name: "sshd: authentication failed.", Category: "syslog", Ruleset: "wazuh"},
		Threat: &ecs.Threat{Framework: "MITRE ATT&CK",
			Tactic:    &ecs.ThreatCategory{ID: []string{"TA0006", "TA0008"}, Name: []string{"Credential Access", "Lateral Movement"}},
			Technique: &ecs.ThreatCategory{ID: []string{"T1110.001", "T1021.004"}, Name: []string{"Password Guessing", "SSH"}}},
		Observer: &ecs.Observer{Vendor: "Wazuh", Product: "Wazuh", Name: "wazuh-manager"},
		Agent:    &ecs.Agent{ID: "003", Name: "web-01", Type: "wazuh"},
		Wazuh: &ecs.Wazuh{
			ID: "1793610761.482113",
			Rule: &ecs.WazuhRule{Level: 5, Groups: []string{"syslog", "sshd", "authentication_failed"}, FiredTimes: 3, Mail: &f,
				PCIDSS: []string{"10.2.4", "10.2.5"}, GDPR: []string{"IV_35.7.d", "IV_32.2"}, HIPAA: []string{"164.312.b"},
				NIST80053: []string{"AU.14", "AC.7"}, TSC: []string{"CC6.1", "CC6.8", "CC7.2", "CC7.3"}},
			Decoder:    &ecs.WazuhDecoder{Name: "sshd", Parent: "sshd"},
			Predecoder: &ecs.WazuhPredecoder{ProgramName: "sshd", Timestamp: "Nov  2 09:12:40", Hostname: "web-01"},
			Location:   "/var/log/auth.log",
			Manager:    &ecs.WazuhManager{Name: "wazuh-manager"},
			Cluster:    &ecs.WazuhCluster{Name: "wazuh", Node: "master-node"},
			Data:       ecs.FlatObject{"srcip": "203.0.113.77", "srcport": "61658", "dstuser": "root"},
		},
	}
	if !reflect.DeepEqual(ev, want) {
		g, _ := json.Marshal(ev)
		w, _ := json.Marshal(want)
		t.Errorf("event:\n got %s\nwant %s", g, w)
	}
}

func TestTimestamp(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-02T09:12:41.123+0000":     "2026-11-02T09:12:41.123Z",
		"2026-11-02T11:12:41.123+0200":     "2026-11-02T09:12:41.123Z",
		"2026-11-02T04:12:41.5-0500":       "2026-11-02T09:12:41.5Z",
		"2026-11-02T09:12:41+0000":         "2026-11-02T09:12:41Z",
		"2026-11-02T09:12:41.123Z":         "2026-11-02T09:12:41.123Z",
		"2026-11-02T10:12:41.123456+01:00": "2026-11-02T09:12:41.123456Z",
	} {
		ev := one(t, with(t, failed, map[string]any{"timestamp": in}))
		if got := ev.Timestamp.Format(time.RFC3339Nano); got != want {
			t.Errorf("timestamp %q: @timestamp %s, want %s", in, got, want)
		}
	}
}

func TestErrors(t *testing.T) {
	for name, c := range map[string]struct {
		raw, want string
	}{
		"missing timestamp":   {with(t, failed, map[string]any{"timestamp": nil}), "no timestamp"},
		"syslog timestamp":    {with(t, failed, map[string]any{"timestamp": "Nov  2 09:12:41"}), "is not a Wazuh or RFC 3339 time"},
		"timestamp no offset": {with(t, failed, map[string]any{"timestamp": "2026-11-02T09:12:41.123"}), "is not a Wazuh or RFC 3339 time"},
		"year 0":              {with(t, failed, map[string]any{"timestamp": "0000-01-01T00:00:00.000+0000"}), "out of range"},
		"missing rule":        {with(t, failed, map[string]any{"rule": nil}), "no rule"},
		"missing level":       {with(t, failed, map[string]any{"rule.level": nil}), "no rule.level"},
		"level 16":            {with(t, failed, map[string]any{"rule.level": 16}), "rule.level 16 is not a Wazuh level"},
		"level -1":            {with(t, failed, map[string]any{"rule.level": -1}), "rule.level -1 is not a Wazuh level"},
		"level fraction":      {with(t, failed, map[string]any{"rule.level": 5.5}), "rule.level 5.5 is not"},
		"level text":          {with(t, failed, map[string]any{"rule.level": "high"}), `rule.level "high" is not`},
		"level object":        {with(t, failed, map[string]any{"rule.level": map[string]any{}}), "rule.level {} is not"},
		"groups not strings":  {with(t, failed, map[string]any{"rule.groups": "sshd"}), "field rule.groups"},
		"data not an object":  {with(t, failed, map[string]any{"data": []string{"x"}}), "data: not a JSON object"},
		"syscheck text":       {with(t, failed, map[string]any{"syscheck": "/etc/hosts"}), "syscheck: not a JSON object"},
		"alerts.log text":     {"** Alert 1793610761.482113: - syslog,sshd,authentication_failed,", "invalid JSON"},
		"a number":            {"42", "where an object belongs"},
	} {
		t.Run(name, func(t *testing.T) {
			evs, err := decode(t, c.raw)
			if err == nil || len(evs) != 0 || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Decode = %d events, %v; want an error with %q", len(evs), err, c.want)
			}
		})
	}
}

func TestLevel(t *testing.T) {
	for _, level := range []int{0, 1, 7, 12, 15} {
		ev := one(t, with(t, failed, map[string]any{"rule.level": level}))
		if ev.Event.Severity != level || ev.Wazuh.Rule.Level != level {
			t.Errorf("level %d: event.severity %d, wazuh.rule.level %d", level, ev.Event.Severity, ev.Wazuh.Rule.Level)
		}
	}
}

func TestArray(t *testing.T) {
	bad := with(t, failed, map[string]any{"rule.level": 99})
	t.Run("all good", func(t *testing.T) {
		evs, err := decode(t, "["+failed+","+failed+"]")
		if err != nil || len(evs) != 2 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
		if evs[0].Event.ID != evs[1].Event.ID || evs[0].Event.ID != normalize.DerivedID([]byte(failed), 0) {
			t.Errorf("ids %q %q: want the id derived from the item", evs[0].Event.ID, evs[1].Event.ID)
		}
	})
	t.Run("one bad item", func(t *testing.T) {
		evs, err := decode(t, "[\n"+failed+",\n"+bad+",\n"+failed+"\n]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 2 || len(pe.Items) != 1 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
		if it := pe.Items[0]; it.Index != 1 || it.Path != "[1]" || string(it.Raw) != bad || !strings.Contains(it.Err.Error(), "rule.level 99") {
			t.Errorf("failed item = %d %q %q %v", it.Index, it.Path, it.Raw, it.Err)
		}
	})
	t.Run("broken item", func(t *testing.T) {
		evs, err := decode(t, "["+failed+`,{"timestamp":}`+"]")
		var pe *normalize.PartialError
		if !errors.As(err, &pe) || len(evs) != 1 || pe.Items[0].Index != 1 {
			t.Fatalf("%d events, %v", len(evs), err)
		}
	})
	t.Run("empty", func(t *testing.T) {
		if evs, err := decode(t, "[]"); !errors.Is(err, normalize.ErrSkipped) || len(evs) != 0 {
			t.Fatalf("%d events, %v; want a skip", len(evs), err)
		}
	})
}

func TestMapping(t *testing.T) {
	t.Run("groups", func(t *testing.T) {
		for _, c := range []struct {
			groups        []string
			category, typ []string
			outcome       string
		}{
			{[]string{"syslog", "sshd", "authentication_success"}, []string{"authentication"}, []string{"start"}, "success"},
			{[]string{"syslog", "pam", "authentication_failed"}, []string{"authentication"}, []string{"start"}, "failure"},
			{[]string{"syslog", "sshd"}, []string{"authentication"}, []string{"info"}, ""},
			{[]string{"ossec", "syscheck", "syscheck_entry_added", "syscheck_file"}, []string{"file"}, []string{"creation"}, ""},
			{[]string{"vulnerability-detector"}, []string{"vulnerability"}, []string{"info"}, ""},
			{[]string{"syslog", "adduser"}, []string{"iam"}, []string{"user", "creation"}, ""},
			{[]string{"web", "accesslog", "attack"}, []string{"web"}, []string{"access"}, ""},
			{[]string{"iptables", "firewall_drop"}, []string{"network"}, []string{"connection", "denied"}, ""},
			{[]string{"ossec", "rootcheck"}, []string{"intrusion_detection"}, []string{"info"}, ""},
			{[]string{"sca"}, []string{"configuration"}, []string{"info"}, ""},
			{nil, []string{"intrusion_detection"}, []string{"info"}, ""},
		} {
			ev := one(t, with(t, failed, map[string]any{"rule.groups": c.groups}))
			if !reflect.DeepEqual(ev.Event.Category, c.category) || !reflect.DeepEqual(ev.Event.Type, c.typ) || ev.Event.Outcome != c.outcome {
				t.Errorf("groups %v: %v %v %q; want %v %v %q", c.groups, ev.Event.Category, ev.Event.Type, ev.Event.Outcome, c.category, c.typ, c.outcome)
			}
		}
	})
	t.Run("users", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"data": map[string]any{"srcuser": "alice", "dstuser": "root", "srcip": "any"}}))
		if ev.User.Name != "root" || !reflect.DeepEqual(ev.Related.User, []string{"root", "alice"}) {
			t.Errorf("user %+v related %+v", ev.User, ev.Related.User)
		}
		if ev.Source.IP != "" || ev.Source.Address != "any" || ev.Source.Domain != "" {
			t.Errorf("source %+v", ev.Source)
		}
		ev = one(t, with(t, failed, map[string]any{"data": map[string]any{"srcuser": "admin"}}))
		if ev.User.Name != "admin" || ev.Source != nil {
			t.Errorf("user %+v source %+v", ev.User, ev.Source)
		}
	})
	t.Run("agent without address", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"agent": map[string]any{"id": "000", "name": "wazuh-manager"}}))
		if ev.Host.IP != nil || ev.Agent.ID != "000" || ev.Host.Name != "wazuh-manager" {
			t.Errorf("host %+v agent %+v", ev.Host, ev.Agent)
		}
		ev = one(t, with(t, failed, map[string]any{"agent.ip": "any"}))
		if ev.Host.IP != nil {
			t.Errorf("host.ip = %v for agent.ip any", ev.Host.IP)
		}
	})
	t.Run("numeric ids and ports", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"rule.id": 5716, "agent.id": 3, "data.srcport": 70000, "data.dstip": "2001:db8::1", "data.dstport": 22}))
		if ev.Rule.ID != "5716" || ev.Agent.ID != "3" || ev.Source.Port != 0 || ev.Destination.IP != "2001:db8::1" || ev.Destination.Port != 22 {
			t.Errorf("rule %+v agent %+v source %+v destination %+v", ev.Rule, ev.Agent, ev.Source, ev.Destination)
		}
	})
	t.Run("no full_log", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"full_log": nil}))
		if ev.Message != "sshd: authentication failed." {
			t.Errorf("message = %q, want the rule description", ev.Message)
		}
	})
	t.Run("windows file", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"rule.groups": []string{"ossec", "syscheck"}, "syscheck": map[string]any{"path": `c:\windows\system32\drivers\etc\hosts`, "event": "modified"}}))
		if ev.File.Name != "hosts" || ev.File.Directory != `c:\windows\system32\drivers\etc` {
			t.Errorf("file = %+v", ev.File)
		}
	})
	t.Run("numbers kept", func(t *testing.T) {
		ev := one(t, with(t, failed, map[string]any{"syscheck": map[string]any{"path": "/etc/hosts", "inode_after": json.Number("18446744073709551615")}}))
		if n := ev.Wazuh.Syscheck["inode_after"]; n != json.Number("18446744073709551615") {
			t.Errorf("syscheck.inode_after = %#v", n)
		}
	})
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
