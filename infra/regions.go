package main

// sesRegions are the commercial (aws partition) Regions where SES offers its API, for
// `-c sesguardRegions=all`. Source: the "email" service of the aws partition in botocore's
// data/endpoints.json (botocore 1.43.11, FIPS endpoints left out), which matches the table of
// "Amazon Simple Email Service endpoints and quotas" in the AWS General Reference
// (https://docs.aws.amazon.com/general/latest/gr/ses.html). Update both together when SES opens a
// Region; a Region not listed here is refused by name.
var sesRegions = []string{
	"af-south-1",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3",
	"ap-south-1", "ap-south-2",
	"ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-5",
	"ca-central-1", "ca-west-1",
	"eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1",
	"eu-west-1", "eu-west-2", "eu-west-3",
	"il-central-1", "me-central-1", "me-south-1",
	"sa-east-1",
	"us-east-1", "us-east-2", "us-west-1", "us-west-2",
}

// globalRegion receives the CloudTrail events of IAM, STS's global endpoint and Support, and AWS
// Health's account-wide events.
const globalRegion = "us-east-1"
