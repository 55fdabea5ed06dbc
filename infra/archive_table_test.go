package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// hiveType is a parsed Glue column type (the subset the archive table uses).
type hiveType struct {
	kind   string // string, bigint, int, boolean, double, array, map, struct
	elem   *hiveType
	fields map[string]*hiveType // struct, lower-case names
}

func parseHiveType(s string) (*hiveType, error) {
	p := &hiveParser{s: s}
	t, err := p.typ()
	if err == nil && p.i != len(p.s) {
		err = fmt.Errorf("trailing %q", p.s[p.i:])
	}
	if err != nil {
		return nil, fmt.Errorf("type %q: %w", s, err)
	}
	return t, nil
}

type hiveParser struct {
	s string
	i int
}

func (p *hiveParser) ident() string {
	j := p.i
	for p.i < len(p.s) && strings.IndexByte("<>,:", p.s[p.i]) < 0 {
		p.i++
	}
	return strings.TrimSpace(p.s[j:p.i])
}

func (p *hiveParser) expect(c byte) error {
	if p.i >= len(p.s) || p.s[p.i] != c {
		return fmt.Errorf("want %q at %d", c, p.i)
	}
	p.i++
	return nil
}

func (p *hiveParser) typ() (*hiveType, error) {
	name := strings.ToLower(p.ident())
	switch name {
	case "string", "bigint", "int", "boolean", "double":
		return &hiveType{kind: name}, nil
	case "array":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		e, err := p.typ()
		if err != nil {
			return nil, err
		}
		return &hiveType{kind: "array", elem: e}, p.expect('>')
	case "map":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		if k := strings.ToLower(p.ident()); k != "string" {
			return nil, fmt.Errorf("map key %q (JSON keys are strings)", k)
		}
		if err := p.expect(','); err != nil {
			return nil, err
		}
		e, err := p.typ()
		if err != nil {
			return nil, err
		}
		return &hiveType{kind: "map", elem: e}, p.expect('>')
	case "struct":
		if err := p.expect('<'); err != nil {
			return nil, err
		}
		t := &hiveType{kind: "struct", fields: map[string]*hiveType{}}
		for {
			f := strings.ToLower(p.ident())
			if err := p.expect(':'); err != nil {
				return nil, err
			}
			ft, err := p.typ()
			if err != nil {
				return nil, err
			}
			t.fields[f] = ft
			if p.i < len(p.s) && p.s[p.i] == ',' {
				p.i++
				continue
			}
			return t, p.expect('>')
		}
	}
	return nil, fmt.Errorf("unknown type %q", name)
}

