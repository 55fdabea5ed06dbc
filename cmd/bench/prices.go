package main

// Published on-demand prices, us-east-1, as used by `bench -cost`. Free tiers are ignored (the
// bill is per million sends at scale). Update a price here, with its source, when AWS changes it.
//
// Sources (read 2026-12):
//   - DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read request
//     units (US East, after the November 2024 50 % reduction); one WRU writes up to 1 KB, one RRU
//     is one strongly consistent read up to 4 KB. https://aws.amazon.com/dynamodb/pricing/on-demand/
//     (as quoted by https://airbyte.com/data-engineering-resources/dynamodb-pricing); key terms:
//     https://aws.amazon.com/dynamodb/pricing/provisioned/
//   - SQS standard: $0.40 per million requests; every 64 KB chunk of a payload is billed as one
//     request. https://aws.amazon.com/sqs/pricing/ (as quoted by
//     https://cloudburn.io/blog/amazon-sqs-pricing and
//     https://unanswered.io/guide/aws-sqs-pricing-and-cost-optimization)
//   - Lambda arm64: $0.0000133334 per GB-second (first 7.5 billion GB-s a month), $0.20 per million
//     requests; duration rounded up to 1 ms. https://aws.amazon.com/lambda/pricing/ (as quoted by
//     https://cloudchipr.com/blog/aws-lambda-pricing)
//   - Amazon Data Firehose Direct PUT: $0.029 per GB ingested (first 500 TB a month), each record
//     rounded up to the next 5 KB. https://aws.amazon.com/firehose/pricing/ (the 5 KB rounding per
//     record, not per call: https://www.shigemk2.com/entry/2022/01/12/210322 quoting the FAQ)
//   - CloudWatch Logs, Standard class: $0.50 per GB ingested.
//     https://aws.amazon.com/cloudwatch/pricing/ (as quoted by
//     https://c3x.dev/blog/cloudwatch-logs-cost-optimization)
//   - SNS standard topics: $0.50 per million publishes (64 KB chunks); deliveries to SQS are free.
//     https://aws.amazon.com/sns/pricing/ (as quoted by
//     https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/)
//   - EventBridge: events AWS services put on the default bus (SES event publishing) are free.
//     https://aws.amazon.com/eventbridge/pricing/
const (
	priceDynamoWRU      = 0.625 / 1e6
	priceDynamoRRU      = 0.125 / 1e6
	priceSQSRequest     = 0.40 / 1e6
	priceLambdaGBSecond = 0.0000133334
	priceLambdaRequest  = 0.20 / 1e6
	priceFirehoseGB     = 0.029
	priceLogsGB         = 0.50
	priceSNSPublish     = 0.50 / 1e6
	sqsChunk            = 64 << 10
	firehoseRecordRound = 5 << 10
	gigabyte            = 1 << 30
	sqsMaxReceive       = 10  // messages per ReceiveMessage / DeleteMessageBatch
	platformLogBytes    = 400 // START/END/REPORT lines Lambda writes per invocation (JSON format)
	assumedRoundTripMs  = 5.0 // DynamoDB/SNS call from Lambda in-Region, for billed duration
	markConcurrency     = 16  // detect.DynamoState.MarkConcurrency
	ingestMemoryMB      = 256 // infra/functions.go
	respondMemoryMB     = 256
	sesPricePerThousand = 0.10 // SES outbound, for the share of SES's own bill
)
