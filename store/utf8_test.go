package store

import (
	"encoding/json"
	"strings"
	"testing"
)

// Values are stored as sent, or refused: a value, element or causal context that is not valid
// UTF-8 (raw bytes, or a lone UTF-16 surrogate escape) is a 400 naming the problem, where JSON
// decoding would silently turn it into U+FFFD.
func TestValuesStoredAsSentOrRefused(t *testing.T) {
	for _, cons := range []string{LWW, VClock} {
		t.Run(cons, func(t *testing.T) {
			in := newInputNode(t, 1, func(c *Config) { c.Consistency = cons })
			before := in.dump()
			bad := []inputCase{
				{name: "value with bytes FF FE", method: "PUT", path: "/kv/k", body: "{\"value\":\"\xff\xfe\"}"},
				{name: "value with a truncated sequence", method: "PUT", path: "/kv/k", body: "{\"value\":\"a\xe2\x82\"}"},
				{name: "value with a lone high surrogate", method: "PUT", path: "/kv/k", body: `{"value":"\ud800"}`},
				{name: "value with a lone low surrogate", method: "PUT", path: "/kv/k", body: `{"value":"a\uDC00b"}`},
				{name: "value with a high surrogate then a non-surrogate", method: "PUT", path: "/kv/k", body: `{"value":"\ud83d\u0041"}`},
				{name: "context with bytes FF", method: "PUT", path: "/kv/k", body: "{\"value\":\"v\",\"context\":\"n1\xff:1\"}"},
				{name: "set element with bytes FF FE", method: "POST", path: "/set/s", body: "{\"element\":\"\xff\xfe\"}"},
				{name: "set element with a lone surrogate", method: "POST", path: "/set/s", body: `{"element":"\udfff"}`},
			}
			for _, tt := range bad {
				t.Run(tt.name, func(t *testing.T) {
					rec := in.do(tt.method, tt.path, tt.body, "")
					if rec.Code != 400 || !strings.Contains(rec.Body.String(), "UTF-8") {
						t.Errorf("got %d %s, want 400 naming UTF-8", rec.Code, rec.Body)
					}
				})
			}
			t.Run("key with bytes FF FE", func(t *testing.T) {
				if rec := in.do("PUT", "/kv/%FF%FE", `{"value":"v"}`, ""); rec.Code != 400 || !strings.Contains(rec.Body.String(), "UTF-8") {
					t.Errorf("got %d %s, want 400 naming UTF-8", rec.Code, rec.Body)
				}
			})
			if after := in.dump(); after != before {
				t.Errorf("refused writes changed the data:\nbefore %s\nafter  %s", before, after)
			}
			// Valid UTF-8 is stored as sent, U+FFFD and escaped surrogate pairs included.
			for key, body := range map[string]string{
				"pair":  `{"value":"\ud83d\ude00"}`,
				"fffd":  `{"value":"\ufffd"}`,
				"raw":   `{"value":"é€😀"}`,
				"slash": `{"value":"a\\ud800"}`, // an escaped backslash, not an escape
			} {
				if rec := in.do("PUT", "/kv/"+key, body, ""); rec.Code != 200 {
					t.Errorf("put %s: %d %s", body, rec.Code, rec.Body)
					continue
				}
				var sent struct{ Value string }
				if err := json.Unmarshal([]byte(body), &sent); err != nil {
					t.Fatal(err)
				}
				rec := in.do("GET", "/kv/"+key, "", "")
				var got struct{ Values []string }
				if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || len(got.Values) != 1 || got.Values[0] != sent.Value {
					t.Errorf("read back %s: %s, want [%q]", key, rec.Body, sent.Value)
				}
			}
		})
	}
}