// readAs checks a JSON value the way the OpenX JSON SerDe reads it into t: keys match
// case-insensitively, a missing key or null is NULL, a scalar of the wrong kind makes the row
// malformed (with ignore.malformed.json, a row of NULLs: the event silently vanishes from every
// query). Strings accept any scalar; nested JSON into a string column is kept as its text.
func readAs(v any, t *hiveType, path string) error {
	if v == nil {
		return nil
	}
	switch t.kind {
	case "string":
		return nil
	case "bigint", "int":
		n, ok := v.(json.Number)
		if _, err := n.Int64(); !ok || err != nil {
			return fmt.Errorf("%s: %v is not an integer", path, v)
		}
	case "double":
		if _, ok := v.(json.Number); !ok {
			return fmt.Errorf("%s: %v is not a number", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: %v is not a boolean", path, v)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an array", path, v)
		}
		for i, e := range a {
			if err := readAs(e, t.elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an object", path, v)
		}
		for k, e := range m {
			if err := readAs(e, t.elem, path+"["+k+"]"); err != nil {
				return err
			}
		}
	case "struct":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an object", path, v)
		}
		for k, e := range m {
			if ft, ok := t.fields[strings.ToLower(k)]; ok {
				if err := readAs(e, ft, path+"."+k); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// javaToMySQLDate maps the projection's Java date pattern to the date_format pattern the saved
// queries compare dt with (Athena engine 3 date_format uses MySQL specifiers).
var javaToMySQLDate = strings.NewReplacer("yyyy", "%Y", "MM", "%m", "dd", "%d", "HH", "%H")

// firehoseTimestamp matches one Firehose prefix namespace expression !{timestamp:…}.
var firehoseTimestamp = regexp.MustCompile(`!\{timestamp:([^}]+)\}`)

// checkArchiveTable proves the Glue table reads what Firehose writes:
//   - Firehose writes GZIP objects (.gz) that SES filled with one JSON record per line ("When
//     publishing events to Firehose, Amazon SES follows each JSON record with a newline",
//     https://docs.aws.amazon.com/ses/latest/dg/event-publishing-retrieving-firehose-contents.html);
//     the table reads them with TextInputFormat (gzip by extension) and the OpenX JSON SerDe
//     (https://docs.aws.amazon.com/athena/latest/ug/openx-json-serde.html);
//   - the table location is the stream's bucket and static prefix, and partition projection of
//     type date maps dt onto exactly the stream's !{timestamp:…} prefix ("Amazon Data Firehose
//     example" of partition projection,
//     https://docs.aws.amazon.com/athena/latest/ug/partition-projection-kinesis-firehose-example.html;
//     Firehose prefixes are UTC, https://docs.aws.amazon.com/firehose/latest/dev/s3-prefixes.html),
//     with an interval as fine as the prefix's finest unit;
//   - the saved queries prune on dt in the same format and read tags with element_at (a map
//     subscript fails the query on a record without the key:
//     https://trino.io/docs/current/functions/map.html, Athena engine 3 is Trino);
//   - every record of the Firehose objects in events/archive reads into the declared columns.
func checkArchiveTable(root string) func(t cfn) error {
	return func(t cfn) error {
		var errs []error
		bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
		streamID, tableID := firstID(t, "AWS::KinesisFirehose::DeliveryStream"), firstID(t, "AWS::Glue::Table")
		if streamID == "" || tableID == "" {
			return errors.New("no delivery stream or Glue table")
		}
		d, _ := t.props(streamID)["ExtendedS3DestinationConfiguration"].(map[string]any)
		in, _ := t.props(tableID)["TableInput"].(map[string]any)
		sd, _ := in["StorageDescriptor"].(map[string]any)
		serde, _ := sd["SerdeInfo"].(map[string]any)
		params, _ := in["Parameters"].(map[string]any)

		if d["CompressionFormat"] != "GZIP" || params["compressionType"] != "gzip" {
			bad("stream compression %v, table compressionType %v (want GZIP / gzip)", d["CompressionFormat"], params["compressionType"])
		}
		if sd["InputFormat"] != "org.apache.hadoop.mapred.TextInputFormat" || serde["SerializationLibrary"] != "org.openx.data.jsonserde.JsonSerDe" {
			bad("table reads %v with %v, want TextInputFormat and the OpenX JSON SerDe (newline-delimited JSON)", sd["InputFormat"], serde["SerializationLibrary"])
		}

		prefix := fmt.Sprint(d["Prefix"])
		static, dynamic, _ := strings.Cut(prefix, "!{")
		dynamic = "!{" + dynamic
		bucketID := refID(d["BucketARN"])
		// unjoin renders Ref bucket as ${<bucket id>}; ${dt} stays as Athena's placeholder.
		wantLoc := "s3://${" + bucketID + "}/" + static
		if got := unjoin(sd["Location"]); got != wantLoc {
			bad("table location %s, but the stream writes under %s", got, wantLoc)
		}
		if got := unjoin(params["storage.location.template"]); got != wantLoc+"${dt}/" {
			bad("storage.location.template %s, want %s", got, wantLoc+"${dt}/")
		}
		format := fmt.Sprint(params["projection.dt.format"])
		fromPrefix := firehoseTimestamp.ReplaceAllString(strings.TrimSuffix(dynamic, "/"), "$1")
		if params["projection.enabled"] != "true" || params["projection.dt.type"] != "date" || format != fromPrefix {
			bad("projection enabled %v type %v format %q; the stream's prefix %q gives dt = %q", params["projection.enabled"], params["projection.dt.type"], format, prefix, fromPrefix)
		}
		if strings.Contains(strings.TrimSuffix(dynamic, "/"), "!{firehose:") || strings.Count(dynamic, "!{") != strings.Count(dynamic, "!{timestamp:") {
			bad("prefix %q has parts a date projection cannot express", prefix)
		}
		finest := map[string]string{"HH": "HOURS", "dd": "DAYS", "MM": "MONTHS", "yyyy": "YEARS"}
		for _, unit := range []string{"HH", "dd", "MM", "yyyy"} {
			if strings.Contains(format, unit) {
				if params["projection.dt.interval.unit"] != finest[unit] || params["projection.dt.interval"] != "1" {
					bad("projection interval %v %v, the prefix changes every 1 %s", params["projection.dt.interval"], params["projection.dt.interval.unit"], finest[unit])
				}
				break
			}
		}
		start, _, _ := strings.Cut(fmt.Sprint(params["projection.dt.range"]), ",")
		if _, err := time.Parse(javaToGoDate.Replace(format), start); err != nil {
			bad("projection range start %q is not in format %q: %v", start, format, err)
		}

		cols := map[string]*hiveType{}
		for _, c := range asList(sd["Columns"]) {
			m := c.(map[string]any)
			ht, err := parseHiveType(fmt.Sprint(m["Type"]))
			if err != nil {
				bad("column %v: %v", m["Name"], err)
				continue
			}
			cols[strings.ToLower(fmt.Sprint(m["Name"]))] = ht
		}
		for _, q := range t.ofType("AWS::Athena::NamedQuery") {
			sql := querySQL(q["Properties"].(map[string]any)["QueryString"])
			if !strings.Contains(sql, "date_format(") || !strings.Contains(sql, "'"+javaToMySQLDate.Replace(format)+"'") {
				bad("query %v does not prune dt in the projection's format %q", q["Properties"].(map[string]any)["Name"], javaToMySQLDate.Replace(format))
			}
			if regexp.MustCompile(`tags\s*\[`).MatchString(sql) {
				bad("query %v reads a tag with a map subscript (fails on the first record without it); use element_at", q["Properties"].(map[string]any)["Name"])
			}
			for _, field := range []string{"mail", "eventtype"} {
				if cols[field] == nil {
					bad("queries read %s, which the table lacks", field)
				}
			}
		}
		if err := readArchiveSample(root, cols, format); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
}

// javaToGoDate turns the projection's Java pattern into a Go layout.
var javaToGoDate = strings.NewReplacer("yyyy", "2006", "MM", "01", "dd", "02", "HH", "15")

// firehoseObjectName: <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<id>, the delivery time in UTC.
var firehoseObjectName = regexp.MustCompile(`-(\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2})-[0-9a-f-]+\.ndjson(\.gz)?$`)

// readArchiveSample reads every record of events/archive (Firehose S3 objects) into the columns,
// and checks a sample without some tags exists (the reason for element_at).
func readArchiveSample(root string, cols map[string]*hiveType, format string) error {
	files, _ := filepath.Glob(filepath.Join(root, "events", "archive", "*.ndjson*"))
	if len(files) == 0 {
		return errors.New("no Firehose objects in events/archive")
	}
	var errs []error
	records, withoutCaller := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var r io.Reader = bytes.NewReader(b)
		if strings.HasSuffix(f, ".gz") {
			gz, err := gzip.NewReader(r)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			r = gz
		}
		m := firehoseObjectName.FindStringSubmatch(f)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: not a Firehose object name", filepath.Base(f)))
		} else if at, err := time.Parse("2006-01-02-15-04-05", m[1]); err != nil {
			errs = append(errs, err)
		} else if dt := at.Format(javaToGoDate.Replace(format)); len(dt) != len(format) {
			errs = append(errs, fmt.Errorf("%s: partition %q does not fit format %q", filepath.Base(f), dt, format))
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for line := 1; sc.Scan(); line++ {
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			var rec map[string]any
			if err := dec.Decode(&rec); err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: not one JSON object per line: %w", filepath.Base(f), line, err))
				continue
			}
			records++
			row := map[string]any{}
			for k, v := range rec {
				row[strings.ToLower(k)] = v
			}
			for name, ht := range cols {
				if err := readAs(row[name], ht, name); err != nil {
					errs = append(errs, fmt.Errorf("%s:%d: malformed for the table (a NULL row in Athena): %w", filepath.Base(f), line, err))
				}
			}
			if row["eventtype"] == nil {
				errs = append(errs, fmt.Errorf("%s:%d: no eventType", filepath.Base(f), line))
			}
			if mail, _ := row["mail"].(map[string]any); mail != nil {
				if tags, _ := mail["tags"].(map[string]any); tags["ses:caller-identity"] == nil {
					withoutCaller++
				}
			}
		}
		if err := sc.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f, err))
		}
	}
	if records == 0 || withoutCaller == 0 {
		errs = append(errs, fmt.Errorf("sample: %d records, %d without ses:caller-identity (want some of each)", records, withoutCaller))
	}
	return errors.Join(errs...)
}

