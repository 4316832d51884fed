package engine

import (
	"strings"
	"testing"

	"github.com/vigilsec/vigil/correlators/sigma/ast"
)

// An event with a bit of everything, as a raw JSON document.
const doc = `{
  "eventName": "CreateAccessKey",
  "eventSource": "iam.amazonaws.com",
  "userAgent": "S3 Browser 11.5.7 https://s3browser.com",
  "sourceIPAddress": "203.0.113.77",
  "ipv6": "2001:db8::17",
  "mapped": "::ffff:10.1.2.3",
  "path": "C:\\Windows\\System32\\cmd.exe",
  "cmd": "powershell -enc SQBFAFgA /c whoami",
  "star": "a*b?c\\d",
  "count": 42,
  "ratio": 0.5,
  "numtext": "4625",
  "flag": false,
  "flagtext": "True",
  "nothing": null,
  "emptystr": "",
  "emptyarr": [],
  "greek": "ΣΊΣΥΦΟΣ",
  "kelvin": "5\u212a",
  "long_s": "\u017fecret",
  "time": "2026-11-02T09:12:41Z",
  "tags": ["prod", "Finance", "team-a"],
  "nums": [1, 2, 3],
  "b64": "cG93ZXJzaGVsbCAtbm9wIC1jIGlleA==",
  "b64mid": "aGVsbG8gcG93ZXJzaGVsbCB3b3JsZA==",
  "wide": "c\u0000m\u0000d\u0000",
  "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice", "userName": "alice"},
  "requestParameters": {
    "userName": "Alice",
    "enable": false,
    "policyDocument": "{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\"}",
    "containerDefinitions": [
      {"name": "web", "command": ["sh", "-c", "curl $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]},
      {"name": "side", "command": ["sleep", "3600"]}
    ]
  },
  "responseElements": {"accessKey": {"userName": "alice", "status": "Active"}}
}`

