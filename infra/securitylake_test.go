package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/sesguard/sesguard/shared/render/ocsf"
)

// TestSecurityLakeTemplate checks the synthesized custom-source path in the export
// configuration against the documents it follows:
//   - Security Lake user guide, "Collecting data from custom sources": OCSF, Parquet, objects
//     under ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/.
//   - Firehose developer guide, "Convert input data format": DataFormatConversionConfiguration
//     with a deserializer (OpenX JSON), a serializer (Parquet) and a Glue table schema; the S3
//     CompressionFormat must be UNCOMPRESSED; "Dynamic partitioning": MetadataExtraction with a
//     JQ query, !{partitionKeyFromQuery:…} in the prefix, buffer >= 64 MiB.
func TestSecurityLakeTemplate(t *testing.T) {
	s := get(t, "export")
	tmpl := cfn(s.json)
	streamID := s.logicalID(t, "AWS::KinesisFirehose::DeliveryStream", "ExportSecurityLakeStream")
	tableID := s.logicalID(t, "AWS::Glue::Table", "ExportSecurityLakeTable")
	dbID := s.logicalID(t, "AWS::Glue::Database", "ExportSecurityLakeDatabase")

	// The table is the renderer's schema, column for column.
	ti := tmpl.props(tableID)["TableInput"].(map[string]any)
	cols := ti["StorageDescriptor"].(map[string]any)["Columns"].([]any)
	want := ocsf.GlueColumns()
	if len(cols) != len(want) {
		t.Fatalf("%d Glue columns, the renderer has %d", len(cols), len(want))
	}
	for i, c := range cols {
		m := c.(map[string]any)
		if m["Name"] != want[i].Name || m["Type"] != want[i].Type {
			t.Errorf("column %d: %v %v, want %s %s", i, m["Name"], m["Type"], want[i].Name, want[i].Type)
		}
	}

	d := tmpl.props(streamID)["ExtendedS3DestinationConfiguration"].(map[string]any)
	layout := regexp.MustCompile(`^ext/[^/]+/(?:[^/]+/)*region=!\{partitionKeyFromQuery:region\}/accountId=!\{partitionKeyFromQuery:accountId\}/eventDay=!\{partitionKeyFromQuery:eventDay\}/$`)
	if p, _ := d["Prefix"].(string); !layout.MatchString(p) || !strings.HasPrefix(p, "ext/sesguard/1.0/") {
		t.Errorf("prefix %q is not the custom source's layout", p)
	}
	if e, _ := d["ErrorOutputPrefix"].(string); !strings.HasPrefix(e, "ext/sesguard/1.0/") {
		t.Errorf("error prefix %q is outside the prefix the provider role may write", e)
	}
	if d["RoleARN"] != "arn:aws:iam::111122223333:role/AmazonSecurityLake-Provider-sesguard-eu-west-1" ||
		canon(d["BucketARN"]) != canon(sub("arn:${AWS::Partition}:s3:::aws-security-data-lake-eu-west-1-abcdefghij0123")) {
		t.Errorf("destination %s / %s: want the lake bucket and the provider role", canon(d["BucketARN"]), d["RoleARN"])
	}
	if d["CompressionFormat"] != "UNCOMPRESSED" || canon(d["DynamicPartitioningConfiguration"]) != `{"Enabled":true}` {
		t.Errorf("compression %v, dynamic partitioning %s", d["CompressionFormat"], canon(d["DynamicPartitioningConfiguration"]))
	}
	if mb, _ := num(d["BufferingHints"].(map[string]any)["SizeInMBs"]); mb < 64 {
		t.Errorf("buffer %v MiB, dynamic partitioning needs >= 64", mb)
	}
	var query string
	for _, p := range d["ProcessingConfiguration"].(map[string]any)["Processors"].([]any) {
		for _, par := range p.(map[string]any)["Parameters"].([]any) {
			if pm := par.(map[string]any); pm["ParameterName"] == "MetadataExtractionQuery" {
				query, _ = pm["ParameterValue"].(string)
			}
		}
	}
	for _, k := range []string{"region: .cloud.region", "accountId: .cloud.account.uid", "eventDay: (.time / 1000"} {
		if !strings.Contains(query, k) {
			t.Errorf("extraction query %q lacks %q", query, k)
		}
	}
	conv := d["DataFormatConversionConfiguration"].(map[string]any)
	sc := conv["SchemaConfiguration"].(map[string]any)
	if conv["Enabled"] != true || canon(conv["OutputFormatConfiguration"]) != `{"Serializer":{"ParquetSerDe":{"Compression":"SNAPPY"}}}` ||
		!strings.Contains(canon(conv["InputFormatConfiguration"]), "OpenXJsonSerDe") ||
		canon(sc["DatabaseName"]) != canon(ref(dbID)) || sc["TableName"] != ti["Name"] ||
		refID(sc["RoleARN"]) != s.logicalID(t, "AWS::IAM::Role", "ExportSecurityLakeSchemaRole") {
		t.Errorf("format conversion %s", canon(conv))
	}
	if err := checkLakeGrants(tmpl); err != nil {
		t.Error(err)
	}
}