func TestArchiveTableReadsFirehoseOutput(t *testing.T) {
	root, err := repoRoot()
	if err != nil {
		t.Fatal(err)
	}
	tableInput := func(t cfn) map[string]any {
		return t.props(firstID(t, "AWS::Glue::Table"))["TableInput"].(map[string]any)
	}
	gc := grantCheck{
		name:  "Glue table ← Firehose",
		check: checkArchiveTable(root),
		mutants: map[string]func(cfn) int{
			"projection format differs from the prefix": func(t cfn) int {
				tableInput(t)["Parameters"].(map[string]any)["projection.dt.format"] = "yyyy-MM-dd-HH"
				return 1
			},
			"stream prefix with a dashed date": func(t cfn) int {
				return setNested(t, "AWS::KinesisFirehose::DeliveryStream", "events/!{timestamp:yyyy-MM-dd}/", "ExtendedS3DestinationConfiguration", "Prefix")
			},
			"Hive SerDe for JSON": func(t cfn) int {
				tableInput(t)["StorageDescriptor"].(map[string]any)["SerdeInfo"].(map[string]any)["SerializationLibrary"] = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
				return 1
			},
			"location outside the stream prefix": func(t cfn) int {
				sd := tableInput(t)["StorageDescriptor"].(map[string]any)
				sd["Location"] = map[string]any{"Fn::Join": []any{"", []any{"s3://", ref(firstID(t, "AWS::S3::Bucket")), "/events/"}}}
				return 1
			},
			"headersTruncated typed boolean": func(t cfn) int { return retype(t, "headerstruncated:string", "headerstruncated:boolean") },
			"destination typed as a map":     func(t cfn) int { return retype(t, "destination:array<string>", "destination:map<string,string>") },
			"query with a map subscript": func(t cfn) int {
				n := 0
				for id := range t.ofType("AWS::Athena::NamedQuery") {
					p := t.props(id)
					sub := p["QueryString"].(map[string]any)["Fn::Sub"].([]any)
					sub[0] = strings.Replace(querySQL(p["QueryString"]), "element_at(mail.tags, 'ses:source-ip')", "mail.tags['ses:source-ip']", 1)
					n++
				}
				return n
			},
			"hourly prefix, daily interval": func(t cfn) int {
				tableInput(t)["Parameters"].(map[string]any)["projection.dt.interval.unit"] = "DAYS"
				return 1
			},
		},
	}
	tmpl := cfn(get(t, "default").json)
	if err := gc.check(tmpl); err != nil {
		t.Fatalf("real template: %v", err)
	}
	requireMutantsFail(t, tmpl, gc.mutants, gc.check, nil)
}