func TestFieldItems(t *testing.T) {
	tests := []struct {
		name string
		item *ast.FieldItem
		want bool
	}{
		// Plain values: exact, case-insensitive.
		{"exact", it("eventName", "CreateAccessKey"), true},
		{"exact other case", it("eventName", "createaccesskey"), true},
		{"exact differs", it("eventName", "CreateAccessKeys"), false},
		{"list any", it("eventName", "DeleteUser", "createAccessKey"), true},
		{"list none", it("eventName", "DeleteUser", "CreateUser"), false},
		{"big list uses a set", it("eventName", "A", "B", "C", "D", "E", "CREATEACCESSKEY"), true},
		{"big list none", it("eventName", "A", "B", "C", "D", "E", "F"), false},
		{"missing field", it("nosuch", "x"), false},
		{"nested field", it("userIdentity.type", "iamuser"), true},
		{"empty string", it("emptystr", ""), true},
		{"empty string is not missing", it("nosuch", ""), false},

		// cased.
		{"cased equal", it("eventName|cased", "CreateAccessKey"), true},
		{"cased other case", it("eventName|cased", "createaccesskey"), false},
		{"cased contains", it("userAgent|cased|contains", "S3 Browser"), true},
		{"cased contains other case", it("userAgent|cased|contains", "s3 browser"), false},

		// Wildcards and escapes.
		{"star prefix", it("eventName", "Create*"), true},
		{"star suffix", it("eventName", "*accesskey"), true},
		{"star middle", it("eventName", "Cr*Key"), true},
		{"two stars", it("userAgent", "*browser*s3browser*"), true},
		{"stars in order", it("userAgent", "*s3browser*browser*"), false},
		{"question", it("eventName", "CreateAcce?sKey"), true},
		{"question is one char", it("eventName", "CreateAcce??sKey"), false},
		{"question non-ascii", it("greek", "?ΊΣΥΦΟΣ"), true},
		{"star alone", it("eventName", "*"), true},
		{"star matches empty", it("emptystr", "*"), true},
		{"star does not match missing", it("nosuch", "*"), false},
		{"star does not match null", it("nothing", "*"), false},
		{"escaped star is literal", it("star", `a\*b\?c\\d`), true},
		{"escaped star differs", it("star", `a\*bxc\\d`), false},
		{"unescaped star wild", it("star", `a*d`), true},
		{"backslash before other is literal", it("path", `C:\Windows\System32\cmd.exe`), true},
		{"backslash endswith", it("path|endswith", `\cmd.exe`), true},
		{"double backslash is one", it("path", `C:\\Windows\\System32\\cmd.exe`), true},

		// contains, startswith, endswith.
		{"contains", it("userAgent|contains", "browser"), true},
		{"contains not", it("userAgent|contains", "chrome"), false},
		{"contains with star inside", it("userAgent|contains", "S3*s3browser"), true},
		{"startswith", it("eventName|startswith", "create"), true},
		{"startswith not", it("eventName|startswith", "access"), false},
		{"endswith", it("eventName|endswith", "KEY"), true},
		{"endswith not", it("eventName|endswith", "create"), false},
		{"contains all", it("userAgent|contains|all", "s3", "browser", "11.5"), true},
		{"contains all one missing", it("userAgent|contains|all", "s3", "browser", "chrome"), false},
		{"contains star", it("nosuch|contains", "*"), false},
		{"contains star present", it("eventName|contains", "*"), true},

		// Non-ASCII case folding.
		{"greek lower", it("greek", "σίσυφος"), true},
		{"greek final sigma", it("greek", "σίσυφοσ"), true},
		{"kelvin sign is k", it("kelvin", "5k"), true},
		{"k matches kelvin contains", it("kelvin|contains", "K"), true},
		{"long s is s", it("long_s|startswith", "SECR"), true},
		{"long s cased", it("long_s|cased|startswith", "secr"), false},

		// Numbers.
		{"number equal", it("count", 42), true},
		{"number differs", it("count", 43), false},
		{"number as float", it("count", 42.0), true},
		{"number matches numeric string", it("numtext", 4625), true},
		{"string matches number", it("count", "42"), true},
		{"string wildcard matches number", it("count", "4*"), true},
		{"number contains", it("count|contains", 2), true},
		{"fraction", it("ratio", 0.5), true},
		{"number in array", it("nums", 2), true},
		{"number not in array", it("nums", 5), false},
		{"gt", it("count|gt", 41), true},
		{"gt equal", it("count|gt", 42), false},
		{"gte", it("count|gte", 42), true},
		{"lt", it("count|lt", 43), true},
		{"lte", it("count|lte", 41), false},
		{"gt string number", it("numtext|gt", 4000), true},
		{"gt not a number", it("eventName|gt", 1), false},
		{"gt array any", it("nums|gt", 2), true},

		// Booleans.
		{"bool false", it("flag", false), true},
		{"bool true", it("flag", true), false},
		{"string matches bool", it("flag", "false"), true},
		{"string matches nested bool", it("requestParameters.enable", "false"), true},
		{"bool matches string", it("flagtext", true), true},

		// null and exists.
		{"null missing", it("nosuch", nil), true},
		{"null null", it("nothing", nil), true},
		{"null present", it("eventName", nil), false},
		{"null empty string", it("emptystr", nil), false},
		{"null or value", it("eventName", nil, "CreateAccessKey"), true},
		{"exists", it("eventName|exists", true), true},
		{"exists missing", it("nosuch|exists", true), false},
		{"exists null", it("nothing|exists", true), true},
		{"exists empty array", it("emptyarr|exists", true), true},
		{"not exists", it("nosuch|exists", false), true},
		{"not exists present", it("eventName|exists", false), false},
		{"exists nested", it("requestParameters.userName|exists", true), true},
		{"exists through array", it("requestParameters.containerDefinitions.name|exists", true), true},

		// Lists in events.
		{"list any element", it("tags", "finance"), true},
		{"list no element", it("tags", "dev"), false},
		{"list all each element", it("tags|all", "prod", "finance"), true},
		{"list all one missing", it("tags|all", "prod", "dev"), false},
		{"list contains", it("tags|contains", "eam"), true},
		{"array of objects path", it("requestParameters.containerDefinitions.command|contains", "$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"), true},
		{"array of objects path no", it("requestParameters.containerDefinitions.command", "rm"), false},
		{"array of objects second", it("requestParameters.containerDefinitions.name", "SIDE"), true},
		{"empty array is no value", it("emptyarr", "*"), false},

		// Objects: as text, and by the values in them.
		{"object contains", it("requestParameters|contains", `"enable": false`), true},
		{"object contains value", it("requestParameters|contains", "s3:GetObject"), true},
		{"object contains all", it("requestParameters|contains|all", "Allow", "alice"), true},
		{"object contains decoded string", it("requestParameters|contains", `"Effect":"Allow"`), true},
		{"object contains decoded all", it("requestParameters|contains|all", `"Allow"`, `"s3:GetObject"`, "sleep"), true},
		{"object value equal", it("requestParameters", "alice"), true},
		{"object value in array", it("requestParameters", "3600"), true},
		{"object value equal whole", it("requestParameters", "360"), false},
		{"object nested value", it("responseElements|startswith", "Activ"), true},
		{"object value no", it("requestParameters", "Allow"), false},
		{"object key is no value", it("responseElements", "accessKey"), false},
		{"object re decoded", it("requestParameters|re", `"Effect":"Allow"`), true},
		{"object bool text", it("requestParameters", "false"), true},

		// re.
		{"re", it("userIdentity.arn|re", `.+:user/al.+`), true},
		{"re anchored", it("eventName|re", `^Create`), true},
		{"re case-sensitive", it("eventName|re", `^create`), false},
		{"re i", it("eventName|re|i", `^create`), true},
		{"re no match", it("eventName|re", `Delete`), false},
		{"re m", it("eventName|re|m", `Key$`), true},
		{"re number", it("count|re", `^4\d$`), true},
		{"re any of list", it("eventName|re", `^Delete`, `Access`), true},

		// cidr.
		{"cidr v4", it("sourceIPAddress|cidr", "203.0.113.0/24"), true},
		{"cidr v4 no", it("sourceIPAddress|cidr", "10.0.0.0/8"), false},
		{"cidr list", it("sourceIPAddress|cidr", "10.0.0.0/8", "203.0.0.0/8"), true},
		{"cidr single address", it("sourceIPAddress|cidr", "203.0.113.77"), true},
		{"cidr v6", it("ipv6|cidr", "2001:db8::/32"), true},
		{"cidr v6 no", it("ipv6|cidr", "2001:db9::/32"), false},
		{"cidr mapped", it("mapped|cidr", "10.0.0.0/8"), true},
		{"cidr not an address", it("eventName|cidr", "10.0.0.0/8"), false},

		// Encodings.
		{"base64", it("b64", "powershell -nop -c iex"), false},
		{"base64 exact", it("b64|base64", "powershell -nop -c iex"), true},
		{"base64 startswith", it("b64|base64|startswith", "powershell -"), true},
		{"base64 padding", it("b64|base64|startswith", "powershell"), false},
		{"base64 cased", it("b64|base64", "PowerShell -nop -c iex"), false},
		{"base64offset 0", it("b64|base64offset|contains", "powershell"), true},
		{"base64offset 6", it("b64mid|base64offset|contains", "powershell"), true},
		{"base64offset 7", it("b64mid|base64offset|contains", "owershell"), true},
		{"base64offset 8", it("b64mid|base64offset|contains", "wershell"), true},
		{"base64offset no", it("b64mid|base64offset|contains", "cmd.exe"), false},
		{"utf16le", it("wide|utf16le", "cmd"), true},
		{"wide", it("wide|wide", "cmd"), true},
		{"utf16be", it("wide|utf16be", "cmd"), false},

		// windash.
		{"windash slash", it("cmd|windash|contains", "/enc"), true},
		{"windash dash", it("cmd|windash|contains", "-c whoami"), true},
		{"windash en dash", it("cmd|windash|contains", "–enc"), true},
		{"windash not mid-word", it("cmd|windash|contains", "power-shell"), false},

		// fieldref.
		{"fieldref equal", it("userIdentity.userName|fieldref", "responseElements.accessKey.userName"), true},
		{"fieldref case", it("requestParameters.userName|fieldref", "responseElements.accessKey.userName"), true},
		{"fieldref cased", it("requestParameters.userName|fieldref|cased", "responseElements.accessKey.userName"), false},
		{"fieldref differs", it("eventName|fieldref", "eventSource"), false},
		{"fieldref endswith", it("userIdentity.arn|fieldref|endswith", "requestParameters.userName"), true},
		{"fieldref contains", it("userIdentity.arn|fieldref|contains", "userIdentity.userName"), true},
		{"fieldref startswith", it("userIdentity.arn|fieldref|startswith", "userIdentity.userName"), false},
		{"fieldref missing", it("nosuch|fieldref", "other"), false},
		{"fieldref list", it("requestParameters.containerDefinitions.name|fieldref", "tags"), false},
		{"fieldref neq", it("eventName|fieldref|neq", "eventSource"), true},

		// neq.
		{"neq", it("eventName|neq", "DeleteUser"), true},
		{"neq equal", it("eventName|neq", "createaccesskey"), false},
		{"neq list", it("eventName|neq", "DeleteUser", "CreateAccessKey"), false},
		{"neq missing", it("nosuch|neq", "x"), false},
		{"neq number", it("count|neq", 41), true},

		// Time parts.
		{"hour", it("time|hour", 9), true},
		{"hour gte", it("time|hour|gte", 18), false},
		{"month", it("time|month", 11), true},
		{"year", it("time|year|gt", 2025), true},
		{"week", it("time|week", 45), true},
		{"minute", it("time|minute", 12), true},
		{"day", it("time|day", 2), true},

		// Mixed alternatives.
		{"mixed null number string", it("count", nil, 7, "4?"), true},
		{"mixed none", it("count", nil, 7, "5?"), false},
	}
	ev := NewJSON([]byte(doc), AsWritten)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, selRule(tt.item), Options{})
			if got := r.Match(ev); got != tt.want {
				t.Errorf("%s|%s %v: got %v, want %v", tt.item.Field, strings.Join(tt.item.Modifiers, "|"), tt.item.Values, got, tt.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	opts := Options{Placeholders: map[string][]string{
		"admins":  {"root", "alice", "bob*"},
		"suffix":  {"Key", "User"},
		"nothing": {},
	}}
	tests := []struct {
		item *ast.FieldItem
		want bool
	}{
		{it("userIdentity.userName|expand", "%admins%"), true},
		{it("eventName|expand", "CreateAccess%suffix%"), true},
		{it("eventName|expand", "Create%suffix%"), false},
		{it("eventName|expand|endswith", "%suffix%"), true},
		{it("userIdentity.userName|expand", "%nothing%"), false},
	}
	ev := NewJSON([]byte(doc), AsWritten)
	for _, tt := range tests {
		r := mustCompile(t, selRule(tt.item), opts)
		if got := r.Match(ev); got != tt.want {
			t.Errorf("%v %v: got %v, want %v", tt.item.Modifiers, tt.item.Values, got, tt.want)
		}
	}
	if _, err := CompileRule(selRule(it("x|expand", "%undefined%")), opts); err == nil || !strings.Contains(err.Error(), "%undefined%") {
		t.Errorf("undefined placeholder: got %v, want an error naming it", err)
	}
}

func TestMaps(t *testing.T) {
	ev := NewJSON([]byte(doc), AsWritten)
	tests := []struct {
		name string
		r    *ast.Rule
		want bool
	}{
		{"map all items", selRule(it("eventName", "CreateAccessKey"), it("eventSource", "iam.amazonaws.com")), true},
		{"map one item fails", selRule(it("eventName", "CreateAccessKey"), it("eventSource", "sts.amazonaws.com")), false},
		{"list of maps any", detRule("r", id("sel"), search("sel",
			fmap(it("eventName", "DeleteUser")),
			fmap(it("eventSource", "iam.amazonaws.com")))), true},
		{"list of maps none", detRule("r", id("sel"), search("sel",
			fmap(it("eventName", "DeleteUser")),
			fmap(it("eventSource", "sts.amazonaws.com")))), false},
		{"keywords", detRule("r", id("kw"), keywords("kw", nil, "s3browser.com")), true},
		{"keywords any", detRule("r", id("kw"), keywords("kw", nil, "nothing here", "ALICE")), true},
		{"keywords none", detRule("r", id("kw"), keywords("kw", nil, "bob", "carol")), false},
		{"keywords nested array", detRule("r", id("kw"), keywords("kw", nil, "CONTAINER_CREDENTIALS")), true},
		{"keywords not keys", detRule("r", id("kw"), keywords("kw", nil, "containerDefinitions")), false},
		{"keywords not numbers", detRule("r", id("kw"), keywords("kw", nil, "3600")), true}, // "3600" is a string in command
		{"keywords number field", detRule("r", id("kw"), keywords("kw", nil, "42")), false},
		{"keywords all", detRule("r", id("kw"), keywords("kw", []string{"all"}, "alice", "whoami")), true},
		{"keywords all one missing", detRule("r", id("kw"), keywords("kw", []string{"all"}, "alice", "mallory")), false},
		{"keywords startswith", detRule("r", id("kw"), keywords("kw", []string{"startswith"}, "powershell -enc")), true},
		{"keywords startswith not", detRule("r", id("kw"), keywords("kw", []string{"startswith"}, "-enc")), false},
		{"keywords cased", detRule("r", id("kw"), keywords("kw", []string{"cased"}, "ALICE")), false},
		{"keywords re", detRule("r", id("kw"), keywords("kw", []string{"re"}, `^arn:aws:iam::\d+:user/`)), true},
		{"keyword item in a map", selRule(it("|contains", "whoami"), it("eventName", "CreateAccessKey")), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, tt.r, Options{})
			if got := r.Match(ev); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestConditions(t *testing.T) {
	ev := NewJSON([]byte(doc), AsWritten)
	yes := fmap(it("eventName", "CreateAccessKey"))
	no := fmap(it("eventName", "DeleteUser"))
	searches := []*ast.Search{
		search("sel_yes1", yes), search("sel_yes2", yes), search("sel_no1", no),
		search("filter_no", no), search("filter_yes", yes), search("_hidden", yes),
	}
	tests := []struct {
		name string
		cond ast.Cond
		want bool
	}{
		{"ident", id("sel_yes1"), true},
		{"and", and(id("sel_yes1"), id("sel_yes2")), true},
		{"and false", and(id("sel_yes1"), id("sel_no1")), false},
		{"or", or(id("sel_no1"), id("sel_yes1")), true},
		{"or false", or(id("sel_no1"), id("filter_no")), false},
		{"not", not(id("sel_no1")), true},
		{"not not", not(not(id("sel_yes1"))), true},
		{"selection and not filter", and(id("sel_yes1"), not(id("filter_no"))), true},
		{"selection and not filter hit", and(id("sel_yes1"), not(id("filter_yes"))), false},
		{"parentheses", and(or(id("sel_no1"), id("sel_yes1")), not(or(id("filter_no"), id("sel_no1")))), true},
		{"1 of", oneOf("sel_*"), true},
		{"1 of none", oneOf("filter_n*"), false},
		{"all of", allOf("sel_yes*"), true},
		{"all of false", allOf("sel_*"), false},
		{"2 of", nOf(2, "sel_*"), true},
		{"3 of", nOf(3, "sel_*"), false},
		{"1 of them", oneOf("*"), true},
		{"all of them", allOf("*"), false},
		{"not 1 of", and(id("sel_yes1"), not(oneOf("filter_*"))), false},
		{"underscore pattern", allOf("_hid*"), true},
		{"middle wildcard", oneOf("sel*2"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustCompile(t, detRule("r", tt.cond, searches...), Options{})
			if got := r.Match(ev); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	// "them" leaves out searches whose names begin with an underscore.
	r := mustCompile(t, detRule("r", allOf("*"), search("sel", yes), search("_draft", no)), Options{})
	if !r.Match(ev) {
		t.Error("all of them: got false, want true (_draft left out)")
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name string
		r    *ast.Rule
		want string
	}{
		{"unknown modifier", selRule(it("a|nosuch", "x")), "unknown modifier"},
		{"flag without re", selRule(it("a|i", "x")), "flag of re"},
		{"re and contains", selRule(it("a|re|contains", "x")), "cannot be combined"},
		{"bad re", selRule(it("a|re", "(")), "invalid regular expression"},
		{"bad cidr", selRule(it("a|cidr", "10.0.0/8")), "cidr"},
		{"gt string", selRule(it("a|gt", "x")), "compares numbers"},
		{"exists string", selRule(it("a|exists", "yes")), "true or false"},
		{"base64 wildcard", selRule(it("a|base64", "x*")), "wildcards"},
		{"null contains", selRule(it("a|contains", nil)), "null"},
		{"unknown search", detRule("r", id("nosuch"), search("sel", fmap(it("a", "x")))), `"nosuch"`},
		{"pattern matches nothing", detRule("r", oneOf("filter*"), search("sel", fmap(it("a", "x")))), "no search matches"},
		{"N too big", detRule("r", nOf(3, "sel*"), search("sel", fmap(it("a", "x")))), "only 1"},
		{"no condition", detRule("r", nil, search("sel", fmap(it("a", "x")))), "no condition"},
		{"fieldref encode", selRule(it("a|fieldref|base64", "b")), "fieldref"},
		{"keyword exists", selRule(it("|exists", true)), "keyword"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := CompileRule(tt.r, Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error with %q", err, tt.want)
			}
			var e *Error
			if !asError(err, &e) || len(e.Problems) == 0 || e.Problems[0].Pos.File != "test.yml" {
				t.Errorf("error %v: want an *Error with problems at test.yml", err)
			}
		})
	}
}

func asError(err error, target **Error) bool {
	e, ok := err.(*Error)
	if ok {
		*target = e
	}
	return ok
}