// checkLakeGrants: the export role may put records on the stream; Firehose may assume the schema
// role for this account only and read the table ("Grant Firehose access to AWS Glue for data
// format conversion": glue:GetTable, GetTableVersion, GetTableVersions); the stream is created
// after that grant (Firehose checks it at creation).
func checkLakeGrants(t cfn) error {
	var stream, schemaRole, schemaPolicy, table, exportRole string
	for id, r := range t.all() {
		typ := r["Type"]
		switch {
		case strings.HasPrefix(id, "ExportSecurityLakeStream"):
			stream = id
		case strings.HasPrefix(id, "ExportSecurityLakeSchemaRole") && typ == "AWS::IAM::Role":
			schemaRole = id
		case strings.HasPrefix(id, "ExportSecurityLakeSchemaPolicy"):
			schemaPolicy = id
		case strings.HasPrefix(id, "ExportSecurityLakeTable"):
			table = id
		case strings.HasPrefix(id, "ExportRole") && typ == "AWS::IAM::Role":
			exportRole = id
		}
	}
	if stream == "" || schemaRole == "" || schemaPolicy == "" || table == "" || exportRole == "" {
		return fmt.Errorf("missing resources: stream %q schema role %q policy %q table %q export role %q", stream, schemaRole, schemaPolicy, table, exportRole)
	}
	var errs []error
	if _, ok := findAllow(t.stmtsFor(exportRole), "", getAtt(stream, "Arn"), "firehose:PutRecordBatch"); !ok {
		errs = append(errs, fmt.Errorf("export role may not firehose:PutRecordBatch on %s", stream))
	}
	tr, ok := findAllow(t.trust(schemaRole), "firehose.amazonaws.com", nil, "sts:AssumeRole")
	if !ok || !tr.condCovers("sts:ExternalId", accountID, stringEqualOps...) {
		errs = append(errs, errors.New("schema role: Firehose may not assume it, or not for this account only (sts:ExternalId)"))
	}
	db := refID(t.props(table)["DatabaseName"])
	tableName := t.props(table)["TableInput"].(map[string]any)["Name"]
	tableArn := map[string]any{"Fn::Sub": []any{"arn:${AWS::Partition}:glue:${AWS::Region}:${AWS::AccountId}:table/${Database}/" + fmt.Sprint(tableName), map[string]any{"Database": ref(db)}}}
	if _, ok := findAllow(t.stmtsFor(schemaRole), "", tableArn, "glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"); !ok {
		errs = append(errs, fmt.Errorf("schema role may not read table %v of %s", tableName, db))
	}
	if !t.dependsOn(stream, schemaPolicy) {
		errs = append(errs, errors.New("stream is not created after the schema role's policy"))
	}
	return errors.Join(errs...)
}

func TestSecurityLakeGrantMutants(t *testing.T) {
	tmpl := cfn(get(t, "export").json)
	if err := checkLakeGrants(tmpl); err != nil {
		t.Fatalf("real template: %v", err)
	}
	schema := func(o string, s stmt) bool { return strings.HasPrefix(o, "ExportSecurityLakeSchema") }
	requireMutantsFail(t, tmpl, map[string]func(cfn) int{
		"export cannot put records": func(t cfn) int {
			return t.editStatements(func(o string, s stmt) bool { return s.allowsAction("firehose:PutRecordBatch") }, dropAction("firehose:PutRecordBatch"))
		},
		"schema role without glue:GetTableVersions": func(t cfn) int {
			return t.editStatements(func(o string, s stmt) bool { return schema(o, s) && s.allowsAction("glue:GetTableVersions") }, dropAction("glue:GetTableVersions"))
		},
		"schema role trusts any account's Firehose": func(t cfn) int {
			return t.editStatements(func(o string, s stmt) bool { return schema(o, s) && s.hasService("firehose.amazonaws.com") }, dropCondition("sts:ExternalId"))
		},
		"stream before the schema grant": func(t cfn) int {
			n := 0
			for id := range t.ofType("AWS::KinesisFirehose::DeliveryStream") {
				for pid := range t.ofType("AWS::IAM::Policy") {
					if strings.HasPrefix(pid, "ExportSecurityLakeSchemaPolicy") {
						n += t.dropDependsOn(id, pid)
					}
				}
			}
			return n
		},
	}, checkLakeGrants, nil)
}

// The extraction query is valid JSON-object jq syntax only if braces balance; a cheap guard
// against editing it into something Firehose rejects at deploy time.
func TestLakeQueryShape(t *testing.T) {
	if strings.Count(lakeQuery, "{") != strings.Count(lakeQuery, "}") || strings.Count(lakeQuery, "(") != strings.Count(lakeQuery, ")") {
		t.Errorf("unbalanced query %q", lakeQuery)
	}
	if _, err := json.Marshal(lakeQuery); err != nil {
		t.Error(err)
	}
}