// querySQL is the SQL of a NamedQuery QueryString ({"Fn::Sub": [sql, vars]}).
func querySQL(v any) string {
	if m, ok := v.(map[string]any); ok {
		if l, ok := m["Fn::Sub"].([]any); ok && len(l) > 0 {
			s, _ := l[0].(string)
			return s
		}
	}
	s, _ := v.(string)
	return s
}

// retype replaces from with to in the type of the mail column.
func retype(t cfn, from, to string) int {
	for _, c := range asList(t.props(firstID(t, "AWS::Glue::Table"))["TableInput"].(map[string]any)["StorageDescriptor"].(map[string]any)["Columns"]) {
		m := c.(map[string]any)
		if typ := fmt.Sprint(m["Type"]); m["Name"] == "mail" && strings.Contains(typ, from) {
			m["Type"] = strings.Replace(typ, from, to, 1)
			return 1
		}
	}
	return 0
}

// setNested sets a nested property on every resource of typ.
func setNested(t cfn, typ string, v any, keys ...string) int {
	n := 0
	for id := range t.ofType(typ) {
		m := t.props(id)
		for _, k := range keys[:len(keys)-1] {
			m, _ = m[k].(map[string]any)
		}
		if m != nil {
			m[keys[len(keys)-1]] = v
			n++
		}
	}
	return n
}
